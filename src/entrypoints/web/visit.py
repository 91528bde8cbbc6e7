"""The visit: the tenant, the session and the practitioner of a request, read once, in one statement.

Every request to an instance needs all three before it can do anything (the tenant for its
policy, the session for its data, the practitioner for its rights), so they are read together
from the Host header and the session cookie, when the request first asks for any of them.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from pyramid.config import Configurator
from pyramid.events import NewRequest
from pyramid.request import Request

from adapters.db.web_sessions import SqlWebSessionStore, Visit
from domain.ports import Clock
from domain.tenancy.tenant import Tenant
from entrypoints.web.factories import built
from entrypoints.web.tenancy import NoSuchInstance, instance_slug

COOKIE_NAME = "portal_session"
NO_INSTANCE = Visit(None)


def session_digest(request: Request, raw_id: str) -> str:
    """What the database keeps of a session id: its HMAC under the session secret."""
    secret = request.registry.portal_settings.session_secret.encode()
    return hmac.new(secret, raw_id.encode(), hashlib.sha256).hexdigest()


def load_visit(request: Request) -> Visit:
    """NO_INSTANCE on the bare base domain; NoSuchInstance (404) for an unknown or closed one."""
    slug = instance_slug(request.host, request.registry.portal_settings.base_domain)
    if slug is None:
        return NO_INSTANCE
    raw_id = request.cookies.get(COOKIE_NAME)
    digest = session_digest(request, raw_id) if raw_id else None
    visit = SqlWebSessionStore(request.dbsession).visit(slug, digest, request.now)
    if visit.tenant is None or not visit.tenant.active:
        raise NoSuchInstance(slug)
    return visit


def request_time(request: Request) -> datetime:
    """The time of the request, read once from the Clock: the visit and the session agree on it.
    Through ``built`` (factories.py), as services are built: ``find_service`` would make a page
    that needs no service pay for pyramid_services' per-request container just to read the time."""
    clock: Clock = built(request, Clock)  # type: ignore[assignment]
    return clock.now()


def resolve_tenant(request: Request) -> Tenant | None:
    return request.visit.tenant  # type: ignore[no-any-return]


def _resolve_early(event: NewRequest) -> None:
    # Resolve before routing, so a bad host gets its error page whatever the path.
    event.request.tenant  # noqa: B018


def includeme(config: Configurator) -> None:
    config.add_request_method(request_time, "now", reify=True)
    config.add_request_method(load_visit, "visit", reify=True)
    config.add_request_method(resolve_tenant, "tenant", reify=True)
    config.add_subscriber(_resolve_early, NewRequest)
