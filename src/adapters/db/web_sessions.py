"""Storage of server-side browser sessions, and the SessionRevocation port on top of it."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Select, and_, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from adapters.db import schema
from adapters.db.purge import delete_unlocked
from domain.practitioners.practitioner import LoginMethod, Practitioner
from domain.sso.identity import ProviderSession
from domain.tenancy.tenant import Tenant


@dataclass(frozen=True)
class StoredSession:
    data: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    # The provider it was opened through (its ID token is read only at logout), while it follows it.
    through: ProviderSession | None = None


@dataclass(frozen=True)
class SessionRow:
    """What a session row holds besides its id and tenant."""

    practitioner_id: str | None
    login_method: str | None
    data: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    # A session opened through an identity provider (None otherwise): the provider, its session id
    # and subject, read by a back-channel logout, and the ID token, read only at logout.
    through: ProviderSession | None = None

    def columns(self) -> dict[str, Any]:
        through = self.through
        return {
            "practitioner_id": self.practitioner_id,
            "login_method": self.login_method,
            "data": json.dumps(self.data, separators=(",", ":")),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "provider_id": through.provider_id if through else None,
            "provider_sid": through.sid if through else None,
            "provider_subject": through.subject if through else None,
            "id_token": through.id_token if through else None,
        }


# Written when a session is opened or rotated at a login, never by a later write of its data: what
# was changed meanwhile (a provider whose trust changed no longer followed) is not brought back.
_SET_AT_LOGIN = frozenset({"created_at", "provider_id", "provider_sid", "provider_subject", "id_token"})


@dataclass(frozen=True)
class Visit:
    """What a request to an instance needs before anything else, read in one statement: the
    tenant its host names, the browser's session there, and the practitioner that session
    authenticates (as stored; whether it still grants anything is the security policy's call)."""

    tenant: Tenant | None
    session: StoredSession | None = None
    practitioner: Practitioner | None = None


@functools.cache
def _visit_statement() -> Select[Any]:
    """Built once (after the mappers are configured): every request runs it, so neither building
    nor the cache key of the statement is paid again. A digest of None (no cookie) matches no row."""
    s, p, t = schema.web_sessions.c, schema.practitioners.c, schema.tenants.c
    live_session = and_(s.id_digest == bindparam("id_digest"), s.tenant_id == t.id, s.expires_at > bindparam("now"))
    return (
        select(
            Tenant, s.data, s.created_at, s.expires_at, s.provider_id, s.provider_sid, s.provider_subject, Practitioner
        )
        .select_from(schema.tenants)
        .outerjoin(schema.web_sessions, live_session)
        .outerjoin(schema.practitioners, and_(p.id == s.practitioner_id, p.tenant_id == t.id))
        .where(t.slug == bindparam("slug"))
    )


class SqlWebSessionStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def visit(self, slug: str, id_digest: str | None, now: datetime) -> Visit:
        """The tenant by slug, joined with the live session of that digest in that tenant and its
        practitioner in that tenant. The objects join the ORM session's identity map, so a later
        ``get`` of the same practitioner or tenant in this request costs no statement."""
        parameters = {"slug": slug, "id_digest": id_digest, "now": now}
        row = self._session.execute(_visit_statement(), parameters).first()
        if row is None:
            return Visit(None)
        if row.data is None:
            return Visit(row.Tenant)
        through = (
            None
            if row.provider_id is None
            else ProviderSession(row.provider_id, row.provider_subject, row.provider_sid)
        )
        stored = StoredSession(json.loads(row.data), row.created_at, row.expires_at, through)
        return Visit(row.Tenant, stored, row.Practitioner)

    def save(self, id_digest: str, tenant_id: str, row: SessionRow, *, new: bool) -> None:
        """Writes a new session, or updates one; a session ended meanwhile stays ended."""
        c = schema.web_sessions.c
        if new:
            self._session.execute(
                schema.web_sessions.insert().values(id_digest=id_digest, tenant_id=tenant_id, **row.columns())
            )
        else:
            changed = {name: value for name, value in row.columns().items() if name not in _SET_AT_LOGIN}
            self._session.execute(
                update(schema.web_sessions).where(c.id_digest == id_digest, c.tenant_id == tenant_id).values(**changed)
            )

    def rotate(self, old_digest: str, new_digest: str, tenant_id: str, row: SessionRow) -> None:
        """The session under a new id: the old row takes the new digest and data in one statement
        (a login's rotation). A session gone meanwhile (ended by an admin) is started anew."""
        c = schema.web_sessions.c
        values = {"id_digest": new_digest, **row.columns()}
        result = self._session.execute(
            update(schema.web_sessions).where(c.id_digest == old_digest, c.tenant_id == tenant_id).values(**values)
        )
        if isinstance(result, CursorResult) and result.rowcount == 0:
            self._session.execute(schema.web_sessions.insert().values(tenant_id=tenant_id, **values))

    def id_token(self, id_digest: str, tenant_id: str) -> str | None:
        """The ID token the session was opened with, if it was opened through a provider."""
        c = schema.web_sessions.c
        return self._session.scalar(select(c.id_token).where(c.id_digest == id_digest, c.tenant_id == tenant_id))

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

    def end_provider_sessions(self, tenant_id: str, provider_id: str, sid: str | None, subject: str | None) -> int:
        c = schema.web_sessions.c
        named = [c.provider_sid == sid] if sid is not None else []
        named += [c.provider_subject == subject] if subject is not None else []
        if not named:  # the domain never asks for every session of a provider; nothing is safer
            return 0
        ended = self._session.execute(
            delete(schema.web_sessions).where(c.tenant_id == tenant_id, c.provider_id == provider_id, *named)
        )
        return ended.rowcount if isinstance(ended, CursorResult) else 0

    def stop_following(self, tenant_id: str, provider_id: str) -> int:
        c = schema.web_sessions.c
        forgotten = self._session.execute(
            update(schema.web_sessions)
            .where(c.tenant_id == tenant_id, c.provider_id == provider_id)
            .values(provider_id=None, provider_sid=None, provider_subject=None, id_token=None)
        )
        return forgotten.rowcount if isinstance(forgotten, CursorResult) else 0


class SqlLogoutTokenReplays:
    """The jti of each back-channel logout token accepted, as a digest, until it expires."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def first_use(self, tenant_id: str, provider_id: str, jti_digest: str, until: datetime) -> bool:
        # One statement: of concurrent inserts of one key, PostgreSQL lets the first commit and
        # the others find the conflict then (ON CONFLICT waits for it), so exactly one is first.
        t = schema.logout_token_jtis
        insert = postgresql.insert if self._session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = (
            insert(t)
            .values(provider_id=provider_id, jti_digest=jti_digest, tenant_id=tenant_id, expires_at=until)
            .on_conflict_do_nothing(index_elements=[t.c.provider_id, t.c.jti_digest])
            .returning(t.c.jti_digest)
        )
        return self._session.execute(statement).first() is not None

    def delete_expired(self, now: datetime) -> int:
        c = schema.logout_token_jtis.c
        return delete_unlocked(self._session, schema.logout_token_jtis, c.jti_digest, c.expires_at <= now)
