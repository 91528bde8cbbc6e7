"""A SCIM group as stored, as a client describes it, and a search over groups.

Apart from the use case (groups.py), so domain.ports can name it without importing a use case
that imports domain.ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum

from domain.errors import DomainError, InvalidValue
from domain.identifiers import new_id
from domain.practitioners.practitioner import fold_user_name
from domain.provisioning.scim_user import UNCHANGED, Unchanged
from domain.text import one_line_text

MAX_GROUP_TEXT = 255  # displayName and externalId: the columns' width
MAX_MEMBERS = 10_000  # a practice's group: far beyond any practice, short of a memory problem


class UnknownGroup(DomainError):
    def __init__(self) -> None:
        super().__init__("that group does not exist in this practice")


def clean_display_name(value: str | None) -> str:
    if value is None or not value.strip():
        raise InvalidValue("displayName", "displayName is required")
    if len(value) > MAX_GROUP_TEXT:
        raise InvalidValue("displayName", f"displayName has at most {MAX_GROUP_TEXT} characters")
    return one_line_text(value, "displayName", "displayName")


def clean_external_id(value: str | None) -> str | None:
    if not value:
        return None  # an empty externalId is none
    if len(value) > MAX_GROUP_TEXT:
        raise InvalidValue("externalId", f"externalId has at most {MAX_GROUP_TEXT} characters")
    return one_line_text(value, "externalId", "externalId")


@dataclass(frozen=True)
class GroupValues:
    """A complete group as a client describes it (POST and PUT; a PATCH applied to the group)."""

    display_name: str | None = None
    external_id: str | None = None
    member_ids: frozenset[str] = frozenset()


@dataclass(eq=False)
class ScimGroup:
    tenant_id: str
    display_name: str
    created_at: datetime
    id: str = field(default_factory=new_id)
    external_id: str | None = None
    member_ids: frozenset[str] = frozenset()
    updated_at: datetime | None = None
    # Counts every change, of the members too: the ETag, and the repository's optimistic lock.
    version: int = 1

    @classmethod
    def create(cls, tenant_id: str, values: GroupValues, now: datetime) -> ScimGroup:
        group = cls(tenant_id, clean_display_name(values.display_name), now)
        group.external_id = clean_external_id(values.external_id)
        group.member_ids = _members(values.member_ids)
        return group

    @property
    def display_name_key(self) -> str:
        """Unique per practice: display names that differ only in case are one name."""
        return fold_user_name(self.display_name)

    def values(self) -> GroupValues:
        return GroupValues(self.display_name, self.external_id, self.member_ids)

    def proposed(self, values: GroupValues) -> ScimGroup:
        """A copy holding these values, checked: what ``apply`` would make of the group."""
        return replace(
            self,
            display_name=clean_display_name(values.display_name),
            external_id=clean_external_id(values.external_id),
            member_ids=_members(values.member_ids),
        )

    def apply(self, values: GroupValues, now: datetime) -> None:
        """Takes these values (checked before anything changes): a new version whether or not they differ."""
        after = self.proposed(values)
        self.display_name, self.external_id, self.member_ids = after.display_name, after.external_id, after.member_ids
        self.updated_at = now
        self.version += 1


def _members(ids: frozenset[str]) -> frozenset[str]:
    if len(ids) > MAX_MEMBERS:
        raise InvalidValue("members", f"a group has at most {MAX_MEMBERS} members")
    return ids


class MemberOperation(Enum):
    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"


@dataclass(frozen=True)
class GroupPatch:
    """A PATCH in domain terms: what it sets (UNCHANGED: left alone) and its member operations in
    the order sent. Entra adds and removes members one by one; Okta replaces them all."""

    display_name: str | None | Unchanged = UNCHANGED
    external_id: str | None | Unchanged = UNCHANGED
    members: tuple[tuple[MemberOperation, frozenset[str]], ...] = ()

    def over(self, current: GroupValues) -> GroupValues:
        members = set(current.member_ids)
        for operation, ids in self.members:
            if operation is MemberOperation.REPLACE:
                members = set(ids)
            elif operation is MemberOperation.ADD:
                members |= ids
            else:  # removing someone who is not a member (any more) is no error: the result is the same
                members -= ids
        values = replace(current, member_ids=frozenset(members))
        if self.display_name is not UNCHANGED:
            values = replace(values, display_name=self.display_name)
        if self.external_id is not UNCHANGED:
            values = replace(values, external_id=self.external_id)
        return values


@dataclass(frozen=True)
class GroupQuery:
    """Equality criteria combined with AND (None: no criterion); displayName compared without case."""

    display_name: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class Membership:
    """A group a practitioner belongs to, as the User's ``groups`` attribute lists it."""

    group_id: str
    display_name: str
