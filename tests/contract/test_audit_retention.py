"""The clean-up removes audit events past each practice's retention, on each database, in batches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from adapters.db import housekeeping
from adapters.db.housekeeping import Housekeeping
from adapters.db.schema import audit_events
from domain.audit import AuditEvent
from tests.contract.conftest import SqlUnitOfWork
from tests.contract.test_sso_repository_contract import NOW, world
from tests.fakes import FakeClock


def summaries(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.scalars(select(audit_events.c.summary)))


def test_each_practice_loses_only_its_own_events_older_than_it_keeps_them(clean_database):
    unit = SqlUnitOfWork(clean_database)
    acme, _, _ = world(unit)
    beta, _, _ = world(unit, "beta")
    beta.keep_audit_events_for(30)
    for tenant in (acme, beta):
        for age in (29, 31, 364, 366):
            unit.repos.audit.record(AuditEvent(tenant.id, "k", NOW - timedelta(days=age), f"{tenant.slug} {age}"))
    unit.commit()
    unit.close()
    removed = Housekeeping(clean_database, FakeClock(NOW)).run()
    assert removed["audit events past retention"] == 1 + 3  # acme: 366 days; beta: 31, 364, 366
    assert summaries(clean_database) == {"acme 29", "acme 31", "acme 364", "beta 29"}
    assert Housekeeping(clean_database, FakeClock(NOW)).run()["audit events past retention"] == 0


def test_a_long_backlog_goes_in_batches_and_nothing_within_retention_goes_with_it(
    clean_database, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(housekeeping, "AUDIT_BATCH", 7)
    unit = SqlUnitOfWork(clean_database)
    acme, _, _ = world(unit)
    for n in range(30):
        unit.repos.audit.record(AuditEvent(acme.id, "k", NOW - timedelta(days=400, minutes=n), f"old {n}"))
    unit.repos.audit.record(AuditEvent(acme.id, "k", NOW - timedelta(days=1), "recent"))
    unit.commit()
    unit.close()
    assert Housekeeping(clean_database, FakeClock(NOW)).run()["audit events past retention"] == 30
    assert summaries(clean_database) == {"recent"}
