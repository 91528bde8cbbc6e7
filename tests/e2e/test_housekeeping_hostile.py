"""The clean-ups against what runs beside them: an admin's change saved while a clean-up is under
way, and a request that read its clock before a row's expiry. On both databases."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, Table, event, func, select
from sqlalchemy.orm import Session

from adapters.db import housekeeping
from adapters.db.housekeeping import Housekeeping
from adapters.db.schema import audit_events, logout_token_jtis, tenants
from adapters.system import SystemClock
from domain.identifiers import new_id
from domain.sso.logout import CLOCK_LEEWAY, LOGOUT_TOKEN_MAX_AGE
from tests.e2e.conftest import Portal
from tests.e2e.sso import op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_scim_tokens import csrf_token, logged_in
from tests.e2e.test_sso_logout import connect_with_logout, post_token
from tests.fakes import FakeClock


def count(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


# --- audit retention -----------------------------------------------------------------------


def test_a_longer_retention_saved_during_a_clean_up_keeps_every_event_not_yet_deleted(
    portal: Portal, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner lengthens the retention while a long backlog goes batch by batch: once the new
    retention is committed, no batch deletes an event it keeps."""
    portal.open_tenant("acme")
    owner = logged_in(portal)
    now = datetime.now(timezone.utc)
    with engine.begin() as connection:
        (acme_id,) = connection.execute(select(tenants.c.id).where(tenants.c.slug == "acme")).one()
        connection.execute(
            audit_events.insert(),
            [
                {
                    "id": new_id(),
                    "tenant_id": acme_id,
                    "kind": "k",
                    "at": now - timedelta(days=400, minutes=n),
                    "summary": "old",
                }
                for n in range(30)
            ],
        )
    monkeypatch.setattr(housekeeping, "AUDIT_BATCH", 7)
    real_delete = housekeeping.delete_unlocked
    saved: list[int] = []

    def keep_ten_years(_session: Session) -> None:
        if not saved:  # after the first batch is committed, the owner saves ten years
            page = owner.get("/admin/audit")
            owner.post("/admin/audit", {"csrf_token": csrf_token(page), "audit_retention_days": "3650"}, status=303)
            saved.append(3650)

    def first_batch_then_the_owner(session: Session, table: Table, *args: Any) -> int:
        if table is audit_events:
            event.listen(session, "after_commit", keep_ten_years, once=True)
        return real_delete(session, table, *args)

    monkeypatch.setattr(housekeeping, "delete_unlocked", first_batch_then_the_owner)
    removed = Housekeeping(engine, SystemClock()).run()["audit events past retention"]
    assert saved == [3650]
    assert removed == 7
    assert count(engine, audit_events) >= 30 - 7


def test_the_audit_clean_up_never_waits_for_a_practice_whose_settings_are_being_saved(
    portal: Portal, engine: Engine
) -> None:
    """Reading the retention it holds must not make the clean-up wait for an admin's change in flight:
    that practice's old events go at the next run."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no row is ever held by another writer")
    portal.open_tenant("acme")
    with engine.begin() as connection:
        (acme_id,) = connection.execute(select(tenants.c.id).where(tenants.c.slug == "acme")).one()
        old = datetime.now(timezone.utc) - timedelta(days=400)
        connection.execute(
            audit_events.insert().values(id=new_id(), tenant_id=acme_id, kind="k", at=old, summary="old")
        )
    pool = ThreadPoolExecutor(1)
    with engine.connect() as admin:
        admin.execute(tenants.update().where(tenants.c.id == acme_id).values(audit_retention_days=400))
        try:
            run = pool.submit(Housekeeping(engine, SystemClock()).run)
            assert run.result(timeout=10)["audit events past retention"] == 0  # did not wait
        finally:
            admin.rollback()
            pool.shutdown()
    assert Housekeeping(engine, SystemClock()).run()["audit events past retention"] == 1


# --- back-channel logout token ids ---------------------------------------------------------


def test_a_logout_token_id_outlives_its_expiry_so_a_replay_already_in_flight_is_refused(sso, engine) -> None:  # noqa: F811
    """A request reads its clock before it checks the signature (perhaps fetching the provider's
    keys) and records the jti: a clean-up that ran meanwhile, its clock just past the jti's expiry,
    must not have forgotten the jti of a token that request still accepts."""
    connect_with_logout(sso)
    issued = int(time.time()) - int(LOGOUT_TOKEN_MAX_AGE.total_seconds()) + 30  # accepted for 30 s more
    token = sso.op.logout_token(sub="ann-sub", iat=issued, exp=issued + 3600)
    server = sso.portal.browser("acme")
    post_token(server, token, 200)
    just_past = (
        datetime.fromtimestamp(issued, timezone.utc) + LOGOUT_TOKEN_MAX_AGE + CLOCK_LEEWAY + timedelta(seconds=1)
    )
    Housekeeping(engine, FakeClock(just_past)).run()
    assert count(engine, logout_token_jtis) == 1
    assert "used before" in post_token(server, token, 400).json["error_description"]
