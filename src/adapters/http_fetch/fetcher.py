"""GuardedFetcher: the one place where URLs that tenant admins typed in are fetched.

The server fetches an admin's discovery document, JWKS, token endpoint and userinfo. The
fetcher:

- checks every URL against the :class:`AddressPolicy` before the request, and again on every
  redirect hop (a new connection is checked once more when it connects);
- keeps no cookies, and credentials go only to the origin the caller named, never to another
  one a redirect names; what it keeps between calls is idle connections, per origin;
- follows redirects for GET only, up to a limit: a POST carries client credentials;
- turns library errors into :class:`FetchFailed` with a message an admin understands and that
  never quotes request headers or bodies, and refusals into the domain's ``UnsafeUrl``.
"""

from __future__ import annotations

import http.client
import json
import re
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

from adapters.http_fetch.address_policy import AddressPolicy, Refusal, Resolver
from adapters.http_fetch.connection import DEFAULT_PORTS, HandshakeFailed, Origin
from adapters.http_fetch.deadline import Deadline, DeadlinePassed
from adapters.http_fetch.transport import Answer, AnswerCompressed, AnswerTooLarge, Request, Transport
from domain.errors import N_, UnsafeUrl

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers that carry credentials: they go to the origin the caller named, never to another
# origin a redirect points at.
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_DEFAULT_HEADERS = {
    "User-Agent": "practice-portal",
    "Accept": "*/*",
    "Accept-Encoding": "identity",  # compressed answers would dodge the size limit
}
_FORM = "application/x-www-form-urlencoded"
# RFC 9110 field names, and values of visible Latin-1 characters, spaces and tabs: a line break
# in a value would start a header of its own.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
# Characters left as they are when a URL is re-quoted; others (spaces, non-ASCII) get escaped.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
# What an exchange raises when no usable answer arrives: refusals and limits of our own, and
# the errors of the connections and the HTTP library.
_EXCHANGE_ERRORS = (
    Refusal,
    AnswerTooLarge,
    AnswerCompressed,
    DeadlinePassed,
    HandshakeFailed,
    http.client.HTTPException,
    OSError,
)


@dataclass(frozen=True)
class FetchPolicy:
    """What the operator allows; built from the settings (``sso.allowed_private_hosts``)."""

    allowed_private_hosts: frozenset[str] = frozenset()
    development: bool = False
    timeout: float = 10.0
    max_bytes: int = 1_048_576
    max_redirects: int = 3


