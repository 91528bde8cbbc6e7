"""What a new password must be."""

from __future__ import annotations

from domain.errors import InvalidValue
from domain.text import storable_text


MIN_PASSWORD_LENGTH = 10

MAX_PASSWORD_LENGTH = 1024


def validate_new_password(password: str) -> str:
    storable_text(password or "", "password", "password")  # hashed as UTF-8, which a lone surrogate has not
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidValue("password", f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidValue("password", f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return password
