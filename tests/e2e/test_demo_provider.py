"""make run's demo identity provider: mounted on idp.<base_domain> in development only, it signs a
practitioner in through the real protocol, and ends their portal session when they sign out there."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.paster import get_appsettings
from pyramid.router import Router
from sqlalchemy import Engine
from webtest.http import StopableWSGIServer

from domain.tenancy.onboarding import TenantOnboarding
from entrypoints.openid_provider.connect import connect_demo_provider
from entrypoints.settings import PortalSettings, SettingsError
from entrypoints.web import main
from tests.e2e.conftest import PASSWORD, Portal, app_settings

ROOT = Path(__file__).resolve().parents[2]
OWNER = "owner@demo.example"


@pytest.fixture
def demo(database_url: str, clean_database: Engine, tmp_path: Path) -> Iterator[tuple[Portal, str]]:
    """The development app with the demo provider, served on loopback (the portal fetches the
    provider's documents over HTTP, the provider posts logout tokens to the portal); the demo
    tenant connected. Yields the driver and the origin of the demo tenant."""
    served: dict[str, Router] = {}
    server = StopableWSGIServer.create(
        lambda environ, start: served["app"](environ, start), host="127.0.0.1", port=0, threads=6
    )
    try:
        settings = app_settings(database_url, tmp_path) | {
            "app.base_domain": "localhost",
            "app.public_port": str(server.effective_port),
            "sso.demo_provider": "true",
        }
        served["app"] = app = main({}, **settings)
        portal = Portal(app, tmp_path)
        with portal.unit_of_work() as request:
            request.find_service(TenantOnboarding).open_tenant("demo", "Demo Practice", OWNER, PASSWORD)
        yield portal, f"http://demo.localhost:{server.effective_port}"
    finally:
        server.shutdown()


def connect(portal: Portal) -> list[str]:
    with portal.unit_of_work() as request:
        return connect_demo_provider(request, "demo")


def sign_in_at_demo_provider(browser: webtest.TestApp, origin: str, sub: str) -> webtest.TestResponse:
    """The login page's Single Sign On button, the provider's login page, its redirect back."""
    start = next(f for f in browser.get(f"{origin}/login").forms.values() if f.action.startswith("/sso/"))
    at_provider = start.submit(status=303).follow(status=303)  # authorization: nobody logged in there yet
    assert urlsplit(at_provider.location).path == "/login"
    page = at_provider.follow(status=200)
    chosen = page.forms[f"login-{sub}"]
    authorized = chosen.submit("sub", value=sub, status=303).follow(status=(302, 303))
    assert authorized.location.startswith(f"{origin}/process_sso?") and "code=" in authorized.location
    return authorized.follow()


def test_the_connect_command_saves_the_provider_once_and_says_what_to_click(demo: tuple[Portal, str]) -> None:
    portal, origin = demo
    first = connect(portal)
    assert first[0].startswith("connected: demo signs in with the Demo identity provider at http://idp.localhost:")
    assert any(f"open {origin}/login" in line for line in first) and any("Dr. Anna Berg" in line for line in first)
    assert connect(portal)[0].startswith("already connected")


def test_a_practitioner_signs_in_through_the_demo_provider_and_its_sign_out_ends_the_portal_session(
    demo: tuple[Portal, str],
) -> None:
    portal, origin = demo
    connect(portal)
    browser = webtest.TestApp(portal.app)
    callback = sign_in_at_demo_provider(browser, origin, "demo-owner")
    assert callback.location == f"{origin}/sso/link"  # the first sign-in links the owner's account
    form = browser.get(f"{origin}/sso/link").forms["email-form"]
    form["email"] = OWNER
    form.submit()
    code = next(line.strip() for line in portal.mails()[-1].text.splitlines() if line.strip().isdigit())
    form = browser.get(f"{origin}/sso/link").forms["code-form"]
    form["code"] = code
    form.submit(status=303)
    assert browser.get(f"{origin}/", status=200)

    provider_home = browser.get(origin.replace("//demo.", "//idp.") + "/")
    assert "Signed in as Demo Owner" in provider_home.text
    signed_out = provider_home.forms[0].submit(status=200)  # back-channel logout, within this request
    assert "You are signed out" in signed_out.text
    assert browser.get(f"{origin}/", status="*").status_int in (302, 303)  # the portal session is gone


def test_the_app_refuses_to_mount_the_demo_provider_outside_development(tmp_path: Path) -> None:
    development = PortalSettings.load(app_settings("sqlite://", tmp_path) | {"sso.demo_provider": "true"}, {})
    config = Configurator(settings={})
    config.registry.portal_settings = replace(development, development=False)
    with pytest.raises(SettingsError, match="sso.demo_provider is for development only"):
        config.include("entrypoints.openid_provider.demo")


def test_production_ini_cannot_enable_the_demo_provider() -> None:
    production: dict[str, Any] = dict(get_appsettings(str(ROOT / "production.ini")))
    environ = {
        "DATABASE_URL": "postgresql+psycopg://u@db/portal",
        "APP_BASE_DOMAIN": "portal.example",
        "SESSION_SECRET": "s" * 40,
        "SECRETS_KEY": "x" * 43 + "=",
        "MAIL_HOST": "smtp.example",
    }
    assert PortalSettings.load(production, environ).sso_demo_provider is False
    with pytest.raises(SettingsError, match="sso.demo_provider is for development only"):
        PortalSettings.load(production, environ | {"SSO_DEMO_PROVIDER": "true"})
    with pytest.raises(SettingsError, match="sso.demo_provider is for development only"):
        PortalSettings.load(production | {"sso.demo_provider": "true"}, environ)
