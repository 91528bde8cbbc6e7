"""Which tenant a request is for, decided once from the Host header."""

from __future__ import annotations

import re

from pyramid.config import Configurator
from pyramid.events import NewRequest
from pyramid.request import Request

from domain.tenancy.tenant import Tenant
from domain.ports import TenantRepository


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


def resolve_tenant(request: Request) -> Tenant | None:
    slug = instance_slug(request.host, request.registry.portal_settings.base_domain)
    if slug is None:
        return None
    tenants: TenantRepository = request.find_service(TenantRepository)
    tenant = tenants.get_by_slug(slug)
    if tenant is None or not tenant.active:
        raise NoSuchInstance(slug)
    return tenant


def tenant_or_none(request: Request) -> Tenant | None:
    """The tenant, or None where there is none, including while rendering a bad host's error."""
    try:
        return request.tenant  # type: ignore[no-any-return]
    except (HostNotServed, NoSuchInstance):
        return None


def _resolve_early(event: NewRequest) -> None:
    # Resolve before routing, so a bad host gets its error page whatever the path.
    event.request.tenant  # noqa: B018


def includeme(config: Configurator) -> None:
    config.add_request_method(resolve_tenant, "tenant", reify=True)
    config.add_subscriber(_resolve_early, NewRequest)
