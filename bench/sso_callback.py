"""Benchmark: the Single Sign On callback (/process_sso) as tenants, practitioners and links grow.

    .venv/bin/python bench/sso_callback.py
    BENCH_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/sso_callback.py

Every tenant gets a provider and every practitioner a link. For each size it reports the SQL
statements of one callback (must not grow: no N+1), the median callback time (which includes
the real token and userinfo calls to the loopback provider), and how often the provider's JWKS
and discovery document were fetched over all callbacks (must stay at 1 and 0).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
import webtest
from pyramid.scripting import prepare
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
from common import BASE_DOMAIN, StatementCounter, benchmark_app, populate  # noqa: E402

from adapters.db import schema  # noqa: E402
from domain.identifiers import new_id  # noqa: E402
from domain.ports import Clock, SecretBox  # noqa: E402
from tests.loopback_op.provider import LoopbackProvider  # noqa: E402

SIZES = [(1, 10), (20, 500), (100, 2000)]  # (tenants, practitioners per tenant)
CALLBACKS = 15
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"


def connect_provider(app, tenant_ids: list[str], op: LoopbackProvider) -> None:
    """A provider per tenant and a link per practitioner, by bulk insert."""
    env = prepare(registry=app.registry)
    request = env["request"]
    with request.tm:
        sealed = request.find_service(SecretBox).seal(CLIENT_SECRET)
        now = request.find_service(Clock).now()
        session = request.dbsession
        for tenant_id in tenant_ids:
            provider_id = new_id()
            session.execute(
                insert(schema.identity_providers).values(
                    id=provider_id,
                    tenant_id=tenant_id,
                    display_name="Bench IdP",
                    client_id=CLIENT_ID,
                    sealed_client_secret=sealed,
                    issuer=op.issuer,
                    authorization_endpoint=op.url("/authorization"),
                    token_endpoint=op.url("/token"),
                    jwks_uri=op.url("/jwks"),
                    userinfo_endpoint=op.url("/userinfo"),
                    token_endpoint_auth_method="client_secret_basic",
                    enabled=True,
                    protocol="oidc",
                    subject_field="sub",
                    email_field="email",
                    given_name_field="given_name",
                    family_name_field="family_name",
                )
            )
            p = schema.practitioners.c
            practitioners = session.execute(select(p.id, p.email).where(p.tenant_id == tenant_id)).all()
            session.execute(
                insert(schema.identity_links),
                [
                    dict(
                        id=new_id(),
                        tenant_id=tenant_id,
                        practitioner_id=row.id,
                        provider_id=provider_id,
                        issuer=op.issuer,
                        subject=row.email,
                        linked_at=now,
                        last_used_at=None,
                        needs_reconfirmation=False,
                    )
                    for row in practitioners
                ],
            )
    env["closer"]()


def measure(app, op: LoopbackProvider, slug: str, per_tenant: int) -> tuple[int, float, int, int]:
    op.reset()
    counter = StatementCounter(app.registry.db_engine)
    times, statements = [], []
    for i in range(CALLBACKS):
        op.login_as(f"p{i % per_tenant}@{slug}.test")
        browser = webtest.TestApp(app, extra_environ={"HTTP_HOST": f"{slug}.{BASE_DOMAIN}"})
        start = next(f for f in browser.get("/login").forms.values() if f.action.startswith("/sso/"))
        answer = requests.get(start.submit(status=303).location, allow_redirects=False, timeout=10)
        target = urlsplit(answer.headers["Location"])
        with counter:
            started = time.perf_counter()
            browser.get(f"{target.path}?{target.query}", status=303)
            times.append(time.perf_counter() - started)
        statements.append(counter.count)
    # The first callback of a provider fetches its JWKS once; the others must not.
    return max(statements[1:]), statistics.median(times), op.hits["/jwks"], op.hits["/.well-known/openid-configuration"]


def run() -> None:
    with LoopbackProvider() as op, benchmark_app() as app:
        print(
            f"{'tenants':>8} {'per tenant':>10} {'callback SQL':>12} {'callback ms':>11} {'JWKS fetches':>12} {'discovery':>9}"
        )
        made = 0
        for tenants, per_tenant in SIZES:
            connect_provider(app, populate(app, made, tenants, per_tenant), op)
            made = tenants
            slug = f"t{tenants - 1}"
            op.register_client(CLIENT_ID, CLIENT_SECRET, f"http://{slug}.{BASE_DOMAIN}/process_sso")
            sql, median, jwks, discovery = measure(app, op, slug, per_tenant)
            print(f"{tenants:>8} {per_tenant:>10} {sql:>12} {median * 1000:>11.1f} {jwks:>12} {discovery:>9}")


if __name__ == "__main__":
    sys.exit(run())
