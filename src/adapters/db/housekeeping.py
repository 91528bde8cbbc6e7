"""Periodic clean-ups, run by the `worker` command: rows that no request will read again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.db import schema
from adapters.db.purge import delete_unlocked
from adapters.db.web_sessions import SqlWebSessionStore
from domain.ports import Clock

# A one-time password a day past its expiry is gone; until then a late try still hears
# "this code has expired" rather than "no code was sent". Used ones expire like the others.
EXPIRED_GRACE = timedelta(days=1)
# Longer than the window of every ThrottleRule: a counter whose window opened this long ago
# counts nothing any more (its next use starts a new window), so forgetting it changes nothing.
THROTTLE_RETENTION = timedelta(days=1)


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
            return {
                "expired sessions": SqlWebSessionStore(session).delete_expired(now),
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
