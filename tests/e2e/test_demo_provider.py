"""make run's demo identity provider: mounted on idp.<base_domain> in development only, it signs a
practitioner in through the real protocol, and ends their portal session when they sign out there."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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
from tests.e2e.sso import audit_rows
from tests.e2e.test_login_and_sessions import logout_form

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


def owner_signed_in(portal: Portal, origin: str) -> webtest.TestApp:
    """A browser in which the demo owner signed in through the demo provider; the first time, the
    account is linked by the mailed one-time code, as the README tells."""
    browser = webtest.TestApp(portal.app)
    callback = sign_in_at_demo_provider(browser, origin, "demo-owner")
    if callback.location == f"{origin}/sso/link":  # the first sign-in links the owner's account
        form = browser.get(f"{origin}/sso/link").forms["email-form"]
        form["email"] = OWNER
        form.submit()
        code = next(line.strip() for line in portal.mails()[-1].text.splitlines() if line.strip().isdigit())
        form = browser.get(f"{origin}/sso/link").forms["code-form"]
        form["code"] = code
        form.submit(status=303)
    assert is_logged_in(browser, origin)
    return browser


def is_logged_in(browser: webtest.TestApp, origin: str) -> bool:
    return browser.get(f"{origin}/account", status="*").status_int == 200


def provider_origin(origin: str) -> str:
    return origin.replace("//demo.", "//idp.")


@pytest.fixture
def owner(demo: tuple[Portal, str]) -> tuple[Portal, str, webtest.TestApp]:
    """The demo tenant connected to the demo provider, and a browser in which the owner signed in there."""
    portal, origin = demo
    connect(portal)
    return portal, origin, owner_signed_in(portal, origin)


def test_signing_out_at_the_demo_provider_ends_exactly_the_portal_session_of_that_login(
    owner: tuple[Portal, str, webtest.TestApp],
) -> None:
    portal, origin, browser = owner
    other_login = owner_signed_in(portal, origin)  # another browser: another login at the provider
    with_password = webtest.TestApp(portal.app, extra_environ={"HTTP_HOST": urlsplit(origin).netloc})
    portal.log_in(with_password, OWNER)

    provider_home = browser.get(provider_origin(origin) + "/")
    assert "Signed in as Demo Owner" in provider_home.text
    signed_out = provider_home.forms[0].submit(status=200)  # back-channel logout, within this request
    assert "You are signed out" in signed_out.text
    assert [is_logged_in(b, origin) for b in (browser, other_login, with_password)] == [False, True, True]
    assert "Nobody is signed in here." in browser.get(provider_origin(origin) + "/").text
    events = [row["What happened"] for row in audit_rows(with_password) if row["Event"] == "back-channel logout"]
    assert events == ["Demo identity provider ended 1 session by back-channel logout"]


def test_logging_out_in_the_portal_passes_through_the_demo_provider_and_back_to_the_login_page(
    owner: tuple[Portal, str, webtest.TestApp],
) -> None:
    _, origin, browser = owner
    left = logout_form(browser.get(f"{origin}/account")).submit(status=303)
    assert left.location.startswith(f"{provider_origin(origin)}/end_session?")
    sent = dict(parse_qsl(urlsplit(left.location).query))
    assert sent["client_id"] == "demo-demo" and sent["post_logout_redirect_uri"] == f"{origin}/sso/logged-out"
    assert sent["id_token_hint"].count(".") == 2 and len(sent["state"]) >= 20
    assert not is_logged_in(browser, origin)  # ended before the browser left

    back = browser.get(left.location, status=(302, 303))  # the provider ends its login and sends it back
    assert back.location.startswith(f"{origin}/sso/logged-out?")
    assert dict(parse_qsl(urlsplit(back.location).query))["state"] == sent["state"]
    login_page = back.follow(status=303)
    assert login_page.location == f"{origin}/login?logged_out=1"
    assert "You are logged out." in login_page.follow(status=200).text
    browser.get(back.location, status=400)  # the state is checked: the same return a second time is refused
    assert "Nobody is signed in here." in browser.get(provider_origin(origin) + "/").text
    # signed out at the provider too: the next sign-in asks who you are again
    again = next(f for f in browser.get(f"{origin}/login").forms.values() if f.action.startswith("/sso/"))
    assert urlsplit(again.submit(status=303).follow(status=303).location).path == "/login"


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
