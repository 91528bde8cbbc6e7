"""Benchmark 2: requests per second of a logged-in page (GET /account) against a bare Pyramid view.

    .venv/bin/python bench/page_views.py
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/page_views.py

Both apps are served by a real server process, on the same database: waitress as development.ini
serves (its defaults: 4 threads) and gunicorn with 2 gthread workers of 8 threads (as production).
The peer (bench/bare_app.py) is a bare Pyramid app: one route, one select by primary key, a short
text answer. The load generator is a
third process (bench/load.py): THREADS browsers, each logged in with its own session and connection.
Both apps are served side by side and loaded in turn, ROUNDS bursts each (WARM_UP seconds not counted,
then DURATION / ROUNDS seconds counted), so the machine's other load falls on both alike. The ratio
page/bare is the measure; req/s are printed as information. In-process, the SQL statements of one
/account GET are counted too, and its writes (there must be none).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import webtest
from sqlalchemy import select

from common import (
    PASSWORD,
    Portal,
    StatementCounter,
    benchmark_portal,
    count_line,
    goal_line,
    heading,
    populate,
    statement_lines,
    verbose,
)
from adapters.db import schema  # after common, which puts this checkout's src/ first on the path

BENCH = Path(__file__).resolve().parent
THREADS, WARM_UP, DURATION = 8, 0.5, 5.0  # DURATION seconds counted per app, in ROUNDS bursts
ROUNDS = 2
SLUG = "t0"
PAGE = "/account"
RATIO_GOAL, STATEMENT_GOAL = 0.85, 1


def logged_in(portal: Portal, n: int) -> webtest.TestApp:
    """Practitioner p<n>, logged in with a password in a browser of their own."""
    browser = webtest.TestApp(portal.app, extra_environ={"HTTP_HOST": portal.host(SLUG), "REMOTE_ADDR": f"10.2.{n}.1"})
    form = browser.get("/login").forms["login-form"]
    form["email"], form["password"] = f"p{n}@{SLUG}.test", PASSWORD
    form.submit(status=303)
    return browser


def headers(portal: Portal, browser: webtest.TestApp) -> dict[str, str]:
    cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    return {"Host": portal.host(SLUG), "Cookie": cookie}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(port: int, request_headers: dict[str, str]) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", PAGE, headers=request_headers)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextlib.contextmanager
def served(options: dict[str, Any], probe_headers: dict[str, str]) -> Iterator[int]:
    """A server process for the options (see bench/serve.py); yields its port once it answers 200."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(BENCH / "serve.py"), json.dumps({**options, "port": port})])
    try:
        deadline = time.monotonic() + 60
        while not answers(port, probe_headers):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {options['server']} server of the {options['app']} app did not start")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()  # gunicorn's master stops its workers on SIGTERM
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load(port: int, browsers: list[dict[str, str]]) -> dict[str, float]:
    """One burst of the load generator at ``port``: its requests per second, answers not 200, errors."""
    options = {"port": port, "path": PAGE, "headers": browsers, "warm_up": WARM_UP, "duration": DURATION / ROUNDS}
    done = subprocess.run(
        [sys.executable, str(BENCH / "load.py"), json.dumps(options)], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(done.stdout)
    if result["not_ok"] or result["errors"]:
        print(f"  warning: {result['not_ok']:.0f} answers were not 200, {result['errors']:.0f} connection errors")
    return result


def compare(options: dict[str, Any], browsers: list[dict[str, str]]) -> tuple[float, float]:
    """Requests per second of the page and of the bare app, served side by side and loaded in turn, so a
    change in the machine's other load falls on both."""
    with (
        served({**options, "app": "page"}, browsers[0]) as page,
        served({**options, "app": "bare"}, browsers[0]) as bare,
    ):
        bursts = [(load(page, browsers)["rps"], load(bare, browsers)["rps"]) for _ in range(ROUNDS)]
    return statistics.mean(p for p, _ in bursts), statistics.mean(b for _, b in bursts)


def statements_of_a_page(portal: Portal, browser: webtest.TestApp) -> None:
    counter = StatementCounter(portal.engine)
    for _ in range(3):  # the last one: whatever a process caches is cached by then
        with counter:
            browser.get(PAGE, status=200)
    writes = counter.writes
    count_line(
        f"SQL statements of one GET {PAGE} (in-process)",
        counter.count,
        f"<= {STATEMENT_GOAL}",
        counter.count <= STATEMENT_GOAL,
        "session + practitioner + tenant in one",
    )
    verdict = "none (met)" if not writes else f"{len(writes)} (NOT MET): " + "; ".join(w.split()[0] for w in writes)
    print(f"  {'writes in that GET':<44} {verdict}")
    if verbose():
        print(statement_lines(counter.statements))


def run() -> None:
    with benchmark_portal() as portal:
        heading(f"2. Logged-in page view (GET {PAGE}) against a bare Pyramid view, {THREADS} clients, {DURATION:g} s")
        populate(portal, 0, 1, THREADS)
        browsers = [logged_in(portal, n) for n in range(THREADS)]
        statements_of_a_page(portal, browsers[0])
        practitioner_id = _practitioner_id(portal, f"p0@{SLUG}.test")
        requests = [headers(portal, browser) for browser in browsers]
        for server, label in (("waitress", "waitress (development.ini)"), ("gunicorn", "gunicorn -w 2, gthread x 8")):
            options = {"server": server, "settings": portal.settings, "practitioner_id": practitioner_id}
            page, bare = compare(options, requests)
            ratio = page / bare
            goal_line(
                f"page / bare, {label}",
                ratio,
                f">= {RATIO_GOAL:g}x",
                ratio >= RATIO_GOAL,
                f"{page:,.0f} vs {bare:,.0f} req/s",
            )


def _practitioner_id(portal: Portal, email: str) -> str:
    with portal.engine.connect() as connection:
        return str(connection.scalar(select(schema.practitioners.c.id).where(schema.practitioners.c.email == email)))


if __name__ == "__main__":
    run()
