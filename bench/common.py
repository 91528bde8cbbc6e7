"""What the benchmarks share: an app on a fresh database, bulk data, SQL statement counting."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pyramid.router import Router
from pyramid.scripting import prepare
from sqlalchemy import Engine, event, insert

from adapters.db import migrate, schema
from adapters.db.engine import make_engine
from domain.identifiers import new_id
from domain.practitioners.practitioner import fold_user_name
from domain.ports import Clock, PasswordHasher
from domain.tenancy.onboarding import TenantOnboarding
from entrypoints.web import main

PASSWORD = "benchmark password 1"
BASE_DOMAIN = "bench.test"


@contextlib.contextmanager
def benchmark_app(**settings: str) -> Iterator[Router]:
    """The real app on SQLite in a temporary directory, or on BENCH_DATABASE_URL (emptied after)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        app = main(
            {},
            **{
                "sqlalchemy.url": url,
                "app.base_domain": BASE_DOMAIN,
                "app.scheme": "http",
                "app.development": "true",
                "session.secret": "bench-secret-" + "x" * 32,
                "secrets.key": "bench",
                "mail.outbox_dir": str(Path(tmp) / "outbox"),
                **settings,
            },
        )
        print(f"database: {url.split('@')[-1]}")
        try:
            yield app
        finally:
            if url.startswith("postgresql"):
                with app.registry.db_engine.begin() as connection:
                    for table in reversed(schema.metadata.sorted_tables):
                        connection.execute(table.delete())


def populate(app: Router, first_tenant: int, tenants: int, per_tenant: int) -> list[str]:
    """Tenants t<first>..t<tenants-1>, each with practitioners p0..p<per_tenant-1>, by bulk insert.

    Returns the new tenants' ids.
    """
    env = prepare(registry=app.registry)
    request = env["request"]
    ids = []
    with request.tm:
        password_hash = request.find_service(PasswordHasher).hash(PASSWORD)
        now = request.find_service(Clock).now()
        onboarding = request.find_service(TenantOnboarding)
        for n in range(first_tenant, tenants):
            tenant = onboarding.open_tenant(f"t{n}", f"Tenant {n}", f"owner@t{n}.test", PASSWORD).tenant
            ids.append(tenant.id)
            rows = [
                dict(
                    id=new_id(),
                    tenant_id=tenant.id,
                    email=f"p{i}@t{n}.test",
                    first_name="P",
                    last_name=f"L{i}",
                    password_hash=password_hash,
                    active=True,
                    is_owner=False,
                    rights=frozenset(),
                    created_at=now,
                    email_proven=True,
                    email_primary=True,
                    version=1,
                    user_name_key=fold_user_name(f"p{i}@t{n}.test"),
                )
                for i in range(per_tenant)
            ]
            request.dbsession.execute(insert(schema.practitioners), rows)
    env["closer"]()
    return ids


class StatementCounter:
    """Counts the SQL statements an engine runs while the counter is active."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.count = 0

    def _count(self, *args: object) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        self.count = 0
        event.listen(self._engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._count)
