"""Personal data a practitioner has and a claim can fill, and how each field is cleaned."""

from __future__ import annotations

from enum import Enum

from domain.errors import N_, InvalidValue
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
        """The field's name inside a sentence ("the first name"): a Message, translatable."""
        return _LABELS[self]

    @property
    def heading(self) -> str:
        """The field's name as a page's label or heading shows it (a Message, translatable)."""
        return _HEADINGS[self]


_HEADINGS = {
    ProfileField.FIRST_NAME: N_("First name"),
    ProfileField.LAST_NAME: N_("Last name"),
    ProfileField.EMAIL: N_("Email"),
    ProfileField.SALUTATION: N_("Salutation"),
    ProfileField.PHONE: N_("Phone"),
    ProfileField.JOB_TITLE: N_("Job title"),
}

_LABELS = {
    ProfileField.FIRST_NAME: N_("first name"),
    ProfileField.LAST_NAME: N_("last name"),
    ProfileField.EMAIL: N_("email"),
    ProfileField.SALUTATION: N_("salutation"),
    ProfileField.PHONE: N_("phone"),
    ProfileField.JOB_TITLE: N_("job title"),
}


class Salutation(str, Enum):
    MALE = "male"
    FEMALE = "female"
    DIVERSE = "diverse"


# How a form names each salutation (the value sent stays the English word).
SALUTATION_NAMES = {Salutation.MALE: N_("male"), Salutation.FEMALE: N_("female"), Salutation.DIVERSE: N_("diverse")}


def clean_name(raw: str, field: str, label: str) -> str:
    name = " ".join(one_line_text(raw or "", field, label).split())
    if not name:
        raise InvalidValue(field, N_("enter a %(label)s", label=label))
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidValue(
            field, N_("the %(label)s is longer than %(limit)s characters", label=label, limit=MAX_NAME_LENGTH)
        )
    return name


def clean_optional(raw: str | None, field: str, label: str, limit: int) -> str | None:
    """An optional one-line field: spaces folded, empty means unset."""
    value = " ".join(one_line_text(raw or "", field, label).split())
    if not value:
        return None
    if len(value) > limit:
        raise InvalidValue(field, N_("at most %(limit)s characters", limit=limit))
    return value


def clean_salutation(raw: str | None) -> str | None:
    value = (raw or "").strip().lower()
    if not value:
        return None
    if value not in {s.value for s in Salutation}:
        raise InvalidValue("salutation", N_("choose male, female, diverse or nothing"))
    return value
