"""Fetching URLs that tenant admins typed in, without letting them reach inside our network.

An admin enters an issuer and endpoint URLs; the server fetches them (discovery document,
JWKS, token endpoint, userinfo). Such a URL must never become a way to reach the loopback
interface, the private network or a cloud metadata service (SSRF). This adapter is the one
place where such URLs are fetched, and it:

- implements the domain port ``UrlSafety`` with :meth:`GuardedFetcher.check`, used when the
  admin saves the form *and* before every request and every redirect hop;
- closes the DNS-rebinding window: the connection does not resolve the host name again on its
  own; it connects to addresses the guard has just resolved and vetted (see
  ``_GuardedConnectionMixin``), so what is checked is what is connected to;
- bounds every call: one wall-clock deadline for the whole exchange (connect, headers, a slow
  drip of body bytes, redirect hops), a size limit on the body, a limit on redirects;
- never keeps cookies, never reads proxy settings or ``.netrc`` from the environment, never
  forwards credentials to another origin on a redirect;
- turns library errors into :class:`FetchFailed` with a message an admin understands and that
  never quotes request headers or bodies.
"""

from __future__ import annotations

import http.client
import contextlib
import ipaddress
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from domain.errors import UnsafeUrl

__all__ = ["FetchFailed", "FetchPolicy", "FetchResponse", "GuardedFetcher"]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Sequence[str]]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers that carry credentials: they go to the origin the caller named, never to another
# origin a redirect points at.
_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")
_MAX_URL_LENGTH = 2048
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
_CHUNK = 16 * 1024

# Well-known instance metadata services. Most sit in link-local space anyway; they are named
# so that the refusal says what they are, and so that no allowance ever opens them.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, Azure, GCP, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS pod identity
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server (a public-looking address inside Azure)
    )
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT, RFC 2765
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215, embedding varies
# RFC 1918, ULA and the deprecated IPv6 site-local range: "private" in an admin's words.
_SITE_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
)
# Only this part of the IPv6 space is allocated for global unicast; the rest is special.
_IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")

# Kinds of address no allowance opens: nothing legitimate lives there, and a host name the
# operator allowed that suddenly resolves there is an attack, not a configuration.
_NEVER_ALLOWED = frozenset({"metadata", "link-local", "unspecified", "multicast"})


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


