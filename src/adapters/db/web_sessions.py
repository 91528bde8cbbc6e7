"""Storage of server-side browser sessions, and the SessionRevocation port on top of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from adapters.db import schema
from adapters.db.purge import delete_unlocked
from domain.practitioners.practitioner import LoginMethod


@dataclass(frozen=True)
class StoredSession:
    data: dict[str, Any]
    created_at: datetime
    expires_at: datetime


class SqlWebSessionStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def load(self, id_digest: str, tenant_id: str, now: datetime) -> StoredSession | None:
        """The session, if it exists, belongs to this tenant and has not expired."""
        c = schema.web_sessions.c
        row = self._session.execute(
            select(c.data, c.created_at, c.expires_at).where(
                c.id_digest == id_digest, c.tenant_id == tenant_id, c.expires_at > now
            )
        ).first()
        if row is None:
            return None
        return StoredSession(json.loads(row.data), row.created_at, row.expires_at)

    def save(
        self,
        id_digest: str,
        tenant_id: str,
        practitioner_id: str | None,
        login_method: str | None,
        data: dict[str, Any],
        created_at: datetime,
        expires_at: datetime,
        *,
        new: bool,
    ) -> None:
        """Writes a new session, or updates one; a session ended meanwhile stays ended."""
        c = schema.web_sessions.c
        values = {
            "practitioner_id": practitioner_id,
            "login_method": login_method,
            "data": json.dumps(data, separators=(",", ":")),
            "expires_at": expires_at,
        }
        if new:
            self._session.execute(
                schema.web_sessions.insert().values(
                    id_digest=id_digest, tenant_id=tenant_id, created_at=created_at, **values
                )
            )
        else:
            self._session.execute(
                update(schema.web_sessions).where(c.id_digest == id_digest, c.tenant_id == tenant_id).values(**values)
            )

    def delete(self, id_digest: str) -> None:
        self._session.execute(delete(schema.web_sessions).where(schema.web_sessions.c.id_digest == id_digest))

    def delete_expired(self, now: datetime) -> int:
        c = schema.web_sessions.c
        return delete_unlocked(self._session, schema.web_sessions, c.id_digest, c.expires_at <= now)


class SqlSessionRevocation:
    def __init__(self, session: Session) -> None:
        self._session = session

    def end_sessions_of(self, tenant_id: str, practitioner_id: str) -> None:
        c = schema.web_sessions.c
        self._session.execute(
            delete(schema.web_sessions).where(c.tenant_id == tenant_id, c.practitioner_id == practitioner_id)
        )

    def end_sessions_opened_by(self, tenant_id: str, method: LoginMethod) -> None:
        c = schema.web_sessions.c
        self._session.execute(
            delete(schema.web_sessions).where(c.tenant_id == tenant_id, c.login_method == method.value)
        )
