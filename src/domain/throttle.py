"""Limits on how often something may happen: the rule, the port that counts it, taking several
limits at once, and what a limit per client address counts."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from domain.identifiers import digest
from domain.text import is_storable

# An IPv6 client is given a whole /64 (a home, an office, a server) and may send each request
# from another of its 2**64 addresses: a limit per client address counts the /64.
CLIENT_IPV6_PREFIX = 64


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


def client_network(client_address: str | None) -> str:
    """What a limit per client address counts for ``client_address`` (REMOTE_ADDR): an IPv4 address
    itself (also written as IPv6, ``::ffff:192.0.2.1``), an IPv6 address its /64, zone id ignored.
    Anything else the server reports (none, a proxy's odd value) counts as that text, a digest when
    long or not storable (a NUL, which PostgreSQL refuses), so a bucket's key keeps its size and stores."""
    text = (client_address or "").strip()
    try:
        address = ipaddress.ip_address(text.removeprefix("[").removesuffix("]").partition("%")[0])
    except ValueError:
        if not text:
            return "unknown"
        return text if len(text) <= 64 and is_storable(text) else digest(text)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, CLIENT_IPV6_PREFIX), strict=False))
    return str(address)
