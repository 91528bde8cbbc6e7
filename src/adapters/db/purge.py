"""Deleting rows in bulk without ever waiting for a lock that a request holds."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause


def delete_unlocked(session: Session, table: Table, key: ColumnClause[str], condition: ColumnElement[bool]) -> int:
    """Deletes the rows meeting ``condition`` that no other transaction has locked; returns how many.

    A clean-up that waited for a row a request holds, while the request waited for another row
    the clean-up had taken, would deadlock, and the database would abort one of the two (perhaps
    a login). Skipping locked rows (PostgreSQL's SKIP LOCKED) means the clean-up never waits:
    what it skips goes at its next run. SQLite serialises writers, so there is nothing to skip.
    """
    doomed = select(key).where(condition).with_for_update(skip_locked=True)
    return session.execute(delete(table).where(key.in_(doomed))).rowcount  # type: ignore[attr-defined, no-any-return]
