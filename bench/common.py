"""What the benchmarks share: the app on a fresh database, bulk data, SQL statement counting, the report lines."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "src", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from pyramid.router import Router  # noqa: E402
from pyramid.scripting import prepare  # noqa: E402
from sqlalchemy import Engine, event, insert  # noqa: E402

from adapters.db import migrate, schema  # noqa: E402
from adapters.db.engine import make_engine  # noqa: E402
from domain.identifiers import new_id  # noqa: E402
from domain.ports import Clock, PasswordHasher  # noqa: E402
from domain.practitioners.practitioner import fold_user_name  # noqa: E402
from domain.tenancy.onboarding import TenantOnboarding  # noqa: E402
from entrypoints.web import main  # noqa: E402

PASSWORD = "benchmark password 1"
BASE_DOMAIN = "bench.test"


@dataclass
class Portal:
    """The app under test, the settings it was made with (a server process makes its own from them),
    and a second app on the same database that hashes passwords cheaply, only to open tenants fast."""

    app: Router
    settings: dict[str, str]
    populating_app: Router

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.registry.db_engine
        return engine

    @property
    def url(self) -> str:
        return self.settings["sqlalchemy.url"]

    def host(self, slug: str) -> str:
        return f"{slug}.{BASE_DOMAIN}"


@contextlib.contextmanager
def benchmark_portal(**settings: str) -> Iterator[Portal]:
    """The real app on SQLite in a temporary directory, or on BENCH_DATABASE_URL (emptied after)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        full = {
            "sqlalchemy.url": url,
            "app.base_domain": BASE_DOMAIN,
            "app.scheme": "http",
            "app.development": "true",
            "session.secret": "bench-secret-" + "x" * 32,
            "secrets.key": "bench",
            "mail.outbox_dir": str(Path(tmp) / "outbox"),
            **settings,
        }
        # Opening a tenant hashes its owner's password: 0.3 s each with production's argon2 parameters.
        portal = Portal(main({}, **full), full, main({}, **{**full, "passwords.hash_profile": "cheapest"}))
        print(f"database: {url.split('@')[-1]} (driver {portal.engine.dialect.driver})")
        try:
            yield portal
        finally:
            if url.startswith("postgresql"):
                with portal.engine.begin() as connection:
                    for table in reversed(schema.metadata.sorted_tables):
                        connection.execute(table.delete())
            for app in (portal.app, portal.populating_app):
                app.registry.db_engine.dispose()


def populate(portal: Portal, first_tenant: int, tenants: int, per_tenant: int) -> list[str]:
    """Tenants t<first>..t<tenants-1>, each with practitioners p0..p<per_tenant-1> (their email proven,
    their password PASSWORD hashed as in production), by bulk insert. Returns the new tenants' ids."""
    password_hash = _service(portal.app, PasswordHasher).hash(PASSWORD)
    env = prepare(registry=portal.populating_app.registry)
    request = env["request"]
    ids = []
    with request.tm:
        now = request.find_service(Clock).now()
        onboarding = request.find_service(TenantOnboarding)
        for n in range(first_tenant, tenants):
            tenant = onboarding.open_tenant(f"t{n}", f"Tenant {n}", f"owner@t{n}.test", PASSWORD).tenant
            ids.append(tenant.id)
            rows = [_practitioner(tenant.id, f"p{i}@t{n}.test", password_hash, now) for i in range(per_tenant)]
            if rows:
                request.dbsession.execute(insert(schema.practitioners), rows)
    env["closer"]()
    return ids


def _practitioner(tenant_id: str, email: str, password_hash: str, now: Any) -> dict[str, Any]:
    return dict(
        id=new_id(),
        tenant_id=tenant_id,
        email=email,
        first_name="P",
        last_name=email.split("@")[0],
        password_hash=password_hash,
        active=True,
        is_owner=False,
        rights=frozenset(),
        created_at=now,
        email_proven=True,
        email_primary=True,
        version=1,
        user_name_key=fold_user_name(email),
    )


def _service(app: Router, port: type[Any]) -> Any:
    env = prepare(registry=app.registry)
    try:
        return env["request"].find_service(port)
    finally:
        env["closer"]()


def wsgi_get(host: str, path_and_query: str, cookie: str, remote_addr: str) -> dict[str, Any]:
    """The WSGI environ of a GET as a server makes it: the benchmarks call the app with it directly,
    so the CPU they time is the app's alone, not a test client's building and parsing."""
    path, _, query = path_and_query.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": host,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": remote_addr,
        "HTTP_HOST": host,
        "HTTP_COOKIE": cookie,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def call(app: Any, environ: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """Calls a WSGI app with a copy of ``environ``, reads the whole body; its status and headers."""
    answer: list[Any] = []
    body = app(dict(environ), lambda status, headers, exc_info=None: answer.extend((status, dict(headers))))
    try:
        for _ in body:
            pass
    finally:
        getattr(body, "close", lambda: None)()
    return answer[0], answer[1]


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


# BEGIN, COMMIT and ROLLBACK are not counted: SQLite's BEGIN IMMEDIATE goes through the engine like a
# statement, psycopg's BEGIN does not, so counting them would make the databases disagree. SAVEPOINTs
# are asked for by the code, so they count.
_TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK)\b", re.IGNORECASE)
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|MERGE)\b|.*\bFOR\s+(NO\s+KEY\s+)?UPDATE\b", re.IGNORECASE | re.DOTALL)


@dataclass
class StatementCounter:
    """The SQL statements an engine runs while the counter is active (transaction control left out)."""

    engine: Engine
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def writes(self) -> list[str]:
        """The statements that write or lock a row."""
        return [s for s in self.statements if _WRITE.match(s)]

    def _record(self, conn: object, cursor: object, statement: str, *rest: object) -> None:
        if not _TRANSACTION_CONTROL.match(statement):
            self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def statement_lines(statements: list[str]) -> str:
    """One line per statement, its first words: what to read when a count goes up."""
    return "\n".join("      " + " ".join(s.split())[:110] for s in statements)


def verbose() -> bool:
    """BENCH_VERBOSE=1 prints the statements behind each count."""
    return os.environ.get("BENCH_VERBOSE", "") not in ("", "0")


def heading(title: str) -> None:
    print(f"\n== {title}")


def goal_line(label: str, ratio: float, goal: str, met: bool, info: str = "", why: str = "") -> None:
    """One measured ratio against its goal, the absolute figures as information only, and what it means."""
    verdict = "met" if met else "NOT MET"
    print(f"  {label:<44} {ratio:>8.2f}x   goal {goal:<8} {verdict:<8} {info}")
    if why:
        print(f"  {'':<44} {why}")


def count_line(label: str, count: int, goal: str, met: bool, why: str = "") -> None:
    verdict = "met" if met else "NOT MET"
    print(f"  {label:<44} {count:>8}    goal {goal:<8} {verdict:<8} {why}")
