"""Benchmark 1: the CPU of one Single Sign On callback (/process_sso) against its floor, same process, same run.

    .venv/bin/python bench/sso_callback.py
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/sso_callback.py

The identity provider (tests/loopback_op) runs in another process, so time.process_time() of the
callback is the portal's CPU alone: pyoidc, the HTTP client, ID-token checks, the domain, SQLAlchemy,
the session. WebTest walks the browser to the provider and back; the callback itself is a direct
WSGI call with the browser's cookies, so no test client's work is timed. Three kinds of callback, each the median of
CALLBACKS after WARM_UP:

- (a) a linked identity logs in;
- (b) an unknown identity whose verified email is a practitioner's (policy link_verified_email);
- (c) an unknown identity registered just in time (policy register).

The floor (bench/floor.py: the token POST and userinfo GET, one RS256 check, 2 selects, 1 insert and a
commit with the driver itself) is sampled in this process right after each measured callback, so both
run under the same conditions; its median is the denominator of every ratio.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import webtest

from common import (
    BASE_DOMAIN,
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
from floor import Floor, FloorSample, Lookup, RelyingParty, redirect_from
from remote_op import RemoteProvider

WARM_UP, CALLBACKS = 5, 30
SLUG = "t0"
RP = RelyingParty("bench-client", "bench-secret", f"http://{SLUG}.{BASE_DOMAIN}/process_sso")
CPU_GOAL, STATEMENT_GOAL = 3.0, 6


@dataclass(frozen=True)
class Identity:
    """Who the provider says signs in."""

    sub: str
    email: str

    @property
    def claims(self) -> dict[str, Any]:
        return {"email": self.email, "email_verified": True, "given_name": "Bench", "family_name": self.sub}


@dataclass
class Callbacks:
    """The measured callbacks of one kind."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    last: list[str] = field(default_factory=list)  # the statements of the last one
    floor: list[FloorSample] = field(default_factory=list)  # sampled right after each callback


def owner_browser(portal: Portal, tenant: str = SLUG) -> webtest.TestApp:
    browser = webtest.TestApp(portal.app, extra_environ={"HTTP_HOST": portal.host(tenant), "REMOTE_ADDR": "10.9.9.9"})
    form = browser.get("/login").forms["login-form"]
    form["email"], form["password"] = f"owner@{tenant}.test", PASSWORD
    form.submit(status=303)
    return browser


def connect_provider(admin: webtest.TestApp, op: RemoteProvider) -> str:
    """The loopback provider, configured on the Authentication page as an admin would; returns its id."""
    form = admin.get("/admin/authentication").forms["provider-form"]
    values = {
        "display_name": "Bench IdP",
        "client_id": RP.client_id,
        "client_secret": RP.client_secret,
        "issuer": op.issuer,
        "authorization_endpoint": op.url("/authorization"),
        "token_endpoint": op.url("/token"),
        "jwks_uri": op.url("/jwks"),
        "userinfo_endpoint": op.url("/userinfo"),
    }
    for name, value in values.items():
        form[name] = value
    form["enabled"] = True
    saved = form.submit("action", value="save", status=303)
    return str(parse_qs(urlsplit(saved.location).query)["provider"][0])


def set_policy(admin: webtest.TestApp, unknown_identity: str) -> None:
    """The tenant's way with unknown identities, saved on the policy page (so any tenant cache hears of it)."""
    form = admin.get("/admin/authentication/policy").forms["policy-form"]
    form["unknown_identity"] = unknown_identity
    form.submit("action", value="save", status=303)


def callback(portal: Portal, op: RemoteProvider, identity: Identity, n: int, counter: StatementCounter) -> float:
    """One sign-in by a fresh browser; the callback's CPU seconds (its wall time and statements go to the
    counter's owner). The hop to the provider is not timed."""
    op.login_as(identity.sub, **identity.claims)
    address = f"10.{n // 250}.{n % 250}.1"
    browser = webtest.TestApp(portal.app, extra_environ={"HTTP_HOST": portal.host(SLUG), "REMOTE_ADDR": address})
    start = next(form for form in browser.get("/login").forms.values() if form.action.startswith("/sso/"))
    target = urlsplit(redirect_from(start.submit(status=303).location))
    environ = wsgi_get(portal.host(SLUG), f"{target.path}?{target.query}", cookie_header(browser.cookies), address)
    with counter:
        started = time.process_time()
        status, headers = call(portal.app, environ)
        cpu = time.process_time() - started
    location = headers.get("Location", "")
    if not status.startswith("303") or location.endswith(("/sso/link", "/login")):
        raise RuntimeError(f"{identity.sub} was not logged in: the callback answered {status} to {location}")
    return cpu


