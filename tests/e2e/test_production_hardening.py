"""In production a failure shows the error page, with the security headers, and its log line
carries no secret: no single-use token from the path, no statement parameter (mailed links).
Every cookie is Secure."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, event

from entrypoints.web import main
from tests.e2e.conftest import Portal, app_settings
from tests.e2e.test_security_headers import assert_protected

TOKEN = "Sx1gq8Zb0cQn4VfR7tYw2LmK9pJd3HaE6uNo5BiC"


@pytest.fixture
def production(database_url: str, tmp_path: Path, clean_database: Engine) -> Iterator[Portal]:
    """The app as production.ini runs it: https, no development shortcuts."""
    settings = {
        **app_settings(database_url, tmp_path),
        "app.development": "false",
        "app.scheme": "https",
        "secrets.key": Fernet.generate_key().decode(),
        "passwords.hash_profile": "default",
    }
    app = main({}, **settings)
    yield Portal(app, tmp_path)
    app.registry.db_engine.dispose()


@contextmanager
def failing(engine: Engine, statement: str) -> Iterator[None]:
    """Every statement containing ``statement`` fails as the database driver fails."""

    def fail(conn: Any, cursor: Any, text: str, *_: Any) -> None:
        if statement in text:
            raise engine.dialect.loaded_dbapi.OperationalError("simulated: the database failed")

    event.listen(engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", fail)


def test_a_page_whose_database_read_fails_gets_the_error_page_with_the_security_headers(production: Portal) -> None:
    with failing(production.app.registry.db_engine, "FROM tenants"):
        page = production.browser("acme").get("/login", status=500)
    assert "Something went wrong" in page.text
    assert_protected(page)
    assert page.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


@pytest.mark.parametrize(
    "path, route", [("/recover/", "/recover/{token}"), ("/password/reset/", "/password/reset/{token}")]
)
def test_the_log_of_a_failed_request_names_its_route_never_the_token_in_its_path(
    production: Portal, caplog: pytest.LogCaptureFixture, path: str, route: str
) -> None:
    with caplog.at_level(logging.WARNING), failing(production.app.registry.db_engine, "FROM tenants"):
        production.browser("acme").get(path + TOKEN, status=500)
    assert f"unexpected error on GET {route}" in caplog.text
    assert TOKEN not in caplog.text


def test_a_database_error_in_the_log_repeats_none_of_its_parameters_such_as_a_mailed_reset_link(
    production: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    owner = production.open_tenant("acme")
    browser = production.browser("acme")
    browser.extra_environ["wsgi.url_scheme"] = "https"  # the CSRF cookie is Secure
    form = next(f for f in browser.get("/password/forgot").forms.values() if "email" in f.fields)
    form["email"] = owner
    with caplog.at_level(logging.WARNING), failing(production.app.registry.db_engine, "INSERT INTO mail_outbox"):
        assert "Something went wrong" in form.submit(status=500).text
    assert "INSERT INTO mail_outbox" in caplog.text  # the failure is logged, its statement named
    assert "/password/reset/" not in caplog.text and owner not in caplog.text


def test_every_cookie_production_sets_is_secure_http_only_and_same_site(production: Portal) -> None:
    owner = production.open_tenant("acme")
    browser = production.browser("acme")
    browser.extra_environ["wsgi.url_scheme"] = "https"
    set_cookies = browser.get("/login").headers.getall("Set-Cookie")  # the CSRF cookie
    set_cookies += production.log_in(browser, owner).headers.getall("Set-Cookie")  # the session
    set_cookies += browser.get("/language?lang=de&next=/account", status=303).headers.getall("Set-Cookie")
    names = {cookie.split("=", 1)[0] for cookie in set_cookies}
    assert {"portal_csrf", "portal_session", "lang"} <= names
    for cookie in set_cookies:
        flags = {flag.strip().lower() for flag in cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax"} <= flags, cookie
