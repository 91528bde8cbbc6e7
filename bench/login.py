"""Benchmark: password login and an authenticated page, as tenants and practitioners grow.

    .venv/bin/python bench/login.py                 # SQLite in a temporary directory
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/login.py

For each size it reports SQL statements per request (must not grow with size: no N+1) and
the median time of a login and of a logged-in page. Real argon2 parameters are used, as in
production, so the login time is mostly the password hash.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import webtest
from pyramid.scripting import prepare
from sqlalchemy import event, insert

from adapters.db import migrate, schema
from adapters.db.engine import make_engine
from domain.model import new_id
from domain.ports import Clock, PasswordHasher
from domain.tenants import TenantOnboarding
from entrypoints.web import main

SIZES = [(1, 10), (20, 500), (100, 2000)]  # (tenants, practitioners per tenant)
LOGINS = 15
PASSWORD = "benchmark password 1"


def build_app(url: str, outbox: Path) -> webtest.TestApp:
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return main(
        {},
        **{
            "sqlalchemy.url": url,
            "app.base_domain": "bench.test",
            "app.scheme": "http",
            "app.development": "true",
            "session.secret": "bench-secret-" + "x" * 32,
            "mail.outbox_dir": str(outbox),
        },
    )


def populate(app, first_tenant: int, tenants: int, per_tenant: int) -> None:
    """Bulk inserts: the benchmark measures reading, not provisioning."""
    env = prepare(registry=app.registry)
    request = env["request"]
    with request.tm:
        hasher, now = request.find_service(PasswordHasher), request.find_service(Clock).now()
        password_hash = hasher.hash(PASSWORD)
        onboarding = request.find_service(TenantOnboarding)
        for n in range(first_tenant, tenants):
            tenant = onboarding.open_tenant(f"t{n}", f"Tenant {n}", f"owner@t{n}.test", PASSWORD).tenant
            rows = [
                dict(id=new_id(), tenant_id=tenant.id, email=f"p{i}@t{n}.test", first_name="P",
                     last_name=f"L{i}", password_hash=password_hash, active=True, is_owner=False,
                     rights=frozenset(), created_at=now)
                for i in range(per_tenant)
            ]
            request.dbsession.execute(insert(schema.practitioners), rows)
    env["closer"]()


def measure(app, slug: str, per_tenant: int) -> tuple[int, int, float, float]:
    engine = app.registry.db_engine
    counted: list[str] = []
    listener = lambda *args: counted.append(args[2])  # noqa: E731
    login_times, page_times, login_statements, page_statements = [], [], 0, 0
    for i in range(LOGINS):
        browser = webtest.TestApp(app, extra_environ={"HTTP_HOST": f"{slug}.bench.test", "REMOTE_ADDR": f"10.0.{i}.1"})
        form = browser.get("/login").forms["login-form"]
        form["email"], form["password"] = f"p{i % per_tenant}@{slug}.test", PASSWORD
        event.listen(engine, "before_cursor_execute", listener)
        started = time.perf_counter()
        form.submit(status=303)
        login_times.append(time.perf_counter() - started)
        login_statements, counted[:] = len(counted), []
        started = time.perf_counter()
        browser.get("/", status=200)
        page_times.append(time.perf_counter() - started)
        page_statements, counted[:] = len(counted), []
        event.remove(engine, "before_cursor_execute", listener)
    return login_statements, page_statements, statistics.median(login_times), statistics.median(page_times)


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
        app = build_app(url, Path(tmp) / "outbox")
        print(f"database: {url.split('@')[-1]}")
        print(f"{'tenants':>8} {'per tenant':>10} {'login SQL':>9} {'page SQL':>8} {'login ms':>9} {'page ms':>8}")
        made = 0
        for tenants, per_tenant in SIZES:
            populate(app, made, tenants, per_tenant)
            made = tenants
            login_sql, page_sql, login_s, page_s = measure(app, f"t{tenants - 1}", per_tenant)
            print(f"{tenants:>8} {per_tenant:>10} {login_sql:>9} {page_sql:>8} {login_s * 1000:>9.1f} {page_s * 1000:>8.1f}")
        if url.startswith("postgresql"):
            with app.registry.db_engine.begin() as connection:
                for table in reversed(schema.metadata.sorted_tables):
                    connection.execute(table.delete())


if __name__ == "__main__":
    sys.exit(run())
