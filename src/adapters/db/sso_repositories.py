"""SQLAlchemy implementations of the Single Sign On ports."""

from __future__ import annotations

import functools

from sqlalchemy import Select, and_, bindparam, delete, func, literal, or_, select, tuple_, update
from sqlalchemy.orm import Session

from adapters.db import schema
from domain.sso.challenge import LinkChallenge
from domain.audit import AuditCursor, AuditEvent, AuditQuery
from domain.practitioners.practitioner import Practitioner
from domain.sso.identity import IdentityLink
from domain.sso.provider import IdentityProvider


class SqlIdentityProviderRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, provider: IdentityProvider) -> None:
        self._session.add(provider)
        # Mapped without relationships, the unit of work cannot order a pending provider
        # before the links and challenges that reference it: write it now.
        self._session.flush()

    def get(self, tenant_id: str, provider_id: str) -> IdentityProvider | None:
        found = self._session.get(IdentityProvider, provider_id)  # by primary key: read once per request
        return found if found is not None and found.tenant_id == tenant_id else None

    def list(self, tenant_id: str) -> list[IdentityProvider]:
        c = schema.identity_providers.c
        return list(
            self._session.scalars(
                select(IdentityProvider).where(c.tenant_id == tenant_id).order_by(func.lower(c.display_name), c.id)
            )
        )

    def remove(self, provider: IdentityProvider) -> None:
        # The database cascades to the provider's links and challenges.
        self._session.delete(provider)
        self._session.flush()
        self._session.expire_all()


@functools.cache
def _link_with_practitioner() -> Select[IdentityLink, Practitioner]:
    """Built once (after the mappers are configured), as the visit's statement: every SSO callback
    runs it, so neither building it nor its cache key is paid again."""
    c, p = schema.identity_links.c, schema.practitioners.c
    key = [c[name] == bindparam(name) for name in ("tenant_id", "provider_id", "issuer", "subject")]
    return (
        select(IdentityLink, Practitioner)
        .outerjoin(schema.practitioners, and_(p.id == c.practitioner_id, p.tenant_id == c.tenant_id))
        .where(*key)
    )


class SqlIdentityLinkRepository:
    def __init__(self, session: Session) -> None:
        self._session = session
        self._read_along: list[Practitioner | None] = []  # lives as long as this request's repository

    def require_reconfirmation(self, tenant_id: str, provider_id: str) -> int:
        c = schema.identity_links.c
        result = self._session.execute(
            update(schema.identity_links)
            .where(c.tenant_id == tenant_id, c.provider_id == provider_id)
            .values(needs_reconfirmation=True),
            execution_options={"synchronize_session": "fetch"},
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def add(self, link: IdentityLink) -> None:
        self._session.add(link)

    def find(self, tenant_id: str, provider_id: str, issuer: str, subject: str) -> IdentityLink | None:
        """The link, read together with its practitioner: the sign-in that follows gets the
        practitioner from the session's identity map, without a statement of its own."""
        key = {"tenant_id": tenant_id, "provider_id": provider_id, "issuer": issuer, "subject": subject}
        row = self._session.execute(_link_with_practitioner(), key).first()
        if row is None:
            return None
        # The identity map holds objects weakly: keep the practitioner alive until it is asked for.
        self._read_along.append(row.Practitioner)
        return row.IdentityLink  # type: ignore[no-any-return]

    def of_practitioner(self, tenant_id: str, practitioner_id: str) -> list[IdentityLink]:
        c = schema.identity_links.c
        return list(
            self._session.scalars(
                select(IdentityLink)
                .where(c.tenant_id == tenant_id, c.practitioner_id == practitioner_id)
                .order_by(c.linked_at)
            )
        )

    def remove(self, link: IdentityLink) -> None:
        self._session.delete(link)
        self._session.flush()  # before a replacing link with the same key is added


class SqlLinkChallengeRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, challenge: LinkChallenge) -> None:
        self._session.add(challenge)

    def open_for(self, tenant_id: str, binding_digest: str) -> LinkChallenge | None:
        c = schema.link_challenges.c
        # Locked until the unit of work ends, and read afresh even if this session holds it:
        # concurrent tries of one code queue, and each sees the wrong attempts counted before
        # it (SQLite serialises writers anyway).
        return self._session.scalars(
            select(LinkChallenge)
            .where(c.tenant_id == tenant_id, c.binding_digest == binding_digest, c.used_at.is_(None))
            .order_by(c.created_at.desc())
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()

    def discard_open(self, tenant_id: str, binding_digest: str) -> None:
        c = schema.link_challenges.c
        self._session.execute(
            delete(schema.link_challenges).where(
                c.tenant_id == tenant_id, c.binding_digest == binding_digest, c.used_at.is_(None)
            ),
            execution_options={"synchronize_session": "fetch"},
        )


class SqlAuditLog:
    def __init__(self, session: Session) -> None:
        self._session = session

    def record(self, event: AuditEvent) -> None:
        self._session.add(event)

    def page(self, tenant_id: str, query: AuditQuery, before: AuditCursor | None, limit: int) -> list[AuditEvent]:
        """Keyset paging: the index on (tenant_id, at, id) is read backwards from the cursor, so
        the thousandth page costs what the first does; no OFFSET, and no count of the whole table.
        A kind, actor or subject filter has its own (tenant_id, ..., at) index."""
        c = schema.audit_events.c
        conditions = [c.tenant_id == tenant_id]
        if query.kinds is not None:
            conditions.append(c.kind.in_(query.kinds))
        if query.people is not None:
            conditions.append(or_(c.actor_id.in_(query.people), c.subject_id.in_(query.people)))
        if query.since is not None:
            conditions.append(c.at >= query.since)
        if query.until is not None:
            conditions.append(c.at < query.until)
        if before is not None:
            conditions.append(tuple_(c.at, c.id) < tuple_(literal(before.at, c.at.type), literal(before.id)))
        return list(
            self._session.scalars(select(AuditEvent).where(*conditions).order_by(c.at.desc(), c.id.desc()).limit(limit))
        )
