"""What every template can use: the tenant, who is logged in, the CSRF token."""

from __future__ import annotations

from typing import Any, Callable

from pyramid.config import Configurator
from pyramid.csrf import get_csrf_token
from pyramid.events import BeforeRender
from pyramid.interfaces import IRendererInfo
from pyramid_jinja2 import IJinja2Environment

from domain.practitioners.rights import ModuleRight
from entrypoints.web.language import LANGUAGE_NAMES
from entrypoints.web.tenancy import tenant_or_none


def _globals(event: BeforeRender) -> None:
    request = event["request"]
    if request is None:
        return
    # What the view gives wins; it is only looked up when the view did not give it, so the page
    # about an unreadable request (readable.py) reads neither the Host nor the session.
    given = event.rendering_val if isinstance(event.rendering_val, dict) else {}
    tenant = given["tenant"] if "tenant" in given else tenant_or_none(request)
    event.setdefault("tenant", tenant)
    event.setdefault("me", given["me"] if "me" in given else request.identity if tenant is not None else None)
    event["csrf_token"] = lambda: get_csrf_token(request)
    event["ModuleRight"] = ModuleRight
    event["languages"] = LANGUAGE_NAMES


def template_renderer(info: IRendererInfo) -> Callable[[dict[str, Any], dict[str, Any]], str]:
    """Renders ``info.name`` from the templates folder. pyramid_jinja2's own renderer first tries
    the name relative to the view's package, a miss (an exception and a file check) on every
    render here, where all templates live in one folder."""
    environment = info.registry.getUtility(IJinja2Environment, name=".jinja2")

    def render(value: dict[str, Any], system: dict[str, Any]) -> str:
        system.update(value)
        return environment.get_template(info.name).render(system)  # type: ignore[no-any-return]

    return render


def includeme(config: Configurator) -> None:
    config.add_subscriber(_globals, BeforeRender)
