"""The worker's clean-ups on each database: what has expired goes, what can still be used stays."""

from __future__ import annotations

import importlib
import pkgutil
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

import domain
from adapters.db.housekeeping import EXPIRED_GRACE, THROTTLE_RETENTION, Housekeeping
from adapters.db.schema import link_challenges, password_reset_tokens, throttle_counters, web_sessions
from domain.sso.challenge import CODE_LIFETIME, LinkChallenge
from domain.passwords.reset_token import PasswordResetToken, ResetPurpose
from domain.throttle import ThrottleRule
from tests.contract.conftest import SqlUnitOfWork
from tests.contract.test_sso_repository_contract import NOW, world
from tests.fakes import FakeClock


def count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table))


def test_clean_up_removes_what_expired_and_keeps_what_can_still_be_used(clean_database):
    unit = SqlUnitOfWork(clean_database)
    acme, ann, provider = world(unit)
    for age in (timedelta(0), timedelta(days=2)):  # a fresh one, and one long expired
        at = NOW - age
        unit.repos.challenges.add(
            LinkChallenge.issue(acme.id, ann.id, provider.id, "https://idp.test", "sub", f"b{age}", "1", "s", at)
        )
        unit.repos.reset_tokens.add(PasswordResetToken.issue(ann, f"token{age}", ResetPurpose.RESET, at))
    unit.commit()
    unit.close()
    with clean_database.begin() as connection:
        for digest, expires_at in (("live", NOW + timedelta(hours=1)), ("ended", NOW)):
            connection.execute(
                web_sessions.insert().values(
                    id_digest=digest,
                    tenant_id=acme.id,
                    practitioner_id=ann.id,
                    data="{}",
                    created_at=expires_at - timedelta(hours=12),
                    expires_at=expires_at,
                )
            )
        for bucket, opened in (("counting", NOW - timedelta(hours=1)), ("stale", NOW - timedelta(days=2))):
            connection.execute(throttle_counters.insert().values(bucket=bucket, uses=3, window_started_at=opened))

    kinds = ["expired sessions", "expired one-time passwords", "expired password links", "stale throttle counters"]
    assert Housekeeping(clean_database, FakeClock(NOW)).run() == {
        **dict.fromkeys(kinds, 1),
        "expired logout token ids": 0,  # tests/e2e/test_sso_logout.py purges one
        "audit events past retention": 0,
    }
    tables = (web_sessions, link_challenges, password_reset_tokens, throttle_counters)
    assert [count(clean_database, table) for table in tables] == [1, 1, 1, 1]
    assert Housekeeping(clean_database, FakeClock(NOW)).run() == dict.fromkeys(
        [*kinds, "expired logout token ids", "audit events past retention"], 0
    )


def test_an_expired_code_or_link_is_kept_for_a_day_so_a_late_try_hears_it_expired(clean_database):
    unit = SqlUnitOfWork(clean_database)
    acme, ann, provider = world(unit)
    unit.repos.challenges.add(
        LinkChallenge.issue(acme.id, ann.id, provider.id, "https://idp.test", "sub", "b", "1", "s", NOW)
    )
    unit.repos.reset_tokens.add(PasswordResetToken.issue(ann, "token", ResetPurpose.SET, NOW))
    unit.commit()
    unit.close()
    code_gone = NOW + CODE_LIFETIME + EXPIRED_GRACE
    link_gone = NOW + ResetPurpose.LIFETIME[ResetPurpose.SET] + EXPIRED_GRACE
    assert Housekeeping(clean_database, FakeClock(code_gone)).run()["expired one-time passwords"] == 0
    assert (
        Housekeeping(clean_database, FakeClock(code_gone + timedelta(seconds=1))).run()["expired one-time passwords"]
        == 1
    )
    assert Housekeeping(clean_database, FakeClock(link_gone)).run()["expired password links"] == 0
    assert (
        Housekeeping(clean_database, FakeClock(link_gone + timedelta(seconds=1))).run()["expired password links"] == 1
    )


def test_every_throttle_window_is_shorter_than_the_counters_are_kept():
    """Else the clean-up would forget uses that a window still counts."""
    rules = [
        value
        for module in pkgutil.walk_packages(domain.__path__, "domain.")
        for value in vars(importlib.import_module(module.name)).values()
        if isinstance(value, ThrottleRule)
    ]
    assert len(rules) >= 5
    assert all(rule.window < THROTTLE_RETENTION for rule in rules)


def test_the_clean_up_skips_a_row_a_request_holds_instead_of_waiting_for_it(clean_database):
    """A clean-up that waited on a login's counter could deadlock with it; it never waits."""
    if clean_database.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no row is ever held by another writer")
    with clean_database.begin() as connection:
        for bucket in ("held", "free"):
            connection.execute(
                throttle_counters.insert().values(bucket=bucket, uses=1, window_started_at=NOW - timedelta(days=2))
            )
    pool = ThreadPoolExecutor(1)
    with clean_database.connect() as request:
        request.execute(select(throttle_counters).where(throttle_counters.c.bucket == "held").with_for_update())
        try:
            run = pool.submit(Housekeeping(clean_database, FakeClock(NOW)).run)
            assert run.result(timeout=10)["stale throttle counters"] == 1  # did not wait for "held"
        finally:
            request.rollback()  # a clean-up that waited gets its row now, and the test ends
            pool.shutdown()
    assert Housekeeping(clean_database, FakeClock(NOW)).run()["stale throttle counters"] == 1
    assert count(clean_database, throttle_counters) == 0