class FetchFailed(Exception):
    """The URL was allowed but no usable answer came back. ``message`` is for the admin."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FetchResponse:
    """A complete answer: the body has been read, within the limits."""

    status: int
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    url: str  # the URL that answered, after redirects

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def require_ok(self, what: str) -> FetchResponse:
        """Return self when the status is 2xx; otherwise fail with "<what> answered HTTP <n>"."""
        if not self.ok:
            raise FetchFailed(N_("%(what)s answered HTTP %(status)s", what=what, status=self.status))
        return self

    def json(self) -> dict[str, Any] | list[Any]:
        """The body as a JSON object or array; anything else is a :class:`FetchFailed`."""
        try:
            value = json.loads(self.body)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
            raise FetchFailed(N_("the answer is not valid JSON")) from exc
        if not isinstance(value, (dict, list)):
            raise FetchFailed(N_("the answer is not valid JSON"))
        return value


class GuardedFetcher:
    """Fetches admin-entered URLs under a :class:`FetchPolicy`. Thread-safe; it keeps idle
    connections for reuse (see ``transport``), nothing else."""

    def __init__(self, policy: FetchPolicy, *, resolve: Resolver | None = None) -> None:
        """``resolve`` maps a host name to IP address strings; it defaults to the system
        resolver and exists so tests can stage DNS."""
        self.policy = policy
        self._addresses = AddressPolicy(policy.allowed_private_hosts, development=policy.development, resolve=resolve)
        self._transport = Transport(self._addresses, policy.max_bytes)

    def check(self, url: str) -> None:
        """The domain port ``UrlSafety``, so that an admin's form is refused with the same
        reasons as a fetch: raise :class:`~domain.errors.UnsafeUrl` unless ``url`` may be
        fetched."""
        self._addresses.check(url)

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> FetchResponse:
        """GET ``url``, following up to ``max_redirects`` redirects, each one checked.

        Raises :class:`UnsafeUrl` when the URL or a redirect target is refused, and
        :class:`FetchFailed` when no usable answer arrives. Non-2xx answers are returned.
        """
        return self._fetch("GET", url, None, headers)

    def post(self, url: str, data: Mapping[str, str], headers: Mapping[str, str] | None = None) -> FetchResponse:
        """POST ``data`` form-encoded to ``url``. A redirect answer is returned, not followed:
        re-sending a body (with client credentials in it) somewhere else is never wanted."""
        return self._fetch("POST", url, urlencode(data).encode("ascii"), headers)

    def _fetch(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> FetchResponse:
        self.check(url)
        request_headers = _request_headers(headers, form=body is not None)
        deadline = Deadline(self.policy.timeout)
        current = url
        redirects = 0
        while True:
            response = self._exchange(
                deadline, current, Request(method, _origin(current), _target(current), request_headers, body)
            )
            location = response.headers.get("location")
            if method != "GET" or response.status not in _REDIRECT_STATUSES or not location:
                return FetchResponse(response.status, response.headers, response.body, current)
            if redirects >= self.policy.max_redirects:
                raise FetchFailed(N_("too many redirects"))
            redirects += 1
            target = self._redirect_target(current, location)
            if _origin(target) != _origin(current):
                request_headers = {k: v for k, v in request_headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
            current = target

    def _exchange(self, deadline: Deadline, url: str, request: Request) -> Answer:
        try:
            return self._transport.exchange(request, deadline)
        except _EXCHANGE_ERRORS as exc:
            failure, cause = self._translated(exc, url)
            raise failure from cause

    def _redirect_target(self, current: str, location: str) -> str:
        """Where a redirect from ``current`` leads, or UnsafeUrl when it may not be fetched."""
        target = urljoin(current, _requoted(location.strip()))
        try:
            self.check(target)
        except UnsafeUrl as refused:
            raise UnsafeUrl(refused.url, N_("%(reason)s (reached by a redirect)", reason=refused.reason)) from None
        return target

    def _translated(self, exc: Exception, url: str) -> tuple[Exception, BaseException | None]:
        """The one FetchFailed (or UnsafeUrl) the caller handles for a failed exchange, and the
        library error to chain it to (None when ours says all there is)."""
        if isinstance(exc, Refusal):  # the name resolved differently when connecting than when checked
            return exc.unsafe(url, N_("%(reason)s (noticed when connecting)", reason=exc.reason)), None
        if isinstance(exc, AnswerTooLarge):
            return FetchFailed(N_("the answer is larger than %(size)s", size=_size(self.policy.max_bytes))), None
        if isinstance(exc, AnswerCompressed):
            return FetchFailed(N_("the answer is compressed, though it was asked for uncompressed")), None
        if isinstance(exc, DeadlinePassed):
            return FetchFailed(self._timeout_message()), None
        if isinstance(exc, HandshakeFailed):
            return FetchFailed(N_("could not connect: %(reason)s", reason=_tls_reason(exc))), exc
        return self._failure(exc), exc

    def _failure(self, exc: BaseException) -> FetchFailed:
        # Never str(exc): library messages may quote what was sent.
        if any(isinstance(e, TimeoutError) for e in _causes(exc)):
            return FetchFailed(self._timeout_message())
        if isinstance(exc, (http.client.IncompleteRead, ssl.SSLError)):
            return FetchFailed(N_("could not connect: the connection broke off during the answer"))
        if isinstance(exc, http.client.InvalidURL):
            return FetchFailed(N_("could not connect: the address is not valid"))
        return FetchFailed(N_("could not connect: %(reason)s", reason=_connection_reason(exc)))

    def _timeout_message(self) -> str:
        return N_("no answer within %(seconds)s s", seconds=f"{self.policy.timeout:g}")


def _request_headers(headers: Mapping[str, str] | None, *, form: bool) -> dict[str, str]:
    """The defaults, overridden by the caller's headers (names compared case-insensitively)."""
    chosen = {name.lower(): (name, value) for name, value in _DEFAULT_HEADERS.items()}
    if form:
        chosen["content-type"] = ("Content-Type", _FORM)
    for name, value in (headers or {}).items():
        if not _HEADER_NAME.fullmatch(name) or not _HEADER_VALUE.fullmatch(value):
            raise FetchFailed(N_("the request could not be sent: a header is not valid"))
        chosen[name.lower()] = (name, value)
    return dict(chosen.values())


def _origin(url: str) -> Origin:
    """Scheme, host and port of an already checked ``url``, the host as it is connected to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    return Origin(scheme, host, DEFAULT_PORTS[scheme] if parts.port is None else parts.port)


def _target(url: str) -> str:
    """The request target: path and query, re-quoted (a URL may hold spaces-free non-ASCII)."""
    parts = urlsplit(url)
    target = _requoted(parts.path) or "/"
    return f"{target}?{_requoted(parts.query)}" if parts.query else target


def _requoted(text: str) -> str:
    return quote(text, safe=_URL_SAFE)


def _size(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10} KiB"
    return f"{n} bytes"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or during."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _tls_reason(exc: BaseException) -> str:
    for e in _causes(exc):
        if isinstance(e, ssl.SSLCertVerificationError) and e.verify_message:
            return N_("the TLS certificate was not accepted (%(detail)s)", detail=e.verify_message)
    return N_("the TLS handshake failed")


def _connection_reason(exc: BaseException) -> str:
    for e in _causes(exc):
        if isinstance(e, http.client.RemoteDisconnected):
            return N_("the server closed the connection without answering")
        if isinstance(e, OSError) and e.strerror:
            return e.strerror[:1].lower() + e.strerror[1:]
    return N_("the connection failed")
