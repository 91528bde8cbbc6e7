"""Periodic clean-ups, run by the `worker` command: rows that no request will read again, and
audit events older than their practice keeps them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adapters.db import schema
from adapters.db.purge import delete_unlocked
from adapters.db.web_sessions import SqlLogoutTokenReplays, SqlWebSessionStore
from domain.ports import Clock

# A one-time password a day past its expiry is gone; until then a late try still hears
# "this code has expired" rather than "no code was sent". Used ones expire like the others.
# A logout token's jti is kept as long past its expiry: a request that read its clock before the
# expiry (then checked the signature, perhaps fetching keys) still accepts the token when it records
# the jti, and must find it there.
EXPIRED_GRACE = timedelta(days=1)
# Longer than the window of every ThrottleRule: a counter whose window opened this long ago
# counts nothing any more (its next use starts a new window), so forgetting it changes nothing.
THROTTLE_RETENTION = timedelta(days=1)
# Audit events go this many at a time, each batch in a transaction of its own: a practice's first
# clean-up after shortening its retention never holds one long delete.
AUDIT_BATCH = 1000


class Housekeeping:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def run(self) -> dict[str, int]:
        """Deletes what has expired; returns how many rows of each kind went."""
        now = self._clock.now()
        gone = now - EXPIRED_GRACE
        challenges, reset_tokens = schema.link_challenges, schema.password_reset_tokens
        counters = schema.throttle_counters
        with Session(self._engine) as session, session.begin():
            removed = {
                "expired sessions": SqlWebSessionStore(session).delete_expired(now),
                "expired logout token ids": SqlLogoutTokenReplays(session).delete_expired(gone),
                "expired one-time passwords": delete_unlocked(
                    session, challenges, challenges.c.id, challenges.c.expires_at < gone
                ),
                "expired password links": delete_unlocked(
                    session, reset_tokens, reset_tokens.c.id, reset_tokens.c.expires_at < gone
                ),
                "stale throttle counters": delete_unlocked(
                    session, counters, counters.c.bucket, counters.c.window_started_at < now - THROTTLE_RETENTION
                ),
            }
        return {**removed, "audit events past retention": self._expire_audit_events(now)}

    def _expire_audit_events(self, now: datetime) -> int:
        """Each practice's events older than its ``audit_retention_days``."""
        with Session(self._engine) as session:
            tenant_ids = session.scalars(select(schema.tenants.c.id)).all()
        return sum(self._expire_older(tenant_id, now) for tenant_id in tenant_ids)

    def _expire_older(self, tenant_id: str, now: datetime) -> int:
        events, t = schema.audit_events, schema.tenants.c
        c = events.c
        removed = 0
        while True:
            with Session(self._engine) as session, session.begin():
                # Each batch reads the retention as committed now, and holds it (FOR SHARE) until
                # the batch is gone: a longer one saved meanwhile stops the clean-up at once. While
                # a change is in flight (the row locked), the practice waits for the next run.
                days = session.scalar(
                    select(t.audit_retention_days).where(t.id == tenant_id).with_for_update(read=True, skip_locked=True)
                )
                if days is None:
                    return removed
                # A batch read by the (tenant_id, at, id) index; delete_unlocked skips what another
                # transaction holds rather than wait for it (it goes at the next run).
                cutoff = now - timedelta(days=days)
                batch = select(c.id).where(c.tenant_id == tenant_id, c.at < cutoff).limit(AUDIT_BATCH)
                gone = delete_unlocked(session, events, c.id, c.id.in_(batch))
            removed += gone
            if gone < AUDIT_BATCH:
                return removed
