"""Limits on how often something may happen: the rule, the port that counts it, and taking
several limits at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class ThrottleRule:
    """At most ``max_uses`` uses of a bucket per window. A window opens at the first use after
    the previous one closed, so a spent bucket opens again ``window`` after that first use."""

    max_uses: int
    window: timedelta

    @property
    def minutes(self) -> int:
        return int(self.window.total_seconds() // 60)

    def window_closed(self, opened_at: datetime, now: datetime) -> bool:
        return now >= opened_at + self.window


class Throttle(Protocol):
    """Counts uses per bucket (an account, a client address) in the windows of a ThrottleRule.

    A unit of work takes (or clears) its buckets before it writes anything else, several of
    them in sorted order (domain.throttle.take_all), so units of work that wait for one another's
    buckets never wait in a circle.
    """

    def take(self, bucket: str, rule: ThrottleRule, now: datetime) -> bool:
        """Counts one use, unless the bucket's window already holds ``rule.max_uses``: then False.

        Atomic: of any number of concurrent calls, at most ``rule.max_uses`` succeed per window.
        The use belongs to the unit of work (undone if it aborts); until it ends, concurrent
        takes of the same bucket wait for it.
        """

    def give_back(self, bucket: str) -> None:
        """Uncounts one use taken in this unit of work (the attempt turned out to be fine)."""

    def clear(self, bucket: str) -> None:
        """Forgets every use of the bucket."""


def take_all(throttle: Throttle, rules: Mapping[str, ThrottleRule], now: datetime) -> ThrottleRule | None:
    """Counts one use of every bucket, or of none: returns the rule of a spent bucket, else None.

    Buckets are taken in sorted order: two requests that need the same buckets then queue on
    the same first row, instead of each holding a row the other waits for (a deadlock).
    """
    taken: list[str] = []
    for bucket in sorted(rules):
        if not throttle.take(bucket, rules[bucket], now):
            for earlier in taken:
                throttle.give_back(earlier)
            return rules[bucket]
        taken.append(bucket)
    return None
