"""Personal data a practitioner has and a claim can fill, and how each field is cleaned."""

from __future__ import annotations

from enum import Enum

from domain.errors import InvalidValue
from domain.text import one_line_text


MAX_NAME_LENGTH = 100

MAX_PHONE_LENGTH = 40

MAX_JOB_TITLE_LENGTH = 100


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


def clean_name(raw: str, field: str, label: str) -> str:
    name = " ".join(one_line_text(raw or "", field, label).split())
    if not name:
        raise InvalidValue(field, f"enter a {label}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidValue(field, f"the {label} is longer than {MAX_NAME_LENGTH} characters")
    return name


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
