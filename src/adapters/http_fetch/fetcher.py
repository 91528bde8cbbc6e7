"""GuardedFetcher: the one place where URLs that tenant admins typed in are fetched.

The server fetches an admin's discovery document, JWKS, token endpoint and userinfo. The
fetcher:

- checks every URL against the :class:`AddressPolicy` before the request, and again on every
  redirect hop (the pinned transport checks once more when it connects);
- keeps nothing between calls or hops: a fresh session per hop, so no cookie is ever replayed;
  credentials go only to the origin the caller named, never to another one a redirect names;
- follows redirects for GET only, up to a limit: a POST carries client credentials;
- turns library errors into :class:`FetchFailed` with a message an admin understands and that
  never quotes request headers or bodies, and refusals into the domain's ``UnsafeUrl``.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri
from urllib3.exceptions import NameResolutionError, NewConnectionError

from adapters.http_fetch.address_policy import AddressPolicy, Refusal, Resolver
from adapters.http_fetch.transport import (
    AnswerTooLarge,
    Call,
    DeadlinePassed,
    pinned_session,
    read_body,
)
from domain.errors import UnsafeUrl

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers that carry credentials: they go to the origin the caller named, never to another
# origin a redirect points at.
_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")
# What the transport and the HTTP library raise when no usable answer arrives.
_LIBRARY_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
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
    """A complete answer: the body has been read (within the limits) and the connection closed."""

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
            raise FetchFailed(f"{what} answered HTTP {self.status}")
        return self

    def json(self) -> dict[str, Any] | list[Any]:
        """The body as a JSON object or array; anything else is a :class:`FetchFailed`."""
        try:
            value = json.loads(self.body)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
            raise FetchFailed("the answer is not valid JSON") from exc
        if not isinstance(value, (dict, list)):
            raise FetchFailed("the answer is not valid JSON")
        return value


class GuardedFetcher:
    """Fetches admin-entered URLs under a :class:`FetchPolicy`. Stateless and thread-safe."""

    def __init__(self, policy: FetchPolicy, *, resolve: Resolver | None = None) -> None:
        """``resolve`` maps a host name to IP address strings; it defaults to the system
        resolver and exists so tests can stage DNS."""
        self.policy = policy
        self._addresses = AddressPolicy(policy.allowed_private_hosts, development=policy.development, resolve=resolve)

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
        return self._fetch("POST", url, dict(data), headers)

    def _fetch(
        self,
        method: str,
        url: str,
        data: dict[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> FetchResponse:
        self.check(url)
        request_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(
            {"Accept-Encoding": "identity"}  # compressed answers would dodge the size limit
        )
        request_headers.update(headers or {})
        call = Call(self._addresses, self.policy.timeout)
        try:
            return self._follow(call, method, url, data, request_headers)
        finally:
            call.close()

    def _follow(
        self,
        call: Call,
        method: str,
        url: str,
        data: dict[str, str] | None,
        headers: CaseInsensitiveDict[str],
    ) -> FetchResponse:
        """Exchange after exchange until an answer that is not a redirect to follow."""
        current = url
        redirects = 0
        while True:
            response = self._exchange(call, method, current, data, headers)
            location = response.headers.get("location")
            if method != "GET" or response.status not in _REDIRECT_STATUSES or not location:
                return response
            if redirects >= self.policy.max_redirects:
                raise FetchFailed("too many redirects")
            redirects += 1
            target = urljoin(current, requote_uri(location.strip()))
            try:
                self.check(target)
            except UnsafeUrl as refused:
                reason = f"{refused.reason} (reached by a redirect)"
                raise UnsafeUrl(refused.url, reason) from None
            if _origin(target) != _origin(current):
                for name in _CREDENTIAL_HEADERS:
                    headers.pop(name, None)
            current = target

    def _exchange(
        self,
        call: Call,
        method: str,
        url: str,
        data: dict[str, str] | None,
        headers: Mapping[str, str],
    ) -> FetchResponse:
        """One request and its complete answer, on a session of its own (no cookie jar is ever
        shared, not even between redirect hops, and no Session crosses threads)."""
        remaining = max(call.remaining(), 0.001)
        with (
            self._errors_translated(call, url),
            call.connecting(),
            pinned_session() as session,
            session.request(
                method,
                url,
                headers=dict(headers),
                data=data,
                allow_redirects=False,
                stream=True,
                timeout=(remaining, remaining),
            ) as response,
        ):
            body = read_body(call, response, self.policy.max_bytes)
            answer_headers = {k.lower(): v for k, v in response.headers.items()}
            status = response.status_code
        if call.expired:
            # The watchdog cut the connection; what arrived may be truncated.
            raise FetchFailed(self._timeout_message())
        return FetchResponse(status=status, headers=answer_headers, body=body, url=url)

    @contextmanager
    def _errors_translated(self, call: Call, url: str) -> Iterator[None]:
        """Every way an exchange fails, as the one FetchFailed (or UnsafeUrl) the caller handles."""
        try:
            yield
        except Refusal as refusal:
            # The name resolved differently when connecting than when checked.
            raise refusal.unsafe(url, " (noticed when connecting)") from None
        except AnswerTooLarge:
            raise FetchFailed(self._size_message()) from None
        except DeadlinePassed:
            raise FetchFailed(self._timeout_message()) from None
        except _LIBRARY_ERRORS as exc:
            raise self._failure(call, exc) from exc

    def _failure(self, call: Call, exc: BaseException) -> FetchFailed:
        # Never str(exc): requests quotes header values (InvalidHeader) and URLs in its messages.
        if call.expired or _is_timeout(exc):
            return FetchFailed(self._timeout_message())
        if isinstance(exc, requests.exceptions.SSLError):
            return FetchFailed(f"could not connect: {_tls_reason(exc)}")
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError, http.client.IncompleteRead)):
            return FetchFailed("could not connect: the connection broke off during the answer")
        if isinstance(exc, requests.exceptions.ContentDecodingError):
            return FetchFailed("the answer could not be decoded")
        if isinstance(exc, requests.exceptions.InvalidHeader):
            return FetchFailed("the request could not be sent: a header is not valid")
        if isinstance(
            exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema)
        ):
            return FetchFailed("could not connect: the address is not valid")
        return FetchFailed(f"could not connect: {_connection_reason(exc)}")

    def _timeout_message(self) -> str:
        return f"no answer within {self.policy.timeout:g} s"

    def _size_message(self) -> str:
        return f"the answer is larger than {_size(self.policy.max_bytes)}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def _size(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10} KiB"
    return f"{n} bytes"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: causes, contexts, urllib3 reasons, exception args."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (getattr(current, "reason", None), current.__cause__, current.__context__, *current.args):
            if isinstance(inner, BaseException):
                stack.append(inner)


def _is_timeout(exc: BaseException) -> bool:
    # urllib3's NewConnectionError subclasses ConnectTimeoutError for historical reasons,
    # and requests turns it into a ConnectTimeout only when the cause really is a timeout.
    return any(
        isinstance(e, (TimeoutError, requests.Timeout, urllib3.exceptions.TimeoutError))
        and not isinstance(e, NewConnectionError)
        for e in _causes(exc)
    )


def _tls_reason(exc: BaseException) -> str:
    for e in _causes(exc):
        message = getattr(e, "verify_message", None)
        if isinstance(message, str) and message:
            return f"the TLS certificate was not accepted ({message})"
    return "the TLS handshake failed"


def _connection_reason(exc: BaseException) -> str:
    for e in _causes(exc):
        if isinstance(e, (NameResolutionError, socket.gaierror)):
            return "the host name does not resolve"
    for e in _causes(exc):
        if isinstance(e, http.client.RemoteDisconnected):
            return "the server closed the connection without answering"
        if isinstance(e, OSError) and e.strerror:
            return e.strerror[:1].lower() + e.strerror[1:]
    return "the connection failed"
