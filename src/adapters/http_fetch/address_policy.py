"""Which URLs the server may fetch: the address policy of the SSRF guard.

A tenant admin types an issuer or endpoint URL and the server fetches it. Such a URL must
never become a way to reach the loopback interface, the private network or a cloud metadata
service. This module decides, for a URL or a host name, whether it may be reached: it parses
the URL the strict way, resolves the host, and classifies every address it resolves to. It
opens no connection; the pinned transport asks it again at connect time.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import SplitResult, urlsplit, urlunsplit

from domain.errors import N_, UnsafeUrl
from domain.text import url_shape_problem

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Sequence[str]]

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")

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
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
)
# Only this part of the IPv6 space is allocated for global unicast; the rest is special.
_IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")

# Kinds of address no allowance opens: nothing legitimate lives there, and a host name the
# operator allowed that suddenly resolves there is an attack, not a configuration.
_NEVER_ALLOWED = frozenset({"metadata", "link-local", "unspecified", "multicast"})


class Refusal(Exception):
    """The policy said no; ``reason`` is for the admin. Deliberately not an OSError, so that the
    connection's error handling (which tries the next address on an OSError) lets it through
    untouched when the transport raises it at connect time."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def unsafe(self, url: str, reason: str | None = None) -> UnsafeUrl:
        """The domain's error for this refusal of ``url``, which never repeats a password;
        ``reason`` says it instead of the refusal's own (as the refusal and when it came)."""
        return UnsafeUrl(_redacted(url), reason or self.reason)


class AddressPolicy:
    """Which hosts the server may reach: public unicast addresses; loopback during development;
    private hosts the operator allowed (``sso.allowed_private_hosts``); never metadata or
    link-local addresses. Stateless and thread-safe."""

    def __init__(
        self,
        allowed_private_hosts: Iterable[str] = (),
        *,
        development: bool = False,
        resolve: Resolver | None = None,
    ) -> None:
        """``resolve`` maps a host name to IP address strings; it defaults to the system
        resolver (``socket.getaddrinfo``, IPv4 and IPv6) and exists so tests can stage DNS."""
        self._allowed = frozenset(_normalise_allowed(h) for h in allowed_private_hosts)
        self._development = development
        self._resolve = resolve or _system_resolve

    def check(self, url: str) -> None:
        """The domain port ``UrlSafety``: raise :class:`~domain.errors.UnsafeUrl` unless the
        server may fetch ``url``."""
        try:
            self.vet_url(url)
        except Refusal as refusal:
            raise refusal.unsafe(url) from None

    def vet_url(self, url: str) -> None:
        """Raise :class:`Refusal` unless the server may fetch ``url``."""
        parts = _parse(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise Refusal(N_("only https addresses can be used"))
        if "@" in parts.netloc:
            raise Refusal(N_("the address must not contain a user name or password"))
        if not parts.hostname:
            raise Refusal(N_("the address has no host name"))
        host = _normalise_host(parts.hostname)
        if scheme == "http" and not self._development:
            raise Refusal(N_("plain http is not allowed; use https"))
        addresses = self._vetted_addresses(host)
        if scheme == "http" and not all(_is_loopback(a) for a in addresses):
            raise Refusal(N_("plain http is only allowed for loopback hosts during development"))

    def addresses_to_connect(self, host: str) -> list[str]:
        """The addresses a connection to ``host`` (as the HTTP library spells it) may use: all
        it resolves to now, or a :class:`Refusal` if any one of them is not allowed."""
        return self._vetted_addresses(_normalise_host(host))

    def _vetted_addresses(self, host: str) -> list[str]:
        """Every address ``host`` resolves to, or a refusal if any one of them is not allowed
        (a name with one public and one private answer is still a way in)."""
        addresses = self._addresses_of(host)
        literal = _ip_or_none(host) is not None
        for address in addresses:
            problem = self._problem(host, address)
            if problem is not None:
                if literal:
                    raise Refusal(N_("%(address)s is %(kind)s", address=address, kind=problem))
                raise Refusal(
                    N_("%(host)s resolves to %(address)s, %(kind)s", host=host, address=address, kind=problem)
                )
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
            raise Refusal(N_("the host name does not resolve")) from None
        if not addresses:
            raise Refusal(N_("the host name does not resolve"))
        return list(dict.fromkeys(addresses))

    def _problem(self, host: str, address: str) -> str | None:
        """Why ``address`` (one answer for ``host``) may not be used, or None."""
        ip = _ip_or_none(address)
        if ip is None:
            return N_("an address that cannot be checked")
        found = _classify(ip)
        if found is None:
            return None
        kind, description = found
        if kind not in _NEVER_ALLOWED:
            if _normalise_allowed(host) in self._allowed:
                return None
            if kind == "loopback" and self._development:
                return None
        return description


def _parse(url: str) -> SplitResult:
    """``url`` split into its parts, refused when parsers could read it in different ways."""
    if not isinstance(url, str) or not url:
        raise Refusal(N_("the address is empty"))
    problem = url_shape_problem(url)
    if problem:
        raise Refusal(problem)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise Refusal(N_("the address is not well formed")) from None
    return parts


def _classify(ip: IpAddress) -> tuple[str, str] | None:
    """(kind, "a ... address") when ``ip`` is not a public unicast address, else None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            found = _classify(embedded)
            if found is None:
                return None
            kind, description = found
            return kind, N_("%(kind)s (IPv4 %(address)s inside IPv6)", kind=description, address=str(embedded))
        if ip in _NAT64_LOCAL:
            return "reserved", N_("a reserved address (local NAT64)")
    if ip in _METADATA_ADDRESSES:
        return "metadata", N_("a cloud metadata address")
    if ip.is_unspecified:
        return "unspecified", N_("an unspecified address")
    if ip.is_loopback:
        return "loopback", N_("a loopback address")
    if ip.is_link_local:
        return "link-local", N_("a link-local address")
    if ip.is_multicast:
        return "multicast", N_("a multicast address")
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "private", N_("a private address (carrier-grade NAT)")
    if any(ip in network for network in _SITE_PRIVATE if network.version == ip.version):
        return "private", N_("a private address")
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _IPV6_GLOBAL_UNICAST:
        return "reserved", N_("a reserved address")
    # The rest of what Python does not call global: documentation, benchmarking, 240/4, ...
    if not ip.is_global or ip.is_reserved:
        return "reserved", N_("a reserved address")
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
            raise Refusal(N_("the host name is not well formed")) from None
    if not _HOST_NAME.match(host):
        raise Refusal(N_("the host name is not well formed"))
    return host


def _normalise_allowed(host: str) -> str:
    host = host.strip().strip("[]").lower().rstrip(".")
    ip = _ip_or_none(host)
    return str(ip) if ip is not None else host


def _system_resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _redacted(url: str) -> str:
    """``url`` without user:password, so a refusal never repeats a password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url if "@" not in url else "the address"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))
