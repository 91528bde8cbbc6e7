"""The bounds of the keep-alive pool (adapters.http_fetch.pool), with stand-in connections."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from adapters.http_fetch.pool import ConnectionPool


@dataclass(eq=False)
class Stub:
    origin: str
    dropped: bool = False
    closed: bool = False

    def is_dropped(self) -> bool:
        return self.dropped

    def close(self) -> None:
        self.closed = True


def test_the_most_recently_returned_connection_of_the_origin_is_taken() -> None:
    pool: ConnectionPool[Stub] = ConnectionPool()
    first, second = Stub("a"), Stub("a")
    pool.give_back(first)
    pool.give_back(second)
    assert pool.take("a") is second
    assert pool.take("a") is first
    assert pool.take("a") is None
    assert pool.take("b") is None


def test_each_origin_keeps_at_most_its_share_and_closes_the_oldest() -> None:
    pool: ConnectionPool[Stub] = ConnectionPool(per_origin=2, total=10)
    stubs = [Stub("a") for _ in range(3)]
    for stub in stubs:
        pool.give_back(stub)
    assert [s.closed for s in stubs] == [True, False, False]
    assert pool.idle_count() == 2


def test_over_the_total_the_least_recently_used_origin_goes_first() -> None:
    pool: ConnectionPool[Stub] = ConnectionPool(per_origin=2, total=3)
    a, b, c = Stub("a"), Stub("b"), Stub("c")
    pool.give_back(a)
    pool.give_back(b)
    pool.give_back(c)
    pool.give_back(a2 := Stub("a"))  # "a" is now the most recently used origin
    assert (a.closed, b.closed, c.closed, a2.closed) == (False, True, False, False)
    assert pool.idle_count() == 3
    assert pool.take("b") is None


def test_a_connection_idle_too_long_or_dropped_is_closed_not_handed_out() -> None:
    pool: ConnectionPool[Stub] = ConnectionPool(idle_seconds=0.05)
    old = Stub("a")
    pool.give_back(old)
    time.sleep(0.06)
    dropped = Stub("a", dropped=True)
    pool.give_back(dropped)  # also lets go of what expired meanwhile
    assert old.closed
    assert pool.take("a") is None
    assert dropped.closed
    assert pool.idle_count() == 0


def test_a_forked_child_starts_with_an_empty_pool() -> None:
    pool: ConnectionPool[Stub] = ConnectionPool()
    pool.give_back(Stub("a"))
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os._exit(0 if pool.take("a") is None and pool.idle_count() == 0 else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert pool.idle_count() == 1  # the parent's stays
