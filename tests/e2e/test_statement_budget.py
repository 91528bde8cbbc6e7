"""What one request costs the database, counted on both databases: a budget, so no change adds a
statement, a write on a GET or a query per row unnoticed.

SQLite's BEGIN (the app opens SQLite transactions as writers, to avoid lock upgrades) is not a
statement about data and is not counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event

from tests.e2e.conftest import Portal
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)


class Statements(list[str]):
    @property
    def writes(self) -> list[str]:
        return [s for s in self if s.split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")]


@contextmanager
def counted(engine: Engine) -> Iterator[Statements]:
    seen = Statements()

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def app_engine(portal: Portal) -> Engine:
    return portal.app.registry.db_engine  # type: ignore[no-any-return]


def test_a_logged_in_page_reads_tenant_session_and_practitioner_in_one_statement(portal, app_engine):
    portal.open_tenant("acme")
    browser = portal.browser("acme")
    portal.log_in(browser, "owner@acme.test")
    for page in ("/account", "/"):
        with counted(app_engine) as statements:
            browser.get(page)
        assert len(statements) == 1, (page, statements)


@pytest.mark.parametrize("page", ["/account", "/account/linked", "/admin/practitioners", "/admin/authentication"])
def test_no_page_writes_on_a_get(portal, app_engine, page):
    portal.open_tenant("acme")
    browser = portal.browser("acme")
    portal.log_in(browser, "owner@acme.test")
    with counted(app_engine) as statements:
        browser.get(page)
    assert statements.writes == []


def test_an_anonymous_page_reads_its_tenant_in_one_statement(portal, app_engine):
    portal.open_tenant("acme")
    with counted(app_engine) as statements:
        portal.browser("acme").get("/password/forgot")
    assert len(statements) == 1, statements


def test_a_password_login_costs_at_most_eight_statements_with_its_audit_event(portal, app_engine):
    portal.open_tenant("acme")
    browser = portal.browser("acme")
    form = browser.get("/login").forms["login-form"]
    form["email"], form["password"] = "owner@acme.test", "correct horse battery"
    with counted(app_engine) as statements:
        form.submit(status=303)
    assert len(statements) <= 8, statements
    assert any("INSERT INTO audit_events" in s for s in statements)


def test_a_linked_sso_login_costs_at_most_six_statements_with_its_audit_event_and_link_use(sso: Sso, app_engine):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.first_login(browser, "ann@acme.test")
    sso.op.reset()
    browser = sso.portal.browser("acme")
    callback = sso.at_provider(sso.start(browser))
    with counted(app_engine) as statements:
        browser.get(callback, status=303)
    assert len(statements) <= 6, statements
    assert any("INSERT INTO audit_events" in s for s in statements)
    assert any("UPDATE identity_links SET last_used_at" in s for s in statements)
    assert any(s.startswith("UPDATE web_sessions SET id_digest") for s in statements)  # the rotation
