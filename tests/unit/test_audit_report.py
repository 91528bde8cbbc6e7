"""AuditReport: the audit page's filter, its pages newest first, the download, and the retention."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.audit import (
    EXPORT_BATCH,
    MAX_PEOPLE,
    PAGE_SIZE,
    AuditCursor,
    AuditEvent,
    AuditKind,
    AuditQuery,
    AuditReport,
)
from domain.errors import InvalidValue, NotAllowed
from domain.practitioners.rights import ModuleRight
from domain.provisioning.bearer_token import ProvisioningKind

DAY = datetime(2026, 3, 10, tzinfo=timezone.utc)


@pytest.fixture
def report(world) -> AuditReport:
    return world.build(AuditReport)


def record(world, tenant, summary: str, at: datetime = DAY, kind: str = AuditKind.SETTINGS_CHANGED, **fields) -> None:
    world.audit.record(AuditEvent(tenant.id, kind, at, summary, **fields))


# --- the filter ---------------------------------------------------------------------------------


def test_the_date_range_covers_whole_days_on_the_practices_clock_the_last_one_included(world, report):
    tenant, _ = world.open_tenant()  # Europe/Berlin unless chosen: UTC+1 in March until the 29th
    query = report.query(tenant, "", "", "2026-03-01", "2026-03-10")
    hour = timedelta(hours=1)
    assert (query.since, query.until) == (DAY - timedelta(days=9) - hour, DAY + timedelta(days=1) - hour)
    assert report.query(tenant, "", "", "", "") == AuditQuery()


def test_a_day_in_another_practice_zone_begins_at_its_own_midnight_summer_time_included(world, report):
    tenant, _ = world.open_tenant()
    tenant.time_zone = "America/New_York"  # UTC-4 from 8 March 2026
    query = report.query(tenant, "", "", "2026-03-10", "2026-03-10")
    assert (query.since, query.until) == (DAY + timedelta(hours=4), DAY + timedelta(days=1, hours=4))


def test_a_zone_name_no_system_knows_reads_as_the_default_zone(world, report):
    tenant, _ = world.open_tenant()
    tenant.time_zone = "Mars/Olympus_Mons"
    assert tenant.zone.key == "Europe/Berlin"
    assert report.query(tenant, "", "", "2026-03-10", "").since == DAY - timedelta(hours=1)


def test_the_first_day_of_the_calendar_leaves_the_range_open_before_it(world, report):
    tenant, _ = world.open_tenant()  # its midnight in Berlin is before what a datetime holds in UTC
    assert report.query(tenant, "", "", "0001-01-01", "").since is None


@pytest.mark.parametrize("typed", ["yesterday", "2026-13-01", "2026-02-30", "20260301", "2026-3-1", "２０２６-03-01"])
def test_a_day_that_is_not_a_date_is_refused_saying_how_to_write_it(world, report, typed):
    tenant, _ = world.open_tenant()
    with pytest.raises(InvalidValue, match="YYYY-MM-DD") as refused:
        report.query(tenant, "", "", typed, "")
    assert refused.value.field == "from"


def test_a_range_that_ends_before_it_starts_is_refused(world, report):
    tenant, _ = world.open_tenant()
    with pytest.raises(InvalidValue, match="before the first day"):
        report.query(tenant, "", "", "2026-03-10", "2026-03-09")


def test_the_last_possible_day_leaves_the_range_open(world, report):
    tenant, _ = world.open_tenant()
    assert report.query(tenant, "", "", "", "9999-12-31").until is None


def test_a_kind_that_is_not_known_is_refused(world, report):
    tenant, _ = world.open_tenant()
    with pytest.raises(InvalidValue, match="not known") as refused:
        report.query(tenant, "no_such_kind", "", "", "")
    assert refused.value.field == "kind"


def test_a_person_is_found_by_part_of_the_name_or_email_as_actor_or_subject(world, report):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    world.audit.events.clear()  # only these
    record(world, tenant, "by ann", actor_id=ann.id)
    record(world, tenant, "about ann", DAY + timedelta(minutes=1), subject_id=ann.id, actor_id=owner.id)
    record(world, tenant, "the owner alone", DAY + timedelta(minutes=2), actor_id=owner.id)
    for typed in ("ann@acme", "SMITH"):
        query = report.query(tenant, "", typed, "", "")
        assert [e.event.summary for e in report.page(tenant, query, None).events] == ["about ann", "by ann"]


def test_a_person_nobody_is_called_finds_no_events(world, report):
    tenant, _ = world.open_tenant()
    record(world, tenant, "something")
    query = report.query(tenant, "", "zelda", "", "")
    assert query.people == frozenset() and report.page(tenant, query, None).events == []
    assert list(report.export(tenant, query)) == []


def test_a_person_filter_matching_too_many_people_asks_for_more_of_the_name(world, report):
    tenant, owner = world.open_tenant()
    for n in range(MAX_PEOPLE + 1):
        world.directory.add(owner, tenant, f"p{n}@acme.test", "Pat", f"Lee{n}")
    with pytest.raises(InvalidValue, match="type more") as refused:
        report.query(tenant, "", "Pat", "", "")
    assert refused.value.field == "person"


def test_a_kind_also_finds_what_scim_recorded_under_the_same_label(world, report):
    tenant, _ = world.open_tenant()
    world.audit.events.clear()  # only these
    record(world, tenant, "by page", kind=AuditKind.PRACTITIONER_ADDED)
    record(world, tenant, "by scim", DAY + timedelta(minutes=1), kind=ProvisioningKind.USER_CREATED)
    record(world, tenant, "other", DAY + timedelta(minutes=2), kind=AuditKind.LOGGED_OUT)
    query = report.query(tenant, AuditKind.PRACTITIONER_ADDED, "", "", "")
    assert [e.label for e in report.page(tenant, query, None).events] == ["practitioner added"] * 2


# --- pages, the download, and names -------------------------------------------------------------


def test_pages_follow_one_another_until_the_last_which_has_no_older_page(world, report):
    tenant, _ = world.open_tenant()
    world.audit.events.clear()  # only these
    for n in range(PAGE_SIZE * 2 + 3):
        record(world, tenant, f"e{n}")  # all at the same moment: ordered by id
    seen, before, pages = [], None, 0
    while True:
        page = report.page(tenant, AuditQuery(), before)
        seen += [e.event.id for e in page.events]
        pages += 1
        if page.older is None:
            break
        before = AuditCursor.parse(page.older.text())  # as the Older link carries it
    assert pages == 3 and len(seen) == len(set(seen)) == PAGE_SIZE * 2 + 3
    assert seen == sorted(seen, reverse=True)


def test_the_download_reads_every_event_in_batches(world, report):
    tenant, _ = world.open_tenant()
    world.audit.events.clear()  # only these
    for n in range(EXPORT_BATCH + 10):
        record(world, tenant, f"e{n}", DAY + timedelta(seconds=n))
    exported = [e.event.summary for e in report.export(tenant, AuditQuery())]
    assert exported == [f"e{n}" for n in reversed(range(EXPORT_BATCH + 10))]


def test_who_is_named_by_email_token_command_line_or_nobody(world, report):
    tenant, owner = world.open_tenant()
    token, _ = world.provisioning_tokens.create(tenant, "Entra", owner)
    events = [
        dict(actor_id=owner.id),
        dict(actor_id=owner.id, actor_token_id=token.id),
        dict(client_address="cli"),
        dict(),
        dict(actor_id="gone", subject_id="gone"),
    ]
    for n, fields in enumerate(events):
        record(world, tenant, f"e{n}", DAY + timedelta(minutes=n), **fields)
    listed = report.page(tenant, AuditQuery(kinds=(AuditKind.SETTINGS_CHANGED,)), None).events
    assert [(e.who, e.about) for e in reversed(listed)] == [
        ("owner@acme.test", "—"),
        ("SCIM token 'Entra' for owner@acme.test", "—"),
        ("the operator (command line)", "—"),
        ("—", "—"),
        ("a deleted practitioner", "a deleted practitioner"),
    ]


def test_a_cursor_that_was_not_made_by_a_page_is_refused():
    for broken in ("", "yesterday", "2026-abc", "20261340000000000000-a", "20260101000000000000-" + "a" * 33):
        with pytest.raises(InvalidValue, match="page link is broken"):
            AuditCursor.parse(broken)


# --- retention ----------------------------------------------------------------------------------


def test_the_retention_is_a_year_until_changed_and_a_change_is_audited(world, report):
    tenant, owner = world.open_tenant()
    assert tenant.audit_retention_days == 365
    report.keep_events_for(owner, tenant, " 90 ")
    assert tenant.audit_retention_days == 90
    event = world.audit.events[-1]
    assert (event.kind, event.actor_id) == (AuditKind.SETTINGS_CHANGED, owner.id)
    assert event.summary == "audit events are kept for 90 days (were 365)"


@pytest.mark.parametrize("typed", ["29", "3651", "0", "-30", "90.5", "ninety", "", "1e3", "９０"])
def test_a_retention_outside_30_to_3650_whole_days_is_refused_and_nothing_changes(world, report, typed):
    tenant, owner = world.open_tenant()
    before = len(world.audit.events)
    with pytest.raises(InvalidValue) as refused:
        report.keep_events_for(owner, tenant, typed)
    assert refused.value.field == "audit_retention_days"
    assert tenant.audit_retention_days == 365 and len(world.audit.events) == before


def test_only_the_owner_or_a_holder_of_the_authentication_right_sets_the_retention(world, report):
    tenant, owner = world.open_tenant()
    clerk = world.directory.add(owner, tenant, "c@acme.test", "C", "L", rights=frozenset({ModuleRight.PRACTITIONERS}))
    auditor = world.directory.add(
        owner, tenant, "a@acme.test", "A", "U", rights=frozenset({ModuleRight.AUTHENTICATION})
    )
    with pytest.raises(NotAllowed):
        report.keep_events_for(clerk, tenant, "60")
    report.keep_events_for(auditor, tenant, "60")
    assert tenant.audit_retention_days == 60
