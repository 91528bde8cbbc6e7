"""A user as a provisioning client describes it, and a search over users."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Final

from domain.practitioners.practitioner import Practitioner


class Unchanged(Enum):
    """An attribute a PATCH does not name: the user keeps the value it has.

    An enum member rather than ``object()`` so that type checkers narrow ``x is UNCHANGED``.
    """

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED


@dataclass(frozen=True)
class UserValues:
    """Every attribute a provisioning client controls, each with a value (None: not given).

    The defaults are the blank user (BLANK_USER).
    """

    user_name: str | None = None
    email: str | None = None  # the primary (else first) entry of emails
    given_name: str | None = None
    family_name: str | None = None
    active: bool = True
    external_id: str | None = None
    phone: str | None = None
    title: str | None = None
    email_primary: bool = True  # how the client marked the email it sent
    display_name: str | None = None  # as sent; None: the full name stands in
    preferred_language: str | None = None  # as sent (RFC 7643 4.1.2): Practitioner.provided_language

    @classmethod
    def of(cls, practitioner: Practitioner) -> UserValues:
        """The practitioner as SCIM sees it now: what a PATCH changes."""
        return cls(
            practitioner.scim_user_name,
            practitioner.email,
            practitioner.first_name,
            practitioner.last_name,
            practitioner.active,
            practitioner.external_id,
            practitioner.phone,
            practitioner.job_title,
            practitioner.email_primary,
            practitioner.display_name,
            practitioner.provided_language,
        )


@dataclass(frozen=True)
class ScimUser:
    """A user as a provisioning client describes it; UNCHANGED marks what a PATCH leaves alone.

    The fields are those of UserValues, each of which may also be UNCHANGED.
    """

    user_name: str | None | Unchanged = UNCHANGED
    email: str | None | Unchanged = UNCHANGED
    given_name: str | None | Unchanged = UNCHANGED
    family_name: str | None | Unchanged = UNCHANGED
    active: bool | Unchanged = UNCHANGED
    external_id: str | None | Unchanged = UNCHANGED
    phone: str | None | Unchanged = UNCHANGED
    title: str | None | Unchanged = UNCHANGED
    email_primary: bool | Unchanged = UNCHANGED
    display_name: str | None | Unchanged = UNCHANGED
    preferred_language: str | None | Unchanged = UNCHANGED

    def over(self, base: UserValues) -> UserValues:
        """This user's values where set, ``base``'s elsewhere."""
        return replace(
            base, **{f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not UNCHANGED}
        )


# What a user is when the client says nothing: a POST starts from it, a PUT falls back to it.
BLANK_USER = UserValues()


@dataclass(frozen=True)
class ScimQuery:
    """Equality criteria combined with AND; None means no criterion.

    Repositories compare ``email`` as given: Provisioning.search brings it to its stored form.
    """

    user_name: str | None = None
    external_id: str | None = None
    email: str | None = None
    active: bool | None = None
