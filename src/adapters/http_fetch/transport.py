"""One request and its complete answer, over a kept-alive connection when there is one.

Connections come from the pool (see ``pool``) or are made pinned to vetted addresses (see
``connection``); every blocking operation ends by the fetch's deadline (see ``deadline``). The
body is read within the size limit: a declared length above it is refused before reading, and
anything else is counted while reading. A connection goes back to the pool only when its answer
was read completely and the server did not ask to close it; one that failed in any way (the
deadline, the size limit, a broken answer) is closed.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from typing import NamedTuple

from adapters.http_fetch.address_policy import AddressPolicy
from adapters.http_fetch.connection import Origin, PinnedConnection
from adapters.http_fetch.deadline import Deadline
from adapters.http_fetch.pool import ConnectionPool

_CHUNK = 16 * 1024


class AnswerTooLarge(Exception):
    """The body is larger than the size limit (declared or counted while reading)."""


class AnswerCompressed(Exception):
    """The body is compressed although only ``identity`` was accepted: decoding it would let
    a small answer grow past the size limit, so it is refused."""


class Request(NamedTuple):
    method: str
    origin: Origin
    target: str  # path and query, quoted
    headers: Mapping[str, str]
    body: bytes | None = None


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]  # names lower-cased, repeated headers joined with ", "
    body: bytes


class Transport:
    """Exchanges requests under one address policy and size limit. Thread-safe: a connection
    serves one fetch at a time."""

    def __init__(self, addresses: AddressPolicy, max_bytes: int) -> None:
        self._addresses = addresses
        self._max_bytes = max_bytes
        self._pool: ConnectionPool[PinnedConnection] = ConnectionPool()

    def exchange(self, request: Request, deadline: Deadline) -> Answer:
        kept = self._pool.take(request.origin)
        if kept is not None:
            try:
                return self._over(kept, request, deadline)
            except (OSError, http.client.HTTPException) as exc:
                # The server may close an idle connection just as it is reused. Only a GET
                # that got nothing back is sent again: a POST is never repeated.
                if request.method != "GET" or not kept.received_nothing() or isinstance(exc, TimeoutError):
                    raise
        fresh = PinnedConnection(request.origin, self._addresses, deadline)
        fresh.connect()
        return self._over(fresh, request, deadline)

    def _over(self, connection: PinnedConnection, request: Request, deadline: Deadline) -> Answer:
        """``request`` on ``connection``, which is then kept for reuse or closed."""
        connection.use(deadline)
        response: http.client.HTTPResponse | None = None
        try:
            connection.request(request.method, request.target, request.body, request.headers)
            response = connection.getresponse()
            headers = _headers(response)
            answer = Answer(response.status, headers, self._body(response, headers))
        except BaseException:
            _discard(connection, response)
            raise
        if _reusable(response, headers):
            self._pool.give_back(connection)
        else:
            _discard(connection, response)
        return answer

    def _body(self, response: http.client.HTTPResponse, headers: Mapping[str, str]) -> bytes:
        if headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
            raise AnswerCompressed()
        if response.length is not None:  # declared (and not chunked): refuse before reading
            if response.length > self._max_bytes:
                raise AnswerTooLarge()
            return response.read()
        body = bytearray()
        while chunk := response.read(min(_CHUNK, self._max_bytes + 1 - len(body))):
            body += chunk
            if len(body) > self._max_bytes:
                raise AnswerTooLarge()
        return bytes(body)


def _headers(response: http.client.HTTPResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _discard(connection: PinnedConnection, response: http.client.HTTPResponse | None) -> None:
    # Both: after "Connection: close" http.client has let go of the response, which still
    # holds the socket open.
    if response is not None:
        response.close()
    connection.close()


def _reusable(response: http.client.HTTPResponse, headers: Mapping[str, str]) -> bool:
    """Read to its end, no ``Connection: close``, and framed without doubt: two lengths (joined
    in ``headers``) could leave part of this answer to be read as the next one."""
    length = headers.get("content-length")
    return (
        response.isclosed()
        and not response.will_close
        and (length is None or ("," not in length and not response.chunked))
    )
