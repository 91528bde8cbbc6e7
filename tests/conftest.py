"""Database legs shared by the contract and e2e suites.

Every test that uses ``database_url`` runs once on SQLite and, when TEST_DATABASE_URL is
set, once more on PostgreSQL, in a schema of its own that is dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text

from adapters.db import migrate
from adapters.db.engine import make_engine
from adapters.db.schema import metadata

# CI tries the same examples on every run, so a red build names an input anyone can replay;
# a developer's run explores new ones each time (and finds what CI then keeps).
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def _migrate(url: str, revision: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine, revision)
    engine.dispose()


@contextmanager
def provisioned_database(kind: str, directory: Path, revision: str = "head") -> Iterator[str]:
    """An empty database of ``kind``, migrated up to ``revision``; a PostgreSQL schema is
    dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{directory / 'portal.sqlite'}"
        _migrate(url, revision)
        yield url
        return
    schema = f"portal_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _with_search_path(POSTGRES_URL, schema)
    try:
        _migrate(url, revision)
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with provisioned_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def empty_all_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def clean_database(engine: Engine) -> Iterator[Engine]:
    """Each test starts from empty tables and leaves them empty."""
    yield engine
    empty_all_tables(engine)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """Says how many tests passed on PostgreSQL; .ci/run fails the build when it is none."""
    passed = terminalreporter.stats.get("passed", [])
    on_postgres = sum(1 for report in passed if "postgresql" in report.nodeid)
    terminalreporter.write_line(f"postgresql leg: {on_postgres} passed")