def measure(portal: Portal, op: RemoteProvider, floor: Floor, identities: Sequence[Identity]) -> Callbacks:
    """Each identity signs in once; the first WARM_UP are not counted. A floor sample follows each callback."""
    result = Callbacks()
    counter = StatementCounter(portal.engine)
    for n, identity in enumerate(identities):
        started = time.perf_counter()
        cpu = callback(portal, op, identity, n, counter)
        wall = time.perf_counter() - started
        floor_sample = floor.sample()
        if n >= WARM_UP:
            result.cpu.append(cpu)
            result.wall.append(wall)
            result.statements.append(counter.count)
            result.last = counter.statements
            result.floor.append(floor_sample)
    return result


def micros(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def report(kind: str, callbacks: Callbacks, floor_cpu: float) -> None:
    cpu = statistics.median(callbacks.cpu)
    print(f"  ({kind})")
    ratio = cpu / floor_cpu
    goal_line(
        "callback CPU / floor",
        ratio,
        f"<= {CPU_GOAL:g}x",
        ratio <= CPU_GOAL,
        f"{micros(cpu)} vs {micros(floor_cpu)}; wall {statistics.median(callbacks.wall) * 1000:.1f} ms",
    )
    most, least = max(callbacks.statements), min(callbacks.statements)
    spread = "" if most == least else f"(between {least} and {most})"
    count_line("SQL statements per callback (most)", most, f"<= {STATEMENT_GOAL}", most <= STATEMENT_GOAL, spread)
    if verbose():
        print(statement_lines(callbacks.last))


def describe_floor(floor: Floor, samples: list[FloorSample]) -> float:
    """Prints what the floor is and its parts; returns its median CPU seconds."""
    total = statistics.median(s.total for s in samples)
    parts = ", ".join(
        f"{name} {micros(statistics.median(getattr(s, name) for s in samples))}"
        for name in ("http", "verify", "database")
    )
    connections = "one keep-alive connection" if floor.keep_alive else "the provider closes each connection (HTTP/1.0)"
    print(f"  floor: {micros(total)}, median of {len(samples)} samples taken between the callbacks ({parts})")
    print(f"    http: token POST + userinfo GET with http.client, {connections}")
    print("    verify: one RS256 signature check of the ID token with cryptography")
    print(f"    database: 2 indexed selects, 1 insert, commit, with the {floor.driver} driver (raw DB-API connection)")
    return total


def run() -> None:
    with RemoteProvider() as op, benchmark_portal() as portal:
        heading(f"1. SSO callback CPU against its floor (provider in process {op.pid}, medians of {CALLBACKS})")
        [tenant_id] = populate(portal, 0, 1, WARM_UP + CALLBACKS)
        op.register_client(RP.client_id, RP.client_secret, RP.redirect_uri)
        admin = owner_browser(portal)
        # The floor looks up the first identity's link, made by the first callback.
        floor = Floor(portal, op, RP, Lookup(SLUG, tenant_id, connect_provider(admin, op), "sub-0"))
        op.reset()  # from here on every JWKS or discovery fetch is the portal's
        known = [Identity(f"sub-{i}", f"p{i}@{SLUG}.test") for i in range(WARM_UP + CALLBACKS)]
        set_policy(admin, "link_verified_email")
        by_email = measure(portal, op, floor, known)  # links them all...
        linked = measure(portal, op, floor, known)  # ...so now they are linked identities
        set_policy(admin, "register")
        registered = measure(
            portal, op, floor, [Identity(f"new-{i}", f"new{i}@{SLUG}.test") for i in range(len(known))]
        )
        hits = op.hits()
        back_to_back = [floor.sample() for _ in range(CALLBACKS)]
        floor.close()
        floor_cpu = describe_floor(floor, by_email.floor + linked.floor + registered.floor)
        warm = statistics.median(s.total for s in back_to_back)
        print(f"    (information: {micros(warm)} when sampled back to back, with no callback between)")
        report("a: linked identity", linked, floor_cpu)
        report("b: unknown identity, linked by verified email", by_email, floor_cpu)
        report("c: unknown identity, registered just in time", registered, floor_cpu)
        jwks, discovery = hits.get("/jwks", 0), hits.get("/.well-known/openid-configuration", 0)
        count_line("JWKS fetches, all callbacks", jwks, "1", jwks == 1, "the first callback fetches the keys, once")
        count_line("discovery fetches, all callbacks", discovery, "0", discovery == 0, "a login never discovers")


if __name__ == "__main__":
    run()
