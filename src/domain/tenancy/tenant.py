"""A practice (tenant) and what its admins chose about logging in."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from domain.errors import InvalidForm, InvalidValue, Message, N_
from domain.identifiers import new_id
from domain.practitioners.profile import ProfileField, clean_name
from domain.practitioners.rights import ModuleRight
from domain.tenancy.language import LANGUAGES


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

# Hosts of the portal itself: "idp" is the demo identity provider's (entrypoints.openid_provider.demo).
_RESERVED_SLUGS = frozenset({"www", "api", "admin", "static", "mail", "portal", "idp"})


def validate_slug(raw: str) -> str:
    """An instance name is one DNS label: it becomes ``<slug>.<base_domain>``. Typed in ASCII (a
    KELVIN SIGN is not lower-cased into a ``k``), and never a label IDNA reserves (hyphens third
    and fourth, as in ``xn--``), which a browser would show as another name or not open at all."""
    slug = (raw or "").strip().lower()
    if not (raw or "").isascii() or not _SLUG.match(slug):
        raise InvalidValue(
            "slug",
            N_(
                "an instance name has 1 to 63 lower-case letters, digits or hyphens, "
                "and does not start or end with a hyphen"
            ),
        )
    if slug in _RESERVED_SLUGS or slug[2:4] == "--":
        raise InvalidValue("slug", N_("%(slug)s is reserved; choose another instance name", slug=repr(slug)))
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


# Where a practice has not chosen: most practices are in Germany, Austria and Switzerland.
DEFAULT_TIME_ZONE = "Europe/Berlin"


# Files of the system's zone database that name no place: "localtime" is the server's own zone (a
# practice's dates would follow whatever the server is set to), "Factory" a placeholder zone.
NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA time zone name the system's database knows, sorted; read once (about 600)."""
    return tuple(sorted(available_timezones() - NOT_PLACES))


def time_zone_problem(zone: str) -> Message | None:
    """Why ``zone`` is not a time zone a practice can keep its dates in, or None: an IANA name
    such as Europe/Berlin, spelled exactly."""
    if zone not in time_zone_names():
        return N_("choose a time zone from the list, such as Europe/Berlin")
    return None


def default_language_problem(language: str | None) -> Message | None:
    """Why ``language`` cannot be a practice's default language (None: none, the browser decides)."""
    if language is not None and language not in LANGUAGES:
        return N_("choose one of the languages offered")
    return None


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
    time_zone: str = DEFAULT_TIME_ZONE

    @property
    def zone(self) -> ZoneInfo:
        """The zone the practice's dates and times are shown and filtered in: ``time_zone``, or the
        default where the stored name names no zone this system knows (a row written by hand): not
        found, not a key (``../x``), not a zone file (``zone.tab``), or no file at all (``Europe``, a
        directory: an OSError)."""
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return ZoneInfo(DEFAULT_TIME_ZONE)

    @classmethod
    def open(cls, slug: str, name: str) -> Tenant:
        return cls(slug=validate_slug(slug), name=clean_name(name, "name", N_("practice name")))

    def keep_audit_events_for(self, days: int) -> None:
        if not MIN_AUDIT_RETENTION_DAYS <= days <= MAX_AUDIT_RETENTION_DAYS:
            raise InvalidValue(
                "audit_retention_days",
                N_(
                    "keep events for %(low)s to %(high)s days (ten years)",
                    low=MIN_AUDIT_RETENTION_DAYS,
                    high=MAX_AUDIT_RETENTION_DAYS,
                ),
            )
        self.audit_retention_days = days

    def speak_and_keep_time(self, default_language: str | None, time_zone: str) -> bool:
        """The language of whoever has chosen none (None: the browser's) and the zone its dates are
        shown in. Both are checked before either changes (InvalidForm naming each field that is
        wrong). Returns whether anything changed."""
        problems = {
            "default_language": default_language_problem(default_language),
            "time_zone": time_zone_problem(time_zone),
        }
        errors: dict[str, str] = {name: problem for name, problem in problems.items() if problem is not None}
        if errors:
            raise InvalidForm(errors)
        if (self.default_language, self.time_zone) == (default_language, time_zone):
            return False
        self.default_language, self.time_zone = default_language, time_zone
        return True
