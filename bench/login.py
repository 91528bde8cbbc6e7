"""Benchmark: password login and an authenticated page, as tenants and practitioners grow.

    .venv/bin/python bench/login.py                 # SQLite in a temporary directory
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/login.py

For each size it reports SQL statements per request (must not grow with size: no N+1) and
the median time of a login and of a logged-in page. Real argon2 parameters are used, as in
production, so the login time is mostly the password hash.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import webtest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BASE_DOMAIN, PASSWORD, StatementCounter, benchmark_app, populate  # noqa: E402

SIZES = [(1, 10), (20, 500), (100, 2000)]  # (tenants, practitioners per tenant)
LOGINS = 15


def measure(app, slug: str, per_tenant: int) -> tuple[int, int, float, float]:
    counter = StatementCounter(app.registry.db_engine)
    login_times, page_times = [], []
    for i in range(LOGINS):
        browser = webtest.TestApp(
            app, extra_environ={"HTTP_HOST": f"{slug}.{BASE_DOMAIN}", "REMOTE_ADDR": f"10.0.{i}.1"}
        )
        form = browser.get("/login").forms["login-form"]
        form["email"], form["password"] = f"p{i % per_tenant}@{slug}.test", PASSWORD
        with counter:
            started = time.perf_counter()
            form.submit(status=303)
            login_times.append(time.perf_counter() - started)
        login_statements = counter.count
        with counter:
            started = time.perf_counter()
            browser.get("/", status=200)
            page_times.append(time.perf_counter() - started)
        page_statements = counter.count
    return login_statements, page_statements, statistics.median(login_times), statistics.median(page_times)


def run() -> None:
    with benchmark_app() as app:
        print(f"{'tenants':>8} {'per tenant':>10} {'login SQL':>9} {'page SQL':>8} {'login ms':>9} {'page ms':>8}")
        made = 0
        for tenants, per_tenant in SIZES:
            populate(app, made, tenants, per_tenant)
            made = tenants
            login_sql, page_sql, login_s, page_s = measure(app, f"t{tenants - 1}", per_tenant)
            print(
                f"{tenants:>8} {per_tenant:>10} {login_sql:>9} {page_sql:>8} {login_s * 1000:>9.1f} {page_s * 1000:>8.1f}"
            )


if __name__ == "__main__":
    sys.exit(run())
