"""One wall-clock deadline per fetch, enforced on every blocking socket operation.

A socket timeout bounds one ``recv`` or ``send``, not the exchange: a server that sends a byte
every second never trips it. Here each blocking operation first sets the socket's timeout to the
time left until the deadline, and none starts once the deadline has passed, so the whole fetch
(connect, TLS handshake, request, headers, body, every redirect hop) ends by its deadline
without a watchdog thread.
"""

from __future__ import annotations

import io
import math
import select
import socket
import ssl
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer


class DeadlinePassed(Exception):
    """The fetch's deadline passed before its exchange was complete."""


class Deadline:
    """The moment a fetch must be over by."""

    __slots__ = ("_end",)

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds until the deadline; :class:`DeadlinePassed` when there are none."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise DeadlinePassed()
        return left

    def wait_for(self, sock: socket.socket, events: int) -> None:
        """Block until ``sock`` is ready for ``events`` (``select.POLLIN``/``POLLOUT``), at the
        latest until the deadline."""
        poller = select.poll()
        poller.register(sock, events)
        if not poller.poll(math.ceil(self.left() * 1000)):
            raise DeadlinePassed()


class TimedSocket:
    """A connected socket (plain or TLS) whose every send and receive ends by the ``deadline``
    of the fetch using it. http.client takes it for its socket: it sends with ``sendall`` and
    reads through ``makefile``; like a socket, it really closes once it and the reader handed
    out are closed (http.client may close the connection before the answer is read)."""

    __slots__ = ("_sock", "deadline", "received", "_readers", "_closed")

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._sock = sock
        self.deadline = deadline
        self.received = 0  # bytes received since the current fetch started using it
        self._readers = 0
        self._closed = False

    def sendall(self, data: ReadableBuffer) -> None:
        view = memoryview(data)
        while view:
            self._sock.settimeout(self.deadline.left())
            view = view[self._sock.send(view) :]

    def recv_into(self, buffer: WriteableBuffer) -> int:
        self._sock.settimeout(self.deadline.left())
        received = self._sock.recv_into(buffer)
        self.received += received
        return received

    def makefile(self, mode: str) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_Reader(self))

    def is_dropped(self) -> bool:
        """Whether an idle connection is unusable: the peer closed it, or sent something that
        was not asked for (a readable idle socket is either)."""
        if isinstance(self._sock, ssl.SSLSocket) and self._sock.pending():
            return True
        poller = select.poll()
        poller.register(self._sock, select.POLLIN)
        return bool(poller.poll(0))

    def close(self) -> None:
        self._closed = True
        self._release()

    def reader_closed(self) -> None:
        self._readers -= 1
        self._release()

    def _release(self) -> None:
        if self._closed and self._readers <= 0:
            self._sock.close()


class _Reader(io.RawIOBase):
    """The raw stream http.client's buffered reader reads an answer from."""

    def __init__(self, sock: TimedSocket) -> None:
        super().__init__()
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        return self._sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._sock.reader_closed()
