"""The one email rule (README, "Email addresses"): which addresses are accepted, and their
stored form, which is also their comparison form."""

from __future__ import annotations

import string

import idna

from domain.errors import N_, InvalidValue
from domain.text import one_line_text


MAX_EMAIL_LENGTH = 254

MAX_LOCAL_PART_LENGTH = 64

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


def normalize_email(raw: str) -> str:
    """The stored and comparison form of one email address; InvalidValue says what is wrong."""
    text = one_line_text(raw or "", "email", N_("email address")).strip(" ")
    if not text:
        raise InvalidValue("email", N_("enter an email address"))
    if "," in text or ";" in text:
        raise InvalidValue("email", N_("enter a valid email address: one address, not a list"))
    if any(c in '"()<>' for c in text):
        raise InvalidValue(
            "email",
            N_("enter a valid email address: the address alone, without a name, quotes, angle brackets or comments"),
        )
    if any(c.isspace() or not c.isprintable() for c in text):  # what one line of text may still hold
        raise InvalidValue("email", N_("enter a valid email address: no spaces or invisible characters"))
    if "@" not in text:
        raise InvalidValue("email", N_("enter a valid email address, such as name@practice.example"))
    if text.count("@") > 1:
        raise InvalidValue("email", N_("enter a valid email address: exactly one @"))
    local, domain = text.split("@")
    email = f"{_local_part(local)}@{_domain(domain)}"
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidValue(
            "email", N_("enter a valid email address: at most %(limit)s characters", limit=MAX_EMAIL_LENGTH)
        )
    return email


def same_mailbox(a: str, b: str) -> bool:
    """Whether two addresses name one mailbox: both valid, with equal stored forms."""
    try:
        return normalize_email(a) == normalize_email(b)
    except InvalidValue:
        return False


def _local_part(local: str) -> str:
    if not local:
        raise InvalidValue(
            "email", N_("enter a valid email address: a name before the @, such as name@practice.example")
        )
    if not all(c in _ATEXT or c == "." for c in local):
        raise InvalidValue(
            "email",
            N_(
                "enter a valid email address: before the @ only a-z, 0-9 and %(symbols)s "
                "(no accented or other non-ASCII characters)",
                symbols=". ! # $ % & ' * + - / = ? ^ _ ` { | } ~",
            ),
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidValue(
            "email", N_("enter a valid email address: before the @ a dot is never first, last or doubled")
        )
    if len(local) > MAX_LOCAL_PART_LENGTH:
        raise InvalidValue(
            "email",
            N_("enter a valid email address: at most %(limit)s characters before the @", limit=MAX_LOCAL_PART_LENGTH),
        )
    return local.translate(_FOLD_ASCII)


def _domain(domain: str) -> str:
    invalid = InvalidValue(
        "email",
        N_(
            "enter a valid email address: after the @ a domain name such as practice.example "
            "(letters, digits and hyphens between dots, no hyphen first or last)"
        ),
    )
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        raise invalid
    try:
        for c in domain:
            if not c.isascii():
                mapped = idna.uts46_remap(c, std3_rules=True)
                if not mapped or any(m.isascii() for m in mapped):
                    raise InvalidValue(
                        "email",
                        N_(
                            "enter a valid email address: the domain holds %(character)s, a look-alike of a plain character",
                            character=f"U+{ord(c):04X}",
                        ),
                    )
        stored = idna.encode(idna.uts46_remap(domain.translate(_FOLD_ASCII), std3_rules=True), strict=True).decode(
            "ascii"
        )
    except idna.IDNAError:
        raise invalid from None
    if stored.rpartition(".")[2].isdigit():  # a numeric top-level label: an IP address, not a domain
        raise invalid
    return stored