class _Refusal(Exception):
    """Internal: the guard said no. Deliberately not an OSError, so urllib3 and requests let it
    through untouched instead of retrying or wrapping it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GuardedFetcher:
    """Fetches admin-entered URLs under a :class:`FetchPolicy`. Stateless and thread-safe."""

    def __init__(self, policy: FetchPolicy, *, resolve: Resolver | None = None) -> None:
        """``resolve`` maps a host name to IP address strings; it defaults to the system
        resolver (``socket.getaddrinfo``, IPv4 and IPv6) and exists so tests can stage DNS."""
        self.policy = policy
        self._resolve = resolve or _system_resolve
        self._allowed = frozenset(_normalise_allowed(h) for h in policy.allowed_private_hosts)

    # -- UrlSafety ---------------------------------------------------------------------------

    def check(self, url: str) -> None:
        """Raise :class:`~domain.errors.UnsafeUrl` unless the server may fetch ``url``."""
        try:
            self._vet_url(url)
        except _Refusal as refusal:
            raise UnsafeUrl(_redacted(url), refusal.reason) from None

    # -- fetching ----------------------------------------------------------------------------

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> FetchResponse:
        """GET ``url``, following up to ``max_redirects`` redirects, each one checked.

        Raises :class:`UnsafeUrl` when the URL or a redirect target is refused, and
        :class:`FetchFailed` when no usable answer arrives. Non-2xx answers are returned.
        """
        return self._fetch("GET", url, None, headers)

    def post(
        self, url: str, data: Mapping[str, str], headers: Mapping[str, str] | None = None
    ) -> FetchResponse:
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
        call = _Call(self, self.policy.timeout)
        try:
            current = url
            redirects = 0
            while True:
                response = self._exchange(call, method, current, data, request_headers)
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
                        request_headers.pop(name, None)
                current = target
        finally:
            call.close()

    def _exchange(
        self,
        call: _Call,
        method: str,
        url: str,
        data: dict[str, str] | None,
        headers: Mapping[str, str],
    ) -> FetchResponse:
        """One request and its complete answer, on a session of its own (no cookie jar is ever
        shared, not even between redirect hops, and no Session crosses threads)."""
        token = _current_call.set(call)
        try:
            with requests.Session() as session:
                session.trust_env = False  # no proxies, no .netrc credentials from the environment
                adapter = _GuardedAdapter()
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                remaining = max(call.remaining(), 0.001)
                try:
                    with session.request(
                        method,
                        url,
                        headers=dict(headers),
                        data=data,
                        allow_redirects=False,
                        stream=True,
                        timeout=(remaining, remaining),
                    ) as response:
                        body = self._read_body(call, response)
                        answer_headers = {k.lower(): v for k, v in response.headers.items()}
                        status = response.status_code
                except _Refusal as refusal:
                    # The name resolved differently when connecting than when checked.
                    raise UnsafeUrl(
                        _redacted(url), f"{refusal.reason} (noticed when connecting)"
                    ) from None
                except FetchFailed:
                    raise
                except (
                    requests.RequestException,
                    urllib3.exceptions.HTTPError,
                    http.client.HTTPException,
                    OSError,
                ) as exc:
                    raise self._failure(call, exc) from exc
            if call.expired:
                # The watchdog cut the connection; what arrived may be truncated.
                raise FetchFailed(self._timeout_message())
            return FetchResponse(status=status, headers=answer_headers, body=body, url=url)
        finally:
            _current_call.reset(token)

    def _read_body(self, call: _Call, response: requests.Response) -> bytes:
        limit = self.policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise FetchFailed(self._size_message())
        body = bytearray()
        for chunk in response.iter_content(chunk_size=_CHUNK):
            body += chunk
            if len(body) > limit:
                raise FetchFailed(self._size_message())
            if call.expired or call.remaining() <= 0:
                raise FetchFailed(self._timeout_message())
        return bytes(body)

    def _failure(self, call: _Call, exc: BaseException) -> FetchFailed:
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
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                            requests.exceptions.MissingSchema)):
            return FetchFailed("could not connect: the address is not valid")
        return FetchFailed(f"could not connect: {_connection_reason(exc)}")

    def _timeout_message(self) -> str:
        return f"no answer within {self.policy.timeout:g} s"

    def _size_message(self) -> str:
        return f"the answer is larger than {_size(self.policy.max_bytes)}"

    # -- the rules -----------------------------------------------------------------------------

    def _vet_url(self, url: str) -> None:
        if not isinstance(url, str) or not url:
            raise _Refusal("the address is empty")
        if len(url) > _MAX_URL_LENGTH:
            raise _Refusal("the address is too long")
        # Whitespace and control characters are where URL parsers disagree with each other.
        if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
            raise _Refusal("the address contains spaces or control characters")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
            raw_host = parts.hostname
        except ValueError:
            raise _Refusal("the address is not well formed") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise _Refusal("only https addresses can be used")
        if "@" in parts.netloc:
            raise _Refusal("the address must not contain a user name or password")
        if not raw_host:
            raise _Refusal("the address has no host name")
        host = _normalise_host(raw_host)
        if scheme == "http" and not self.policy.development:
            raise _Refusal("plain http is not allowed; use https")
        addresses = self._vetted_addresses(host)
        if scheme == "http" and not all(_is_loopback(a) for a in addresses):
            raise _Refusal("plain http is only allowed for loopback hosts during development")

    def _vetted_addresses(self, host: str) -> list[str]:
        """Every address ``host`` resolves to, or a refusal if any one of them is not allowed
        (a name with one public and one private answer is still a way in)."""
        addresses = self._addresses_of(host)
        literal = _ip_or_none(host) is not None
        for address in addresses:
            problem = self._problem(host, address)
            if problem is not None:
                if literal:
                    raise _Refusal(f"{address} is {problem}")
                raise _Refusal(f"{host} resolves to {address}, {problem}")
        return addresses

    def _addresses_of(self, host: str) -> list[str]:
        if _ip_or_none(host) is not None:
            return [host]
        if _is_localhost_name(host):
            # RFC 6761: localhost names are loopback, never asked of DNS (which glibc would
            # do for *.localhost, and which could answer anything).
            return ["127.0.0.1", "::1"]
        try:
            addresses = [str(a) for a in self._resolve(host)]
        except (OSError, UnicodeError):
            raise _Refusal("the host name does not resolve") from None
        if not addresses:
            raise _Refusal("the host name does not resolve")
        return list(dict.fromkeys(addresses))

    def _problem(self, host: str, address: str) -> str | None:
        """Why ``address`` (one answer for ``host``) may not be used, or None."""
        ip = _ip_or_none(address)
        if ip is None:
            return "an address that cannot be checked"
        found = _classify(ip)
        if found is None:
            return None
        kind, description = found
        if kind not in _NEVER_ALLOWED:
            if _normalise_allowed(host) in self._allowed:
                return None
            if kind == "loopback" and self.policy.development:
                return None
        return description


# -- connections that connect only where the guard said yes -------------------------------------


class _Call:
    """One get()/post(), redirects included: its deadline, and a watchdog that cuts the
    connection when the deadline passes. Socket timeouts alone only bound each single read, so
    a server could keep a worker busy for ever by sending a byte every few seconds."""

    def __init__(self, fetcher: GuardedFetcher, timeout: float) -> None:
        self.fetcher = fetcher
        self.deadline = time.monotonic() + timeout
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

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


_current_call: ContextVar[_Call | None] = ContextVar("guarded_fetch_call", default=None)


class _GuardedConnectionMixin:
    """Replaces urllib3's ``_new_conn``: resolve through the guard, refuse if any answer is not
    allowed, then connect to exactly those vetted addresses. urllib3 never resolves the name
    itself, so a DNS answer that changes between check and connect (rebinding) cannot slip
    through. TLS still uses the host *name* for SNI and certificate checks (urllib3 takes
    ``server_hostname`` from ``self.host``, not from the socket)."""

    host: str
    port: int
    timeout: Any
    source_address: tuple[str, int] | None
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        call = _current_call.get()
        if call is None:
            raise _Refusal("connections are only made by a guarded fetch")
        addresses = call.fetcher._vetted_addresses(_normalise_host(self.host))
        failure: Exception | None = None
        for address in addresses:
            remaining = call.remaining()
            if remaining <= 0:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.")
            timeout = remaining
            if isinstance(self.timeout, (int, float)):
                timeout = min(float(self.timeout), remaining)
            try:
                sock = urllib3_connection.create_connection(
                    (address, self.port),
                    timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                failure = ConnectTimeoutError(self, f"Connection to {self.host} timed out.")
                failure.__cause__ = exc
                continue
            except OSError as exc:
                failure = NewConnectionError(
                    self,  # type: ignore[arg-type]  # a mixin, but always an HTTPConnection
                    f"Failed to establish a new connection: {exc}",
                )
                failure.__cause__ = exc
                continue
            call.track(sock)
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        assert failure is not None  # _vetted_addresses never returns an empty list
        raise failure


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    """A requests adapter whose pools make only guarded connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }


