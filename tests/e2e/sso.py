"""Drives Single Sign On end to end: the portal through WebTest, the provider over real HTTP.

The browser's two hops to the provider and back are made with ``requests`` against the
loopback provider (it answers the authorization request with a redirect to the portal's
callback), and the callback is then opened in the same WebTest browser. Nothing is patched.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import webtest
from sqlalchemy import Engine, func, select

from adapters.db.schema import audit_events
from tests.e2e.conftest import BASE_DOMAIN, PASSWORD, Portal
from tests.loopback_op.provider import LoopbackProvider

CLIENT_ID = "practice-portal"
CLIENT_SECRET = "client-secret-at-the-provider"


AUDIT = "/admin/audit"


def redirect_uri(slug: str) -> str:
    return f"http://{slug}.{BASE_DOMAIN}/process_sso"


def provider_values(op: LoopbackProvider, **overrides: str) -> dict[str, str]:
    """A complete, valid provider form for the loopback provider."""
    return {
        "display_name": "Contoso ID",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "issuer": op.issuer,
        "authorization_endpoint": op.url("/authorization"),
        "token_endpoint": op.url("/token"),
        "jwks_uri": op.url("/jwks"),
        "userinfo_endpoint": op.url("/userinfo"),
        **overrides,
    }


# What every test's setup records: its people added (with their rights), its browsers logging in
# and out. Left out unless a test asks for everything, so a test sees the events it caused.
SETUP_KINDS = ("practitioner_added", "rights_granted", "password_login_succeeded", "logged_out")


def audit_rows(browser: webtest.TestApp, query: str = "", everything: bool = False) -> list[dict[str, str]]:
    """The audit table as the page shows it, newest first: one dict per row, keyed by column title."""
    table = browser.get(AUDIT + query).html.find("table")
    titles = [th.get_text(strip=True) for th in table.thead.find_all("th")]
    setup = {kind.replace("_", " ") for kind in SETUP_KINDS}
    rows = []
    for tr in table.tbody.find_all("tr", recursive=False):
        cells = [td.get_text(" ", strip=True) for td in tr.find_all("td", recursive=False)]
        if len(cells) == len(titles):
            rows.append(dict(zip(titles, cells)))
    return rows if everything else [row for row in rows if row["Event"] not in setup]


def audited(engine: Engine) -> int:
    """How many events the log holds besides those of the setup (SETUP_KINDS)."""
    with engine.connect() as connection:
        return connection.scalar(
            select(func.count()).select_from(audit_events).where(audit_events.c.kind.not_in(SETUP_KINDS))
        )


class Sso:
    def __init__(self, portal: Portal, op: LoopbackProvider) -> None:
        self.portal = portal
        self.op = op
        self._redirect_uris: set[str] = set()  # one client at the provider, used by every tenant

    def admin(self, slug: str = "acme") -> webtest.TestApp:
        """The tenant's owner, logged in."""
        browser = self.portal.browser(slug)
        self.portal.log_in(browser, f"owner@{slug}.test")
        return browser

    def register_at_provider(self, slug: str) -> None:
        """The portal's client at the test provider knows this tenant's redirect URI."""
        self._redirect_uris.add(redirect_uri(slug))
        self.op.register_client(CLIENT_ID, CLIENT_SECRET, sorted(self._redirect_uris))

    def admin_through_provider(self, slug: str = "acme", provider_id: str | None = None) -> webtest.TestApp:
        """The owner, signed in with Single Sign On at this test's provider: the admin left once
        passwords are switched off, since that ends every password session."""
        self.register_at_provider(slug)
        previous = self.op.current_user
        self.op.login_as(f"owner-sub-{slug}", email=f"owner@{slug}.test")
        browser = self.portal.browser(slug)
        assert self.log_in(browser, 303, provider_id).location.endswith("/sso/link")
        self.confirm_link(browser, f"owner@{slug}.test")
        self.op.current_user = previous
        return browser

    def connect(
        self, slug: str = "acme", restrict_to_sso: bool = False, name: str = "Contoso ID", **fields: str
    ) -> str:
        """Configures the loopback provider through the Authentication module; returns its id."""
        self.register_at_provider(slug)
        form = self.admin(slug).get("/admin/authentication").forms["provider-form"]
        for name_, value in provider_values(self.op, display_name=name, **fields).items():
            form[name_] = value
        form["enabled"] = True
        form["restrict_to_sso"] = restrict_to_sso
        saved = form.submit("action", value="save", status=303)
        return parse_qs(urlsplit(saved.location).query)["provider"][0]

    def start(self, browser: webtest.TestApp, provider_id: str | None = None) -> str:
        """Clicks the Single Sign On button on the login page; returns the provider's URL."""
        page = browser.get("/login")
        action = f"/sso/{provider_id}/start" if provider_id else None
        form = next(
            f for f in page.forms.values() if f.action.startswith("/sso/") and (action is None or f.action == action)
        )
        response = form.submit(status=303)
        return response.location

    def at_provider(self, authorization_url: str) -> str:
        """What the provider answers: the path and query of the portal callback it redirects to."""
        answer = requests.get(authorization_url, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text
        target = urlsplit(answer.headers["Location"])
        return f"{target.path}?{target.query}"

    def log_in(
        self, browser: webtest.TestApp, status: int | str = "*", provider_id: str | None = None
    ) -> webtest.TestResponse:
        """The whole round trip; returns the portal's answer to the callback."""
        return browser.get(self.at_provider(self.start(browser, provider_id)), status=status)

    def code_from_mail(self) -> str:
        mail = self.portal.mails()[-1]
        return next(line.strip() for line in mail.text.splitlines() if line.strip().isdigit())

    def request_code(self, browser: webtest.TestApp, email: str) -> webtest.TestResponse:
        """Answers the link page's question for the registered email."""
        form = browser.get("/sso/link").forms["email-form"]
        form["email"] = email
        return form.submit()

    def enter_code(self, browser: webtest.TestApp, code: str, status: int | str = "*") -> webtest.TestResponse:
        form = browser.get("/sso/link").forms["code-form"]
        form["code"] = code
        return form.submit(status=status)

    def confirm_link(self, browser: webtest.TestApp, email: str) -> webtest.TestResponse:
        """The one-time-password step after a first SSO login: email, then the mailed code."""
        self.request_code(browser, email)
        return self.enter_code(browser, self.code_from_mail())

    def first_login(self, browser: webtest.TestApp, email: str) -> webtest.TestResponse:
        answer = self.log_in(browser, status=303)
        assert answer.location.endswith("/sso/link")
        return self.confirm_link(browser, email)


@pytest.fixture
def op() -> Iterator[LoopbackProvider]:
    with LoopbackProvider() as provider:
        yield provider


@pytest.fixture
def sso(portal: Portal, op: LoopbackProvider) -> Sso:
    portal.open_tenant("acme")
    portal.add_practitioner("acme", "ann@acme.test")
    op.login_as("ann-sub", email="ann@home.example", email_verified=True, given_name="Ann", family_name="Smith")
    return Sso(portal, op)


__all__ = ["PASSWORD", "Sso", "op", "sso"]
