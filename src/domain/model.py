"""Entities. Each owns its rules; SQLAlchemy maps them from outside (adapters.db.orm)."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from domain.errors import InvalidResetToken
from domain.values import (
    MAX_JOB_TITLE_LENGTH,
    MAX_PHONE_LENGTH,
    ModuleRight,
    ProfileField,
    UnknownIdentityHandling,
    Workflow,
    clean_name,
    clean_optional,
    clean_salutation,
    normalize_email,
    validate_slug,
)


def new_id() -> str:
    return uuid.uuid4().hex


def digest(secret: str) -> str:
    """How high-entropy secrets (reset tokens) are stored: never in clear."""
    return hashlib.sha256(secret.encode()).hexdigest()


def fold_user_name(user_name: str) -> str:
    """The key SCIM userNames are compared by: a userName is unique per tenant without regard
    to case, so names that differ only in case or in Unicode compatibility form (NFKC: a
    full-width letter, a ligature) are one name. A SHA-256 digest of the folded name, so the
    key has a fixed length however much folding expands the name (the database indexes it)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", user_name).casefold())
    # surrogatepass: every str has a key, even text the edge ought to have refused.
    return hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()


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
class AuthSettings:
    """What a tenant admin chose about logging in. Read through TenantAuthPolicy."""

    restrict_to_sso: bool = False
    workflow: Workflow = Workflow.STANDARD
    unknown_identity: UnknownIdentityHandling = UnknownIdentityHandling.CONFIRM_BY_OTP
    self_registration: bool = False
    claim_mappings: tuple[ClaimMapping, ...] = DEFAULT_CLAIM_MAPPINGS

    def but(self, **changes: object) -> AuthSettings:
        return replace(self, **changes)  # type: ignore[arg-type]


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

    @classmethod
    def open(cls, slug: str, name: str) -> Tenant:
        return cls(slug=validate_slug(slug), name=clean_name(name, "name", "practice name"))


@dataclass(eq=False)
class Practitioner:
    tenant_id: str
    email: str
    first_name: str
    last_name: str
    created_at: datetime
    id: str = field(default_factory=new_id)
    password_hash: str | None = None
    active: bool = True
    is_owner: bool = False
    rights: frozenset[ModuleRight] = frozenset()
    salutation: str | None = None
    phone: str | None = None
    job_title: str | None = None
    # Whether the owner of the account showed control of its email: a mailed link or code
    # was used, or the identity provider vouched for it. Email linking relies on it.
    email_proven: bool = False
    # SCIM: the provisioning client's login identifier (as sent) and its own id for the user.
    user_name: str | None = None
    external_id: str | None = None
    email_primary: bool = True  # as the provisioning client marked its one email
    # Bumped by the data layer at every change of the row: the SCIM ETag.
    version: int = 0
    updated_at: datetime | None = None

    @property
    def scim_user_name(self) -> str:
        return self.user_name or self.email

    @property
    def user_name_key(self) -> str:
        """Unique per tenant: the data layer stores it and a unique index holds it."""
        return fold_user_name(self.scim_user_name)

    @classmethod
    def register(
        cls,
        tenant: Tenant,
        email: str,
        first_name: str,
        last_name: str,
        now: datetime,
        *,
        is_owner: bool = False,
        rights: frozenset[ModuleRight] = frozenset(),
    ) -> Practitioner:
        return cls(
            tenant_id=tenant.id,
            email=normalize_email(email),
            first_name=clean_name(first_name, "first_name", "first name"),
            last_name=clean_name(last_name, "last_name", "last name"),
            created_at=now,
            is_owner=is_owner,
            rights=rights,
        )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def holds(self, right: ModuleRight) -> bool:
        """The owner holds every right; others hold what was granted."""
        return self.is_owner or right in self.rights

    @property
    def has_usable_password(self) -> bool:
        return self.password_hash is not None

    def profile(self) -> dict[ProfileField, str | None]:
        return {f: getattr(self, f.value) for f in ProfileField}

    def update_profile(self, changes: dict[ProfileField, str | None]) -> list[ProfileField]:
        """Validates and applies the changes; returns the fields whose value really changed.

        The email is not changed here: it identifies the account and needs its own proof.
        """
        cleaned: dict[ProfileField, str | None] = {}
        for profile_field, raw in changes.items():
            if profile_field is ProfileField.FIRST_NAME:
                cleaned[profile_field] = clean_name(raw or "", "first_name", "first name")
            elif profile_field is ProfileField.LAST_NAME:
                cleaned[profile_field] = clean_name(raw or "", "last_name", "last name")
            elif profile_field is ProfileField.SALUTATION:
                cleaned[profile_field] = clean_salutation(raw)
            elif profile_field is ProfileField.PHONE:
                cleaned[profile_field] = clean_optional(raw, "phone", MAX_PHONE_LENGTH)
            elif profile_field is ProfileField.JOB_TITLE:
                cleaned[profile_field] = clean_optional(raw, "job_title", MAX_JOB_TITLE_LENGTH)
        changed = [f for f, value in cleaned.items() if getattr(self, f.value) != value]
        for profile_field in changed:
            setattr(self, profile_field.value, cleaned[profile_field])
        return changed

    def deactivate(self) -> None:
        self.active = False

    def reactivate(self) -> None:
        self.active = True


class ResetPurpose:
    """Why a password link was sent; it decides how long the link lives and its wording."""

    RESET = "reset"  # the practitioner asked: short-lived
    SET = "set"  # an admin provisioned the account: time to open the invitation

    LIFETIME = {RESET: timedelta(hours=1), SET: timedelta(days=3)}


@dataclass(eq=False)
class PasswordResetToken:
    """A single-use, expiring link to set a password. Only the digest of the token is kept."""

    tenant_id: str
    practitioner_id: str
    token_digest: str
    purpose: str
    expires_at: datetime
    id: str = field(default_factory=new_id)
    used_at: datetime | None = None

    @classmethod
    def issue(
        cls, practitioner: Practitioner, token: str, purpose: str, now: datetime
    ) -> PasswordResetToken:
        return cls(
            tenant_id=practitioner.tenant_id,
            practitioner_id=practitioner.id,
            token_digest=digest(token),
            purpose=purpose,
            expires_at=now + ResetPurpose.LIFETIME[purpose],
        )

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at

    def redeem(self, now: datetime) -> None:
        if not self.is_usable(now):
            raise InvalidResetToken()
        self.used_at = now
