"""Every response forbids framing and sniffing and allows only the portal's own scripts and styles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import webtest
from cryptography.fernet import Fernet

from entrypoints.web import main
from entrypoints.web.headers import CONTENT_SECURITY_POLICY
from tests.e2e.conftest import BASE_DOMAIN, app_settings

TEMPLATES = Path(__file__).parents[2] / "src" / "entrypoints" / "web" / "templates"


def assert_protected(response: webtest.TestResponse) -> None:
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.parametrize(
    "host, path, status",
    [
        (f"acme.{BASE_DOMAIN}", "/login", 200),
        (f"acme.{BASE_DOMAIN}", "/no/such/page", 404),
        (f"nobody.{BASE_DOMAIN}", "/login", 404),
        ("evil.example", "/login", 400),
        (BASE_DOMAIN, "/", 200),
        (f"acme.{BASE_DOMAIN}", "/admin/authentication", 303),
    ],
)
def test_every_page_and_error_page_carries_the_security_headers(portal, host, path, status):
    portal.open_tenant("acme")
    browser = portal.browser("acme")
    browser.extra_environ["HTTP_HOST"] = host
    assert_protected(browser.get(path, status=status))


def test_admin_pages_carry_the_security_headers(portal):
    owner = portal.open_tenant("acme")
    browser = portal.browser("acme")
    portal.log_in(browser, owner)
    for path in ("/admin/authentication", "/admin/provisioning", "/admin/practitioners", "/account"):
        assert_protected(browser.get(path))


def test_development_sends_no_hsts(portal):
    portal.open_tenant("acme")
    assert "Strict-Transport-Security" not in portal.browser("acme").get("/login").headers


def test_production_sends_hsts_for_the_instances(database_url, outbox_dir):
    settings = {
        **app_settings(database_url, outbox_dir),
        "app.development": "false",
        "app.scheme": "https",
        "secrets.key": Fernet.generate_key().decode(),
        "passwords.hash_profile": "default",
    }
    app = webtest.TestApp(main({}, **settings), extra_environ={"HTTP_HOST": BASE_DOMAIN, "wsgi.url_scheme": "https"})
    response = app.get("/")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert_protected(response)


def test_no_template_has_inline_script_style_or_event_handler():
    """The policy forbids them, so one would silently stop working in the browser."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)
    offenders = [
        f"{path.name}: {match.group(0).strip()}"
        for path in sorted(TEMPLATES.glob("*.jinja2"))
        for match in inline.finditer(path.read_text())
    ]
    assert offenders == []


def test_the_policy_allows_nothing_from_elsewhere():
    sources = [part.split()[1:] for part in CONTENT_SECURITY_POLICY.split("; ")]
    assert {source for part in sources for source in part} <= {"'self'", "'none'", "data:"}
