"""A practice (tenant) and what its admins chose about logging in."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum

from domain.errors import InvalidValue
from domain.identifiers import new_id
from domain.practitioners.profile import ProfileField, clean_name
from domain.practitioners.rights import ModuleRight


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

_RESERVED_SLUGS = frozenset({"www", "api", "admin", "static", "mail", "portal"})


def validate_slug(raw: str) -> str:
    """An instance name is one DNS label: it becomes ``<slug>.<base_domain>``."""
    slug = (raw or "").strip().lower()
    if not _SLUG.match(slug):
        raise InvalidValue(
            "slug",
            "an instance name has 1 to 63 lower-case letters, digits or hyphens, "
            "and does not start or end with a hyphen",
        )
    if slug in _RESERVED_SLUGS:
        raise InvalidValue("slug", f"{slug!r} is reserved; choose another instance name")
    return slug


class Workflow(str, Enum):
    STANDARD = "standard"
    PSEUDO_SSO = "pseudo_sso"


class UnknownIdentityHandling(str, Enum):
    CONFIRM_BY_OTP = "confirm_by_otp"
    LINK_VERIFIED_EMAIL = "link_verified_email"
    REGISTER = "register"


@dataclass(frozen=True)
class ClaimMapping:
    """Fill ``field`` from ``claim``; with a value map, only mapped values count."""

    field: ProfileField
    claim: str
    value_map: tuple[tuple[str, str], ...] = ()


DEFAULT_CLAIM_MAPPINGS = (
    ClaimMapping(ProfileField.FIRST_NAME, "given_name"),
    ClaimMapping(ProfileField.LAST_NAME, "family_name"),
    ClaimMapping(ProfileField.EMAIL, "email"),
)


@dataclass(frozen=True)
class RoleMapping:
    """A role or group value at the provider, and the module right it gives here."""

    value: str
    right: ModuleRight


@dataclass(frozen=True)
class AuthSettings:
    """What a tenant admin chose about logging in. Read through TenantAuthPolicy."""

    restrict_to_sso: bool = False
    workflow: Workflow = Workflow.STANDARD
    unknown_identity: UnknownIdentityHandling = UnknownIdentityHandling.CONFIRM_BY_OTP
    self_registration: bool = False
    claim_mappings: tuple[ClaimMapping, ...] = DEFAULT_CLAIM_MAPPINGS
    # Pseudo-SSO: the provider's own registration page, linked from /register instead of the
    # portal's form (None: no link). Only ever shown to browsers, never fetched by the server.
    registration_url: str | None = None
    # Roles from the provider: the claim (a dotted path allowed) whose values name roles or groups,
    # and which value gives which module right. Applied at sign-in when roles_from_provider is on
    # (pseudo-SSO: always, see TenantAuthPolicy); the same mapping turns SCIM groups into rights.
    roles_claim: str = ""
    role_mappings: tuple[RoleMapping, ...] = ()
    roles_from_provider: bool = False

    def rights_for(self, values: Iterable[str]) -> frozenset[ModuleRight]:
        """The module rights the mapping gives to these role or group values (compared exactly:
        a provider's role names and group names are case-sensitive identifiers)."""
        given = set(values)
        return frozenset(mapping.right for mapping in self.role_mappings if mapping.value in given)

    def but(self, **changes: object) -> AuthSettings:
        return replace(self, **changes)  # type: ignore[arg-type]


# How long the audit trail keeps a practice's events: a year unless its admins choose; at least a
# month (an incident is often noticed weeks later), at most ten years.
DEFAULT_AUDIT_RETENTION_DAYS = 365
MIN_AUDIT_RETENTION_DAYS = 30
MAX_AUDIT_RETENTION_DAYS = 3650


@dataclass(eq=False)
class Tenant:
    """A practice: one instance, one subdomain."""

    slug: str
    name: str
    id: str = field(default_factory=new_id)
    active: bool = True
    auth: AuthSettings = field(default_factory=AuthSettings)
    # When set, a SCIM externalId is the subject at this provider: provisioning links it.
    scim_subject_provider_id: str | None = None
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS
    # The language of whoever has chosen none (None: the browser's), and the zone dates are shown in.
    default_language: str | None = None
    time_zone: str = "Europe/Berlin"

    @classmethod
    def open(cls, slug: str, name: str) -> Tenant:
        return cls(slug=validate_slug(slug), name=clean_name(name, "name", "practice name"))

    def keep_audit_events_for(self, days: int) -> None:
        if not MIN_AUDIT_RETENTION_DAYS <= days <= MAX_AUDIT_RETENTION_DAYS:
            raise InvalidValue(
                "audit_retention_days",
                f"keep events for {MIN_AUDIT_RETENTION_DAYS} to {MAX_AUDIT_RETENTION_DAYS} days (ten years)",
            )
        self.audit_retention_days = days
