"""A connection that reaches only addresses the address policy has just vetted.

A check before the request is not enough: connecting by name would resolve it again, and a DNS
answer that changes in between (rebinding) would slip through. Here a new connection asks the
:class:`AddressPolicy` for the addresses of its host at that moment and connects to exactly
those, so what is checked is what is connected to. TLS still uses the host *name* for SNI and
the certificate check, with the default verified context. Nothing comes from the environment:
no proxies, no ``.netrc``.
"""

from __future__ import annotations

import functools
import http.client
import select
import socket
import ssl
import sys
from typing import NamedTuple

from adapters.http_fetch.address_policy import AddressPolicy
from adapters.http_fetch.deadline import Deadline, TimedSocket

DEFAULT_PORTS = {"http": 80, "https": 443}


class HandshakeFailed(Exception):
    """The TLS handshake failed; the ``ssl`` error is its cause."""


class Origin(NamedTuple):
    """Where a connection goes: connections are reused only within one origin."""

    scheme: str  # "http" or "https"
    host: str  # lower case, ASCII (IDNA), no brackets, no trailing dot
    port: int


class PinnedConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection to one origin; every blocking operation ends by the deadline of
    the fetch that uses it (:meth:`use`)."""

    def __init__(self, origin: Origin, addresses: AddressPolicy, deadline: Deadline) -> None:
        super().__init__(origin.host, origin.port)
        self.default_port = DEFAULT_PORTS[origin.scheme]  # the Host header names other ports only
        self.origin = origin
        self._addresses = addresses
        self._deadline = deadline
        self._timed: TimedSocket | None = None

    def use(self, deadline: Deadline) -> None:
        """From now on, operations end by ``deadline``; forgets what the last fetch received."""
        self._deadline = deadline
        if self._timed is not None:
            self._timed.deadline = deadline
            self._timed.received = 0

    def received_nothing(self) -> bool:
        """Whether not one byte has arrived since :meth:`use`."""
        return self._timed is None or self._timed.received == 0

    def is_dropped(self) -> bool:
        """Whether this idle connection can no longer be used (see TimedSocket.is_dropped)."""
        return self.sock is None or self._timed is None or self._timed.is_dropped()

    def connect(self) -> None:
        """Connect to the vetted addresses of the host (a Refusal if any is not allowed)."""
        sys.audit("http.client.connect", self, self.host, self.port)
        sock = self._pinned_socket()
        if self.origin.scheme == "https":
            sock = _tls(sock, self.host, self._deadline)
        self._timed = TimedSocket(sock, self._deadline)
        self.sock = self._timed  # http.client uses only sendall, makefile and close

    def _pinned_socket(self) -> socket.socket:
        failure: OSError | None = None
        for address in self._addresses.addresses_to_connect(self.host):
            try:
                sock = socket.create_connection((address, self.port), timeout=self._deadline.left())
            except OSError as exc:
                failure = exc  # the next address may answer
                continue
            # Headers and body go in separate writes: do not let Nagle hold the second back.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        assert failure is not None  # addresses_to_connect never returns an empty list
        raise failure


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The default verified client context (certificate chain and host name checked); loading
    the CA store is slow, so it is made once per process."""
    return ssl.create_default_context()


def _tls(sock: socket.socket, host: str, deadline: Deadline) -> ssl.SSLSocket:
    """``sock`` after a TLS handshake for ``host`` (:class:`HandshakeFailed` if it fails)."""
    try:
        tls = tls_context().wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    except BaseException:
        sock.close()
        raise
    try:
        _handshake(tls, deadline)
    except BaseException as exc:
        tls.close()
        if isinstance(exc, ssl.SSLError):
            raise HandshakeFailed() from exc
        raise
    return tls


def _handshake(tls: ssl.SSLSocket, deadline: Deadline) -> None:
    """Non-blocking, waiting for each step within the deadline: a blocking handshake would
    wait up to its whole timeout for each of its steps."""
    tls.settimeout(0.0)
    while True:
        try:
            tls.do_handshake()
            return
        except ssl.SSLWantReadError:
            deadline.wait_for(tls, select.POLLIN)
        except ssl.SSLWantWriteError:
            deadline.wait_for(tls, select.POLLOUT)
