"""SQLAlchemy implementations of the domain's repository ports."""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Select, bindparam, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.db import schema
from domain.errors import EmailAlreadyRegistered, NotUnique, TenantAlreadyExists
from domain.passwords.reset_token import PasswordResetToken
from domain.practitioners.practitioner import Practitioner, fold_user_name
from domain.tenancy.tenant import Tenant
from domain.throttle import ThrottleRule
from domain.ports import Page
from domain.provisioning.bearer_token import ScimToken
from domain.provisioning.scim_user import ScimQuery


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlTenantRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, tenant: Tenant) -> None:
        try:
            with self._session.begin_nested():
                self._session.add(tenant)
        except IntegrityError as exc:
            raise TenantAlreadyExists(tenant.slug) from exc

    def get(self, tenant_id: str) -> Tenant | None:
        return self._session.get(Tenant, tenant_id)

    def get_by_slug(self, slug: str) -> Tenant | None:
        return self._session.scalars(select(Tenant).where(schema.tenants.c.slug == slug)).first()

    def list(self) -> list[Tenant]:
        return list(self._session.scalars(select(Tenant).order_by(schema.tenants.c.slug)))

    def lock(self, tenant: Tenant) -> None:
        # FOR UPDATE waits for a concurrent change of the same practice to commit (SQLite has one
        # writer at a time anyway); then what was loaded before it is stale, so it is read again.
        t = schema.tenants.c
        self._session.execute(select(t.id).where(t.id == tenant.id).with_for_update())
        self._session.expire_all()


@functools.cache
def _by_email() -> Select[Practitioner]:
    """Built once (after the mappers are configured): an SSO callback for an unknown identity and
    every password login run it, so neither building it nor its cache key is paid again."""
    c = schema.practitioners.c
    return select(Practitioner).where(c.tenant_id == bindparam("tenant_id"), c.email == bindparam("email"))


class SqlPractitionerRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, practitioner: Practitioner) -> None:
        try:
            # A savepoint, so a concurrent duplicate leaves the request's transaction usable.
            with self._session.begin_nested():
                self._session.add(practitioner)
        except IntegrityError as exc:
            # Without a userName of its own, the practitioner's userName is the email.
            if practitioner.user_name is not None and "user_name_key" in str(exc.orig):
                raise NotUnique("userName", practitioner.user_name) from exc
            raise EmailAlreadyRegistered(practitioner.email) from exc

    def get(self, tenant_id: str, practitioner_id: str) -> Practitioner | None:
        # By primary key: one already read in this request (by the visit, say) costs no statement.
        found = self._session.get(Practitioner, practitioner_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    def get_by_email(self, tenant_id: str, email: str) -> Practitioner | None:
        return self._session.scalars(_by_email(), {"tenant_id": tenant_id, "email": email}).first()

    def get_many(self, tenant_id: str, practitioner_ids: set[str]) -> list[Practitioner]:
        if not practitioner_ids:
            return []
        c = schema.practitioners.c
        return list(
            self._session.scalars(
                select(Practitioner).where(c.tenant_id == tenant_id, c.id.in_(sorted(practitioner_ids)))
            )
        )

    def scim_search(self, tenant_id: str, query: ScimQuery, offset: int, limit: int) -> tuple[list[Practitioner], int]:
        c = schema.practitioners.c
        condition = c.tenant_id == tenant_id
        if query.user_name is not None:
            condition &= c.user_name_key == fold_user_name(query.user_name)
        if query.external_id is not None:
            condition &= c.external_id == query.external_id
        if query.email is not None:
            condition &= c.email == query.email
        if query.active is not None:
            condition &= c.active.is_(query.active)
        total = self._session.scalar(select(func.count()).select_from(schema.practitioners).where(condition))
        items = self._session.scalars(
            select(Practitioner).where(condition).order_by(c.created_at, c.id).offset(offset).limit(limit)
        )
        return list(items), total or 0

    def remove(self, practitioner: Practitioner) -> None:
        # The database cascades to links, challenges, reset tokens and sessions.
        self._session.delete(practitioner)
        self._session.flush()

    def get_owner(self, tenant_id: str) -> Practitioner | None:
        c = schema.practitioners.c
        return self._session.scalars(select(Practitioner).where(c.tenant_id == tenant_id, c.is_owner.is_(True))).first()

    def search(self, tenant_id: str, query: str, offset: int, limit: int) -> Page:
        c = schema.practitioners.c
        condition = c.tenant_id == tenant_id
        if query:
            pattern = _like_pattern(query)
            condition &= or_(
                *(func.lower(col).like(pattern, escape="\\") for col in (c.email, c.first_name, c.last_name))
            )
        total = self._session.scalar(select(func.count()).select_from(schema.practitioners).where(condition))
        items = self._session.scalars(
            select(Practitioner)
            .where(condition)
            .order_by(func.lower(c.last_name), func.lower(c.first_name), c.email)
            .offset(offset)
            .limit(limit)
        )
        return Page(items=list(items), total=total or 0)


class SqlPasswordResetTokenRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, token: PasswordResetToken) -> None:
        self._session.add(token)

    def get_by_digest(self, tenant_id: str, token_digest: str) -> PasswordResetToken | None:
        c = schema.password_reset_tokens.c
        return self._session.scalars(
            select(PasswordResetToken).where(c.tenant_id == tenant_id, c.token_digest == token_digest)
        ).first()

    def discard_open(self, tenant_id: str, practitioner_id: str, purposes: tuple[str, ...] | None = None) -> None:
        c = schema.password_reset_tokens.c
        conditions = [c.tenant_id == tenant_id, c.practitioner_id == practitioner_id, c.used_at.is_(None)]
        if purposes is not None:
            conditions.append(c.purpose.in_(purposes))
        self._session.execute(
            delete(schema.password_reset_tokens).where(*conditions),
            execution_options={"synchronize_session": "fetch"},
        )

    def claim(self, tenant_id: str, token_digest: str) -> PasswordResetToken | None:
        c = schema.password_reset_tokens.c
        # Read afresh even if this session holds it, and locked (SQLite serialises writers anyway).
        return self._session.scalars(
            select(PasswordResetToken)
            .where(c.tenant_id == tenant_id, c.token_digest == token_digest)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()

    def latest(self, tenant_id: str, purpose: str) -> PasswordResetToken | None:
        c = schema.password_reset_tokens.c
        # Links of one purpose share a lifetime: the one that expires last was sent last.
        return self._session.scalars(
            select(PasswordResetToken)
            .where(c.tenant_id == tenant_id, c.purpose == purpose)
            .order_by(c.expires_at.desc(), c.id)
            .limit(1)
        ).first()


class SqlThrottle:
    """Each bucket is one row, counted by one conditional upsert: the database decides, so the
    limit holds whatever number of processes and threads take at once.

    The upsert locks the bucket's row until the unit of work ends, so a concurrent take of the
    same bucket waits for this one's outcome. Callers take several buckets in sorted order
    (domain.throttle.take_all), so two units of work never wait for each other in a circle.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def take(self, bucket: str, rule: ThrottleRule, now: datetime) -> bool:
        t = schema.throttle_counters
        insert = postgresql.insert if self._session.get_bind().dialect.name == "postgresql" else sqlite.insert
        fresh = insert(t).values(bucket=bucket, uses=1, window_started_at=now)
        closed = t.c.window_started_at <= now - rule.window
        statement = fresh.on_conflict_do_update(
            index_elements=[t.c.bucket],
            set_={
                "uses": case((closed, 1), else_=t.c.uses + 1),
                "window_started_at": case((closed, fresh.excluded.window_started_at), else_=t.c.window_started_at),
            },
            # A spent bucket in an open window is not updated, and then no row is returned.
            where=closed | (t.c.uses < rule.max_uses),
        ).returning(t.c.uses)
        return self._session.execute(statement).first() is not None

    def give_back(self, bucket: str) -> None:
        t = schema.throttle_counters
        self._session.execute(update(t).where(t.c.bucket == bucket, t.c.uses > 0).values(uses=t.c.uses - 1))

    def clear(self, bucket: str) -> None:
        t = schema.throttle_counters
        self._session.execute(delete(t).where(t.c.bucket == bucket))


class SqlScimTokenRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, token: ScimToken) -> None:
        self._session.add(token)

    def get(self, tenant_id: str, token_id: str) -> ScimToken | None:
        c = schema.scim_tokens.c
        return self._session.scalars(select(ScimToken).where(c.tenant_id == tenant_id, c.id == token_id)).first()

    def get_by_digest(self, tenant_id: str, token_digest: str) -> ScimToken | None:
        c = schema.scim_tokens.c
        return self._session.scalars(
            select(ScimToken).where(c.tenant_id == tenant_id, c.token_digest == token_digest)
        ).first()

    def list(self, tenant_id: str) -> list[ScimToken]:
        c = schema.scim_tokens.c
        return list(
            self._session.scalars(select(ScimToken).where(c.tenant_id == tenant_id).order_by(c.created_at.desc(), c.id))
        )
