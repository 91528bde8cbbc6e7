"""Idle keep-alive connections, kept for the next fetch to the same origin.

A connection is in the pool only while no fetch uses it: taking one removes it, and a fetch
gives it back only after reading its answer completely. The pool is bounded per origin and in
total (the least recently used origin loses its oldest connection first); a connection idle
longer than ``idle_seconds``, or one the server has closed, is never handed out.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import Any, Generic, Protocol, TypeVar


class Reusable(Protocol):
    @property
    def origin(self) -> Hashable: ...

    def is_dropped(self) -> bool: ...

    def close(self) -> None: ...


C = TypeVar("C", bound=Reusable)
_Idle = deque[tuple[float, C]]  # (idle since, connection), oldest first


class ConnectionPool(Generic[C]):
    """Thread-safe; in a child process after a fork it starts empty: a connection must never be
    shared by two processes."""

    def __init__(self, per_origin: int = 4, total: int = 32, idle_seconds: float = 30.0) -> None:
        self._per_origin = per_origin
        self._total = total
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._idle: OrderedDict[Hashable, _Idle[C]] = OrderedDict()  # least recently given back first
        self._count = 0
        # Idle sockets are closed when the pool goes, not left to the garbage collector.
        weakref.finalize(self, _close_all, self._idle)
        _pools.add(self)

    def take(self, origin: Hashable) -> C | None:
        """An idle, still open connection to ``origin`` (the most recently used), or None."""
        stale: list[C] = []
        found: C | None = None
        now = time.monotonic()
        with self._lock:
            idle = self._idle.get(origin)
            while idle and found is None:
                since, connection = idle.pop()
                if now - since < self._idle_seconds and not connection.is_dropped():
                    found = connection
                else:
                    stale.append(connection)
            if idle is not None and not idle:
                del self._idle[origin]
            self._count -= len(stale) + (found is not None)
        _close(stale)
        return found

    def give_back(self, connection: C) -> None:
        """Keep ``connection`` (its answer read completely, open) for a later fetch."""
        now = time.monotonic()
        with self._lock:
            idle = self._idle.setdefault(connection.origin, deque())
            self._idle.move_to_end(connection.origin)
            idle.append((now, connection))
            self._count += 1
            doomed = [idle.popleft()[1]] if len(idle) > self._per_origin else []
            self._count -= len(doomed)
            doomed += self._evict(now)
        _close(doomed)

    def idle_count(self) -> int:
        with self._lock:
            return self._count

    def _evict(self, now: float) -> list[C]:
        """Expired connections and those over the total, least recently used origins first."""
        doomed: list[C] = []
        while self._idle:
            origin, idle = next(iter(self._idle.items()))
            while idle and (self._count > self._total or now - idle[0][0] >= self._idle_seconds):
                doomed.append(idle.popleft()[1])
                self._count -= 1
            if idle:
                break
            del self._idle[origin]
        return doomed

    def _forget_after_fork(self) -> None:
        # Runs in the child, where only the forking thread exists: the inherited lock may be
        # held by a thread that is not there. Closing only closes the child's copies of the
        # descriptors; the parent's connections stay open.
        self._lock = threading.Lock()
        _close_all(self._idle)
        self._count = 0


_pools: weakref.WeakSet[ConnectionPool[Any]] = weakref.WeakSet()


def _forget_all_after_fork() -> None:
    for pool in list(_pools):
        pool._forget_after_fork()


os.register_at_fork(after_in_child=_forget_all_after_fork)


def _close(connections: list[C]) -> None:
    for connection in connections:
        connection.close()


def _close_all(idle: OrderedDict[Hashable, _Idle[C]]) -> None:
    for connections in idle.values():
        _close([connection for _, connection in connections])
    idle.clear()
