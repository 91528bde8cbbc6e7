"""A pooled connection that the database server dropped costs no one an error page.

The web app does not ping before each request's first statement (a round trip on every page);
a request that meets a dead connection is run again on a new one instead (entrypoints/web:
``retry_on_lost_connections``). PostgreSQL only: SQLite has no server to drop a connection.
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from sqlalchemy import Connection, Engine, text

from tests.e2e.conftest import Portal


def _drop_pooled_connections(app_engine: Engine, admin: Engine) -> int:
    """Ends, on the server, the backend of every connection idle in the app's pool (and only
    those: other tests may share the database); returns how many."""
    with ExitStack() as stack:
        connections: list[Connection] = [
            stack.enter_context(app_engine.connect())
            for _ in range(app_engine.pool.checkedin())  # type: ignore[attr-defined]
        ]
        pids = [connection.scalar(text("SELECT pg_backend_pid()")) for connection in connections]
    with admin.connect() as connection:
        for pid in pids:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return len(pids)


def test_a_page_is_served_after_the_server_dropped_the_pooled_connections(
    portal: Portal, engine: Engine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server that could drop a connection")
    portal.open_tenant()
    browser = portal.browser()
    portal.log_in(browser, "owner@acme.test")
    browser.get("/account", status=200)
    app_engine: Engine = portal.app.registry.db_engine
    assert _drop_pooled_connections(app_engine, engine) >= 1

    page = browser.get("/account", status=200)  # the first statement met a dead connection

    assert "owner@acme.test" in page.text  # still logged in: the session was read on the retry
