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

The anatomy (in-process, no server, the WSGI app called directly with the same request): the CPU of
one request of each app, and how much of the page's goes to rendering its Jinja2 template, timed
around ``jinja2.Template.render``. The bare view renders no template, so bare / (bare + render) bounds
the in-process ratio of any page that renders this template, whatever the rest of it costs.
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

import jinja2
import webtest
from sqlalchemy import select

from common import (
    PASSWORD,
    Portal,
    StatementCounter,
    benchmark_portal,
    call,
    cookie_header,
    count_line,
    goal_line,
    heading,
    populate,
    statement_lines,
    verbose,
    wsgi_get,
)
from bare_app import bare_app
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
    return {"Host": portal.host(SLUG), "Cookie": cookie_header(browser.cookies)}


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


def cpu_per_request(app: Any, request_environ: dict[str, Any], n: int = 300) -> float:
    """CPU seconds of one request of ``app``, called directly (median of 3 runs of n, after a warm-up)."""

    def get() -> None:
        status, _ = call(app, request_environ)
        if not status.startswith("200"):
            raise RuntimeError(f"GET {PAGE} answered {status}")

    runs = []
    for _ in range(4):
        started = time.process_time()
        for _ in range(n):
            get()
        runs.append((time.process_time() - started) / n)
    return statistics.median(runs[1:])


@contextlib.contextmanager
def render_timer() -> Iterator[list[float]]:
    """The CPU seconds of each Jinja2 template render while active (the bench's own instrument)."""
    spent: list[float] = []
    original = jinja2.Template.render

    def timed(self: jinja2.Template, *args: Any, **kwargs: Any) -> str:
        started = time.process_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent.append(time.process_time() - started)

    jinja2.Template.render = timed  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        jinja2.Template.render = original  # type: ignore[method-assign]


def anatomy(portal: Portal, request_headers: dict[str, str], practitioner_id: str) -> None:
    """In-process CPU of one request of each app, and the page's part spent rendering its template."""
    request_environ = wsgi_get(request_headers["Host"], PAGE, request_headers["Cookie"], "10.2.0.1")
    bare = cpu_per_request(bare_app(portal.settings["sqlalchemy.url"], practitioner_id), request_environ)
    with render_timer() as spent:
        page = cpu_per_request(portal.app, request_environ)
    render = statistics.median(spent)
    print(f"  in-process CPU of one GET (no server): bare {bare * 1e6:,.0f} µs, page {page * 1e6:,.0f} µs")
    print(
        f"    of the page's: rendering its template {render * 1e6:,.0f} µs ({render / bare:.1f}x the bare view's whole"
        f" request), the rest {(page - render) * 1e6:,.0f} µs ({(page - render) / bare:.1f}x)"
    )
    print(
        f"    so a page rendering this template reaches at most {bare / (bare + render):.2f}x of the bare view"
        " in-process, however cheap the rest"
    )


def run() -> None:
    with benchmark_portal() as portal:
        heading(f"2. Logged-in page view (GET {PAGE}) against a bare Pyramid view, {THREADS} clients, {DURATION:g} s")
        populate(portal, 0, 1, THREADS)
        browsers = [logged_in(portal, n) for n in range(THREADS)]
        statements_of_a_page(portal, browsers[0])
        practitioner_id = _practitioner_id(portal, f"p0@{SLUG}.test")
        requests = [headers(portal, browser) for browser in browsers]
        anatomy(portal, requests[0], practitioner_id)
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
