"""Value objects shared by the entities: validated on construction, immutable."""

from __future__ import annotations

import re
from enum import Enum

from domain.errors import InvalidValue

# Deliberately permissive: one "@", no spaces, a dot in the domain part. Deliverability is
# proven by mail, not by a regex.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_RESERVED_SLUGS = frozenset({"www", "api", "admin", "static", "mail", "portal"})
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 100
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


def normalize_email(raw: str) -> str:
    """The registered form of an email: trimmed and lower-cased, so comparison ignores case."""
    email = (raw or "").strip().lower()
    if not email:
        raise InvalidValue("email", "enter an email address")
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidValue("email", "enter a valid email address, such as name@practice.example")
    return email


def clean_name(raw: str, field: str, label: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise InvalidValue(field, f"enter a {label}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidValue(field, f"the {label} is longer than {MAX_NAME_LENGTH} characters")
    return name


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


def validate_new_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidValue("password", f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidValue("password", f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return password


class ModuleRight(str, Enum):
    """Rights a practitioner can hold besides being the owner."""

    AUTHENTICATION = "authentication"
    PRACTITIONERS = "practitioners"


class Workflow(str, Enum):
    STANDARD = "standard"
    PSEUDO_SSO = "pseudo_sso"


class UnknownIdentityHandling(str, Enum):
    CONFIRM_BY_OTP = "confirm_by_otp"
    LINK_VERIFIED_EMAIL = "link_verified_email"
    REGISTER = "register"


class ProfileField(str, Enum):
    """Personal data a claim can fill."""

    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    EMAIL = "email"
    SALUTATION = "salutation"
    PHONE = "phone"
    JOB_TITLE = "job_title"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Salutation(str, Enum):
    MALE = "male"
    FEMALE = "female"
    DIVERSE = "diverse"


MAX_PHONE_LENGTH = 40
MAX_JOB_TITLE_LENGTH = 100


def clean_optional(raw: str | None, field: str, limit: int) -> str | None:
    """An optional free-text field: spaces folded, empty means unset."""
    value = " ".join((raw or "").split())
    if not value:
        return None
    if len(value) > limit:
        raise InvalidValue(field, f"at most {limit} characters")
    return value


def clean_salutation(raw: str | None) -> str | None:
    value = (raw or "").strip().lower()
    if not value:
        return None
    if value not in {s.value for s in Salutation}:
        raise InvalidValue("salutation", "choose male, female, diverse or nothing")
    return value
