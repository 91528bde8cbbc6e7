"""What a new password must be."""

from __future__ import annotations

from domain.errors import N_, InvalidValue
from domain.text import storable_text


MIN_PASSWORD_LENGTH = 10

MAX_PASSWORD_LENGTH = 1024

# Where a form asks for a new password twice, and the two differ.
PASSWORDS_DIFFER = N_("the two passwords are not the same")


def validate_new_password(password: str) -> str:
    storable_text(password or "", "password", N_("password"))  # hashed as UTF-8, which a lone surrogate has not
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidValue("password", N_("a password needs at least %(limit)s characters", limit=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidValue("password", N_("a password has at most %(limit)s characters", limit=MAX_PASSWORD_LENGTH))
    return password
