"""The pinned transport: connections only to addresses the address policy has just vetted.

A check before the request is not enough: the HTTP library would resolve the host name again
when connecting, and a DNS answer that changes in between (rebinding) would slip through. Here
urllib3 never resolves a name itself: every new connection asks the :class:`AddressPolicy`
for the addresses of its host and connects to exactly those, so what is checked is what is
connected to. TLS still uses the host *name* for SNI and certificate checks (urllib3 takes
``server_hostname`` from ``self.host``, not from the socket).

The transport also bounds each call: one wall-clock deadline for the whole exchange
(connect, headers, a slow drip of body bytes, redirect hops) and a size limit on the body.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from adapters.http_fetch.address_policy import AddressPolicy, Refusal

_CHUNK = 16 * 1024


class AnswerTooLarge(Exception):
    """The body is larger than the size limit (declared or counted while reading)."""


class DeadlinePassed(Exception):
    """The call's deadline passed while the body was still arriving."""


class Call:
    """One get()/post(), redirects included: the policy its connections obey, its deadline,
    and a watchdog that cuts the connection when the deadline passes. Socket timeouts alone
    only bound each single read, so a server could keep a worker busy for ever by sending a
    byte every few seconds."""

    def __init__(self, addresses: AddressPolicy, timeout: float) -> None:
        self.addresses = addresses
        self.deadline = time.monotonic() + timeout
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    @contextlib.contextmanager
    def connecting(self) -> Iterator[None]:
        """Within this block, pinned connections are made for this call. The connection
        objects are created deep inside urllib3, so the call reaches them through a context
        variable rather than through arguments."""
        token = _current_call.set(self)
        try:
            yield
        finally:
            _current_call.reset(token)

    def track(self, sock: socket.socket) -> None:
        # A duplicate descriptor of the same socket: TLS wrapping detaches the original object,
        # but shutdown() acts on the socket itself, so the duplicate can still cut it.
        duplicate = sock.dup()
        with self._lock:
            self._sockets.append(duplicate)
            if self.expired:
                _shutdown(duplicate)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


_current_call: ContextVar[Call | None] = ContextVar("guarded_fetch_call", default=None)


def pinned_session() -> requests.Session:
    """A session whose connections are all pinned, and that takes nothing from the
    environment: no proxies, no ``.netrc`` credentials."""
    session = requests.Session()
    session.trust_env = False
    adapter = _PinnedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def read_body(call: Call, response: requests.Response, max_bytes: int) -> bytes:
    """The whole body of a streamed ``response``, or :class:`AnswerTooLarge` as soon as it is
    known to exceed ``max_bytes``, or :class:`DeadlinePassed` when the call runs out of time."""
    declared = response.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > max_bytes:
        raise AnswerTooLarge()
    body = bytearray()
    for chunk in response.iter_content(chunk_size=_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise AnswerTooLarge()
        if call.expired or call.remaining() <= 0:
            raise DeadlinePassed()
    return bytes(body)


class _PinnedConnectionMixin:
    """Replaces urllib3's ``_new_conn``: ask the call's address policy for the addresses of
    the host (a :class:`Refusal` if any is not allowed), then connect to exactly those."""

    host: str
    port: int
    timeout: Any
    source_address: tuple[str, int] | None
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        call = _current_call.get()
        if call is None:
            raise Refusal("connections are only made by a guarded fetch")
        failure: Exception | None = None
        for address in call.addresses.addresses_to_connect(self.host):
            remaining = call.remaining()
            if remaining <= 0:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.")
            try:
                sock = self._connect(address, remaining)
            except (ConnectTimeoutError, NewConnectionError) as exc:
                failure = exc  # the next address may answer
                continue
            call.track(sock)
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        assert failure is not None  # addresses_to_connect never returns an empty list
        raise failure

    def _connect(self, address: str, remaining: float) -> socket.socket:
        """One connection attempt, with urllib3's errors for a timeout or a refusal."""
        timeout = remaining
        if isinstance(self.timeout, (int, float)):
            timeout = min(float(self.timeout), remaining)
        try:
            return urllib3_connection.create_connection(
                (address, self.port),
                timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
        except OSError as exc:
            raise NewConnectionError(
                self,  # type: ignore[arg-type]  # a mixin, but always an HTTPConnection
                f"Failed to establish a new connection: {exc}",
            ) from exc


class _PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class _PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedAdapter(HTTPAdapter):
    """A requests adapter whose pools make only pinned connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PinnedHTTPConnectionPool,
            "https": _PinnedHTTPSConnectionPool,
        }


def _shutdown(sock: socket.socket) -> None:
    # Already closed by the other side or by us: nothing left to stop.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
