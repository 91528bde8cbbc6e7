"""ScimGroupRepository on SQLAlchemy Core, not the ORM mapping.

Why Core: a group's members live in a second table, and its version (the ETag) must count a
change of the members as well as of its own row. The ORM bumps a version column only when the row
itself changes, and mapping the members as a relationship would load a practitioner per member;
here a group is read in two statements whatever its size, membership is written as a difference,
and ``save`` is one conditional UPDATE (``WHERE version = <the version read>``) that refuses a
concurrent change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.db import schema
from domain.errors import NotUnique, VersionMismatch
from domain.practitioners.practitioner import fold_user_name
from domain.provisioning.scim_group import GroupQuery, Membership, ScimGroup

groups = schema.scim_groups
members = schema.scim_group_members


class SqlScimGroupRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, group: ScimGroup) -> None:
        self._session.flush()  # the practitioners it names may have been added in this unit of work
        with self._unique(group):
            self._session.execute(insert(groups).values(**self._columns(group)))
        self._add_members(group, group.member_ids)

    def get(self, tenant_id: str, group_id: str) -> ScimGroup | None:
        row = self._session.execute(
            select(groups).where(groups.c.tenant_id == tenant_id, groups.c.id == group_id)
        ).first()
        return None if row is None else self._with_members([row])[0]

    def search(self, tenant_id: str, query: GroupQuery, offset: int, limit: int) -> tuple[list[ScimGroup], int]:
        condition = groups.c.tenant_id == tenant_id
        if query.display_name is not None:
            condition &= groups.c.display_name_key == fold_user_name(query.display_name)
        if query.external_id is not None:
            condition &= groups.c.external_id == query.external_id
        total = self._session.scalar(select(func.count()).select_from(groups).where(condition)) or 0
        rows = self._session.execute(
            select(groups).where(condition).order_by(groups.c.created_at, groups.c.id).offset(offset).limit(limit)
        ).all()
        return self._with_members(rows), total

    def save(self, group: ScimGroup) -> None:
        self._session.flush()
        values = self._columns(group)
        for key in ("id", "tenant_id", "created_at"):
            values.pop(key)
        statement = (
            update(groups)
            .where(groups.c.id == group.id, groups.c.tenant_id == group.tenant_id)
            .where(groups.c.version == group.version - 1)
            .values(**values)
        )
        with self._unique(group):
            result = cast(CursorResult[Any], self._session.execute(statement))
        if result.rowcount != 1:
            raise VersionMismatch()
        stored = set(self._session.scalars(select(members.c.practitioner_id).where(members.c.group_id == group.id)))
        gone = stored - group.member_ids
        if gone:
            self._session.execute(
                delete(members).where(members.c.group_id == group.id, members.c.practitioner_id.in_(sorted(gone)))
            )
        self._add_members(group, group.member_ids - stored)

    def remove(self, group: ScimGroup) -> None:
        # The database removes the memberships with the group.
        self._session.execute(delete(groups).where(groups.c.id == group.id, groups.c.tenant_id == group.tenant_id))

    def memberships(self, tenant_id: str, practitioner_ids: set[str]) -> dict[str, list[Membership]]:
        if not practitioner_ids:
            return {}
        self._session.flush()
        rows = self._session.execute(
            select(members.c.practitioner_id, groups.c.id, groups.c.display_name)
            .join(groups, groups.c.id == members.c.group_id)
            .where(members.c.tenant_id == tenant_id, members.c.practitioner_id.in_(sorted(practitioner_ids)))
            .order_by(func.lower(groups.c.display_name), groups.c.id)
        )
        found: dict[str, list[Membership]] = defaultdict(list)
        for practitioner_id, group_id, display_name in rows:
            found[practitioner_id].append(Membership(group_id, display_name))
        return dict(found)

    # ---- rows ------------------------------------------------------------------------------

    @contextmanager
    def _unique(self, group: ScimGroup) -> Iterator[None]:
        try:
            # A savepoint, so a concurrent duplicate leaves the request's transaction usable.
            with self._session.begin_nested():
                yield
        except IntegrityError as exc:
            raise NotUnique("displayName", group.display_name) from exc

    @staticmethod
    def _columns(group: ScimGroup) -> dict[str, object]:
        return {
            "id": group.id,
            "tenant_id": group.tenant_id,
            "display_name": group.display_name,
            "display_name_key": group.display_name_key,
            "external_id": group.external_id,
            "created_at": group.created_at,
            "updated_at": group.updated_at,
            "version": group.version,
        }

    def _add_members(self, group: ScimGroup, practitioner_ids: Iterable[str]) -> None:
        rows = [{"group_id": group.id, "practitioner_id": p, "tenant_id": group.tenant_id} for p in practitioner_ids]
        if rows:
            self._session.execute(insert(members), rows)

    def _with_members(self, rows: Iterable[Row[tuple[object, ...]]]) -> list[ScimGroup]:
        found = [
            ScimGroup(
                tenant_id=row.tenant_id,
                display_name=row.display_name,
                created_at=row.created_at,
                id=row.id,
                external_id=row.external_id,
                updated_at=row.updated_at,
                version=row.version,
            )
            for row in rows
        ]
        if not found:
            return found
        by_group: dict[str, set[str]] = defaultdict(set)
        for group_id, practitioner_id in self._session.execute(
            select(members.c.group_id, members.c.practitioner_id).where(members.c.group_id.in_([g.id for g in found]))
        ):
            by_group[group_id].add(practitioner_id)
        for group in found:
            group.member_ids = frozenset(by_group[group.id])
        return found
