"""Which instance a request is for, read from the whole Host header (the visit looks it up)."""

from __future__ import annotations

import re

from pyramid.request import Request

from domain.tenancy.tenant import Tenant


_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# The whole Host header: a DNS name (one trailing dot allowed) and an optional numeric port.
# Anything else (userinfo, a path, a backslash, spaces, two colons) is not one of our hosts.
_HOST = re.compile(r"(?P<name>[a-z0-9-]+(?:\.[a-z0-9-]+)*)\.?(?::(?P<port>[0-9]{1,5}))?", re.ASCII)


class HostNotServed(Exception):
    """The Host header names no address of this portal (400)."""


class NoSuchInstance(Exception):
    """The subdomain names no active instance (404)."""

    def __init__(self, slug: str) -> None:
        super().__init__(slug)
        self.slug = slug


def instance_slug(host: str, base_domain: str) -> str | None:
    """``acme.portal.example:8080`` -> ``acme``; the bare base domain -> None.

    The whole header is checked, so nothing after the name can reach a link or a log line
    unnoticed. The port is only checked for form: links are built from settings, never from it.
    """
    parsed = _HOST.fullmatch((host or "").lower())
    if parsed is None:
        raise HostNotServed(host)
    port = parsed["port"]
    if port is not None and not 1 <= int(port) <= 65535:
        raise HostNotServed(host)
    hostname = parsed["name"]
    if hostname == base_domain:
        return None
    suffix = "." + base_domain
    if not hostname.endswith(suffix):
        raise HostNotServed(host)
    label = hostname[: -len(suffix)]
    if not _LABEL.match(label):  # nested subdomains, odd characters: never an instance
        raise HostNotServed(host)
    return label


def tenant_or_none(request: Request) -> Tenant | None:
    """The tenant, or None where there is none, including while rendering a bad host's error."""
    try:
        return request.tenant  # type: ignore[no-any-return]
    except (HostNotServed, NoSuchInstance):
        return None
