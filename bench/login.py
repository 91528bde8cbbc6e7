"""Benchmark 4: password login and a logged-in page as tenants and practitioners grow.

    .venv/bin/python bench/login.py                 # SQLite in a temporary directory
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/login.py

For each size it counts the SQL statements of a login and of a logged-in page (they must not grow
with size: no N+1) and times the median login and page. Real argon2 parameters are used, as in
production, so the login time is mostly the password hash. Each is then printed as a ratio, the
largest size against the smallest, measured in the same run: flat is 1.0x.
"""

from __future__ import annotations

import statistics
import time

import webtest

from common import BASE_DOMAIN, PASSWORD, Portal, StatementCounter, benchmark_portal, goal_line, heading, populate

SIZES = [(1, 10), (20, 500), (100, 2000)]  # (tenants, practitioners per tenant)
LOGINS = 15
PAGES_PER_LOGIN = 5  # a page costs milliseconds, a login an argon2 hash: more pages make a steadier median
FLAT_TIME = 1.5  # timings on a shared machine wander; a scan that grows with the data goes far past this


def measure(portal: Portal, slug: str, per_tenant: int) -> tuple[int, int, float, float]:
    """Statements of a login and of the home page, and their median times in seconds."""
    counter = StatementCounter(portal.engine)
    login_times, page_times = [], []
    login_statements = page_statements = 0
    for i in range(LOGINS):
        browser = webtest.TestApp(
            portal.app, extra_environ={"HTTP_HOST": f"{slug}.{BASE_DOMAIN}", "REMOTE_ADDR": f"10.0.{i}.1"}
        )
        form = browser.get("/login").forms["login-form"]
        form["email"], form["password"] = f"p{i % per_tenant}@{slug}.test", PASSWORD
        with counter:
            started = time.perf_counter()
            form.submit(status=303)
            login_times.append(time.perf_counter() - started)
        login_statements = max(login_statements, counter.count)
        for _ in range(PAGES_PER_LOGIN):
            with counter:
                started = time.perf_counter()
                browser.get("/", status=200)
                page_times.append(time.perf_counter() - started)
            page_statements = max(page_statements, counter.count)
    return login_statements, page_statements, statistics.median(login_times), statistics.median(page_times)


def run() -> None:
    with benchmark_portal() as portal:
        heading("4. Password login and a logged-in page as tenants grow (largest size / smallest size)")
        print(f"  {'tenants':>8} {'per tenant':>10} {'login SQL':>9} {'page SQL':>8} {'login ms':>9} {'page ms':>8}")
        results = []
        made = 0
        for tenants, per_tenant in SIZES:
            populate(portal, made, tenants, per_tenant)
            made = tenants
            result = measure(portal, f"t{tenants - 1}", per_tenant)
            results.append(result)
            login_sql, page_sql, login_s, page_s = result
            print(
                f"  {tenants:>8} {per_tenant:>10} {login_sql:>9} {page_sql:>8} {login_s * 1000:>9.1f} {page_s * 1000:>8.1f}"
            )
        size = f"{SIZES[-1][0]}x{SIZES[-1][1]} / {SIZES[0][0]}x{SIZES[0][1]}"
        names = ("login SQL statements", "page SQL statements", "login time (median)", "page time (median)")
        for label, small, big, goal in zip(names, results[0], results[-1], (1.0, 1.0, FLAT_TIME, FLAT_TIME)):
            ratio = big / small
            goal_line(f"{label}, {size}", ratio, f"<= {goal:g}x", ratio <= goal)
        print(f"  {'':<44} statements must not grow at all; times within {FLAT_TIME:g}x (noise), no scan")


if __name__ == "__main__":
    run()
