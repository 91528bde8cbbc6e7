"""Value objects shared by the entities: validated on construction, immutable."""

from __future__ import annotations

import re
import string
from enum import Enum

import idna

from domain.errors import InvalidValue
from domain.text import one_line_text, storable_text

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_RESERVED_SLUGS = frozenset({"www", "api", "admin", "static", "mail", "portal"})
MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
MAX_NAME_LENGTH = 100
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


# The one email rule, used by every path (README, "Email addresses"). It accepts one bare
# mailbox and returns its stored form, which is also its comparison form: two inputs name
# the same mailbox exactly when their stored forms are equal. Nothing non-ASCII is ever
# folded into ASCII (str.lower() would turn U+212A KELVIN SIGN into "k").
# - Local part: a dot-atom of RFC 5322 atext, ASCII only, A-Z folded to a-z. Internationalised
#   local parts (RFC 6531) are refused: they need SMTPUTF8 from every relay on the way, and a
#   look-alike such as U+212A cannot be told from the ASCII letter on screen.
# - Domain: IDNA 2008, stored as its A-labels (``xn--...``) in lower case, so every spelling
#   of one domain compares equal and the whole stored address is ASCII, which every SMTP relay
#   delivers and no mail header garbles. Capitals in a U-label are mapped as UTS 46 maps them;
#   a non-ASCII character that UTS 46 would turn into ASCII or drop is refused, not mapped.
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_FOLD_ASCII = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_INVALID = "enter a valid email address"


def normalize_email(raw: str) -> str:
    """The stored and comparison form of one email address; InvalidValue says what is wrong."""
    text = one_line_text(raw or "", "email", "email address").strip(" ")
    if not text:
        raise InvalidValue("email", "enter an email address")
    if "," in text or ";" in text:
        raise InvalidValue("email", f"{_INVALID}: one address, not a list")
    if any(c in '"()<>' for c in text):
        raise InvalidValue("email", f"{_INVALID}: the address alone, without a name, quotes, angle brackets or comments")
    if any(c.isspace() or not c.isprintable() for c in text):  # what one line of text may still hold
        raise InvalidValue("email", f"{_INVALID}: no spaces or invisible characters")
    if "@" not in text:
        raise InvalidValue("email", f"{_INVALID}, such as name@practice.example")
    if text.count("@") > 1:
        raise InvalidValue("email", f"{_INVALID}: exactly one @")
    local, domain = text.split("@")
    email = f"{_local_part(local)}@{_domain(domain)}"
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidValue("email", f"{_INVALID}: at most {MAX_EMAIL_LENGTH} characters")
    return email


def same_mailbox(a: str, b: str) -> bool:
    """Whether two addresses name one mailbox: both valid, with equal stored forms."""
    try:
        return normalize_email(a) == normalize_email(b)
    except InvalidValue:
        return False


def _local_part(local: str) -> str:
    if not local:
        raise InvalidValue("email", f"{_INVALID}: a name before the @, such as name@practice.example")
    if not all(c in _ATEXT or c == "." for c in local):
        raise InvalidValue(
            "email",
            f"{_INVALID}: before the @ only a-z, 0-9 and . ! # $ % & ' * + - / = ? ^ _ ` {{ | }} ~ "
            "(no accented or other non-ASCII characters)",
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidValue("email", f"{_INVALID}: before the @ a dot is never first, last or doubled")
    if len(local) > MAX_LOCAL_PART_LENGTH:
        raise InvalidValue("email", f"{_INVALID}: at most {MAX_LOCAL_PART_LENGTH} characters before the @")
    return local.translate(_FOLD_ASCII)


def _domain(domain: str) -> str:
    invalid = InvalidValue(
        "email",
        f"{_INVALID}: after the @ a domain name such as practice.example "
        "(letters, digits and hyphens between dots, no hyphen first or last)",
    )
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        raise invalid
    try:
        for c in domain:
            if not c.isascii():
                mapped = idna.uts46_remap(c, std3_rules=True)
                if not mapped or any(m.isascii() for m in mapped):
                    raise InvalidValue("email", f"{_INVALID}: the domain holds U+{ord(c):04X}, a look-alike of a plain character")
        stored = idna.encode(idna.uts46_remap(domain.translate(_FOLD_ASCII), std3_rules=True), strict=True).decode("ascii")
    except idna.IDNAError:
        raise invalid from None
    if stored.rpartition(".")[2].isdigit():  # a numeric top-level label: an IP address, not a domain
        raise invalid
    return stored


def clean_name(raw: str, field: str, label: str) -> str:
    name = " ".join(one_line_text(raw or "", field, label).split())
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
    storable_text(password or "", "password", "password")  # hashed as UTF-8, which a lone surrogate has not
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidValue("password", f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidValue("password", f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return password


class ModuleRight(str, Enum):
    """Rights a practitioner can hold besides being the owner."""

    AUTHENTICATION = "authentication"
    PRACTITIONERS = "practitioners"


class LoginMethod(str, Enum):
    """How a browser session was opened."""

    PASSWORD = "password"
    SSO = "sso"


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
    """An optional one-line field: spaces folded, empty means unset."""
    value = " ".join(one_line_text(raw or "", field, field.replace("_", " ")).split())
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
