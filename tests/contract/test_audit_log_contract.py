"""What every AuditLog promises (the fake, SQLite, PostgreSQL): keyset pages newest first, the
filters, the new fields, and one practice never reading another's events."""

from __future__ import annotations

from datetime import timedelta

from domain.audit import AuditCursor, AuditEvent, AuditQuery
from tests.contract.test_sso_repository_contract import NOW, world


def event(tenant_id: str, summary: str, minutes: int = 0, kind: str = "k", **fields: str) -> AuditEvent:
    return AuditEvent(tenant_id, kind, NOW + timedelta(minutes=minutes), summary, **fields)  # type: ignore[arg-type]


def every_page(uow, tenant_id: str, query: AuditQuery, size: int) -> list[list[str]]:
    """The summaries of each page, following the cursor from the newest page to the last."""
    pages, before = [], None
    while True:
        found = uow.repos.audit.page(tenant_id, query, before, size)
        pages.append([e.summary for e in found])
        if len(found) < size:
            return pages
        before = AuditCursor.after(found[-1])


def test_events_keep_whom_they_are_about_the_token_and_where_they_came_from(uow):
    acme, ann, _ = world(uow)
    uow.repos.audit.record(
        event(
            acme.id,
            "x",
            actor_id="a1",
            subject_id=ann.id,
            actor_token_id="t1",
            client_address="2001:db8::1",
            user_agent="Firefox/140",
        )
    )
    uow.commit()
    (found,) = uow.repos.audit.page(acme.id, AuditQuery(), None, 10)
    assert (found.actor_id, found.subject_id, found.actor_token_id) == ("a1", ann.id, "t1")
    assert (found.client_address, found.user_agent, found.at) == ("2001:db8::1", "Firefox/140", NOW)


def test_250_events_at_the_same_moment_are_paged_by_id_each_exactly_once(uow):
    acme, _, _ = world(uow)
    for n in range(250):
        uow.repos.audit.record(event(acme.id, f"e{n}", id=f"{n:032x}"))
    uow.commit()
    pages = every_page(uow, acme.id, AuditQuery(), 50)
    assert [len(page) for page in pages] == [50, 50, 50, 50, 50, 0]
    assert sum(pages, []) == [f"e{n}" for n in reversed(range(250))]  # the same moment: the higher id first


def test_pages_are_newest_first_and_the_cursor_continues_after_the_last_event_shown(uow):
    acme, _, _ = world(uow)
    for minute in range(5):
        uow.repos.audit.record(event(acme.id, f"event {minute}", minute))
    uow.commit()
    assert every_page(uow, acme.id, AuditQuery(), 2) == [["event 4", "event 3"], ["event 2", "event 1"], ["event 0"]]


def test_filters_by_kind_person_as_actor_or_subject_and_time_range(uow):
    acme, _, _ = world(uow)
    uow.repos.audit.record(event(acme.id, "ann acted", 1, "login", actor_id="ann"))
    uow.repos.audit.record(event(acme.id, "about ann", 2, "rights", actor_id="owner", subject_id="ann"))
    uow.repos.audit.record(event(acme.id, "bob", 3, "login", actor_id="bob", subject_id="bob"))
    uow.repos.audit.record(event(acme.id, "token", 4, "scim"))
    uow.commit()

    def summaries(**criteria: object) -> list[str]:
        return [e.summary for e in uow.repos.audit.page(acme.id, AuditQuery(**criteria), None, 10)]  # type: ignore[arg-type]

    assert summaries(kinds=("login",)) == ["bob", "ann acted"]
    assert summaries(kinds=("login", "scim")) == ["token", "bob", "ann acted"]
    assert summaries(people=frozenset({"ann"})) == ["about ann", "ann acted"]
    assert summaries(people=frozenset({"ann", "bob"}), kinds=("login",)) == ["bob", "ann acted"]
    assert summaries(since=NOW + timedelta(minutes=2), until=NOW + timedelta(minutes=4)) == ["bob", "about ann"]
    assert summaries(people=frozenset()) == []


def test_a_practice_never_reads_another_practices_events(uow):
    acme, _, _ = world(uow)
    beta, _, _ = world(uow, "beta")
    uow.repos.audit.record(event(acme.id, "acme's", actor_id="x"))
    uow.repos.audit.record(event(beta.id, "beta's", actor_id="x"))
    uow.commit()
    for query in (AuditQuery(), AuditQuery(people=frozenset({"x"})), AuditQuery(kinds=("k",))):
        assert [e.summary for e in uow.repos.audit.page(beta.id, query, None, 10)] == ["beta's"]