# -- address rules --------------------------------------------------------------------------------


def _classify(ip: IpAddress) -> tuple[str, str] | None:
    """(kind, "a ... address") when ``ip`` is not a public unicast address, else None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            found = _classify(embedded)
            if found is None:
                return None
            kind, description = found
            return kind, f"{description} (IPv4 {embedded} inside IPv6)"
        if ip in _NAT64_LOCAL:
            return "reserved", "a reserved address (local NAT64)"
    if ip in _METADATA_ADDRESSES:
        return "metadata", "a cloud metadata address"
    if ip.is_unspecified:
        return "unspecified", "an unspecified address"
    if ip.is_loopback:
        return "loopback", "a loopback address"
    if ip.is_link_local:
        return "link-local", "a link-local address"
    if ip.is_multicast:
        return "multicast", "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "private", "a private address (carrier-grade NAT)"
    if any(ip in network for network in _SITE_PRIVATE if network.version == ip.version):
        return "private", "a private address"
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _IPV6_GLOBAL_UNICAST:
        return "reserved", "a reserved address"
    # The rest of what Python does not call global: documentation, benchmarking, 240/4, ...
    if not ip.is_global or ip.is_reserved:
        return "reserved", "a reserved address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, translated, 6to4, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _IPV4_TRANSLATED or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_loopback(address: str) -> bool:
    ip = _ip_or_none(address)
    if ip is None:
        return False
    found = _classify(ip)
    return found is not None and found[0] == "loopback"


def _ip_or_none(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _is_localhost_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def _normalise_host(host: str) -> str:
    """Lower case, no brackets, no trailing dot, IDNA for non-ASCII; refuses odd characters
    so that every parser downstream sees the same host."""
    host = host.strip("[]").lower()
    if _ip_or_none(host) is not None:
        return host
    if host.endswith("."):
        host = host[:-1]  # the fully qualified form; a second dot is refused below
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise _Refusal("the host name is not well formed") from None
    if not _HOST_NAME.match(host):
        raise _Refusal("the host name is not well formed")
    return host


def _normalise_allowed(host: str) -> str:
    host = host.strip().strip("[]").lower().rstrip(".")
    ip = _ip_or_none(host)
    return str(ip) if ip is not None else host


def _system_resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


# -- messages ---------------------------------------------------------------------------------


def _redacted(url: str) -> str:
    """``url`` without user:password, so a refusal never repeats a password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url if "@" not in url else "the address"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


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
        for inner in (getattr(current, "reason", None), current.__cause__, current.__context__,
                      *current.args):
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


def _shutdown(sock: socket.socket) -> None:
    # Already closed by the other side or by us: nothing left to stop.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
