"""The audit trail end to end, on both databases: what each path records (the pages, SCIM, the
CLI) with who, whom and where from; /admin/audit's filters, keyset pages and CSV download; the
retention setting and the clean-up that applies it; one practice never seeing another's events."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import webtest
from sqlalchemy import Engine, func, select

from adapters.db.schema import audit_events, practitioners, scim_tokens, tenants
from tests.e2e.conftest import PASSWORD, Portal
from tests.e2e.sso import AUDIT, audit_rows
from tests.e2e.test_cli import Cli, runner, write_config
from tests.e2e.test_scim import Scim, create_token, patch_body

OWNER = "owner@acme.test"
ANN = "ann@acme.test"
AGENT = "AuditTest/1.0 (X11)"
ADDRESS = "192.0.2.10"  # Portal.browser's REMOTE_ADDR
CSV_PATH = "/admin/audit.csv"
BLANK_EVENT = {"kind": "settings_changed", "summary": "", "actor_id": None, "subject_id": None}


# --- helpers -------------------------------------------------------------------------------


def browser_of(portal: Portal, email: str | None = None, slug: str = "acme", agent: str = AGENT) -> webtest.TestApp:
    browser = portal.browser(slug)
    browser.extra_environ["HTTP_USER_AGENT"] = agent
    if email is not None:
        portal.log_in(browser, email, PASSWORD)
    return browser


def events(engine: Engine, kind: str | None = None) -> list[Any]:
    """The stored events, oldest first, of one kind or all."""
    query = select(audit_events).order_by(audit_events.c.at, audit_events.c.id)
    if kind is not None:
        query = query.where(audit_events.c.kind == kind)
    with engine.connect() as connection:
        return list(connection.execute(query))


def ids(engine: Engine) -> dict[str, str]:
    """Email -> practitioner id, in every practice."""
    with engine.connect() as connection:
        return dict(connection.execute(select(practitioners.c.email, practitioners.c.id)).all())


def tenant_id(engine: Engine, slug: str) -> str:
    with engine.connect() as connection:
        return connection.scalar(select(tenants.c.id).where(tenants.c.slug == slug))  # type: ignore[no-any-return]


def insert_events(engine: Engine, slug: str, rows: list[dict[str, Any]]) -> None:
    """Events as an older version or a busy year left them, written straight to the table."""
    tenant = tenant_id(engine, slug)
    with engine.begin() as connection:
        connection.execute(
            audit_events.insert(),
            [{**BLANK_EVENT, "id": uuid4().hex, "tenant_id": tenant, **row} for row in rows],
        )


def csrf(page: webtest.TestResponse) -> str:
    return page.html.find("input", attrs={"name": "csrf_token"})["value"]  # type: ignore[no-any-return]


def download(browser: webtest.TestApp, status: int = 200, **query: str) -> list[list[str]]:
    response = browser.get(CSV_PATH, query, status=status)
    assert response.content_type == "text/csv" and response.charset == "utf-8"
    assert response.body.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))


@pytest.fixture
def acme(portal: Portal) -> Portal:
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ANN)
    return portal


@pytest.fixture
def owner(acme: Portal) -> webtest.TestApp:
    return browser_of(acme, OWNER)


# --- what each path records --------------------------------------------------------------------


def test_a_password_login_is_recorded_with_the_address_and_user_agent(acme: Portal, engine: Engine):
    browser_of(acme, ANN)
    (event,) = events(engine, "password_login_succeeded")
    ann = ids(engine)[ANN]
    assert (event.actor_id, event.subject_id, event.actor_token_id) == (ann, ann, None)
    assert (event.client_address, event.user_agent) == (ADDRESS, AGENT)


def test_failed_logins_are_recorded_without_the_password_and_an_unknown_email_changes_nothing_else(
    acme: Portal, engine: Engine
):
    with engine.connect() as connection:
        people = connection.scalar(select(func.count()).select_from(practitioners))
    wrong = acme.log_in(browser_of(acme), ANN, "a wrong guess", status=401)
    unknown = acme.log_in(browser_of(acme), "nobody@acme.test", "a wrong guess", status=401)
    known_event, unknown_event = events(engine, "password_login_failed")
    assert (known_event.subject_id, known_event.actor_id, known_event.client_address) == (
        ids(engine)[ANN],
        None,
        ADDRESS,
    )
    assert (unknown_event.subject_id, unknown_event.actor_id) == (None, None)
    assert unknown_event.summary == "password login failed for nobody@acme.test"
    assert all("a wrong guess" not in (e.summary + (e.user_agent or "")) for e in events(engine))
    # The login page says the same for both; nothing was created for the unknown address.
    assert wrong.html.find(class_="error").get_text() == unknown.html.find(class_="error").get_text()
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(practitioners)) == people


def test_a_logout_is_recorded(acme: Portal, engine: Engine):
    browser = browser_of(acme, ANN)
    page = browser.get("/account")
    browser.post("/logout", {"csrf_token": csrf(page)}, status=303)
    (event,) = events(engine, "logged_out")
    assert (event.actor_id, event.subject_id, event.user_agent) == (ids(engine)[ANN], ids(engine)[ANN], AGENT)


def test_the_practitioners_page_records_adding_deactivating_reactivating_and_rights(
    owner: webtest.TestApp, engine: Engine
):
    page = owner.get("/admin/practitioners")
    fields = {"csrf_token": csrf(page), "email": "bob@acme.test", "first_name": "Bob", "last_name": "Lee"}
    owner.post("/admin/practitioners", {**fields, "action": "add", "rights": "authentication"}, status=303)
    bob = ids(engine)["bob@acme.test"]
    for action, extra in (("deactivate", {}), ("reactivate", {}), ("rights", {"rights": "practitioners"})):
        owner.post(
            "/admin/practitioners",
            {"csrf_token": csrf(page), "action": action, "practitioner_id": bob, **extra},
            status=303,
        )
    kinds = [
        "practitioner_added",
        "rights_granted",
        "practitioner_deactivated",
        "practitioner_reactivated",
        "rights_granted",
        "rights_revoked",
    ]
    about_bob = [e for e in events(engine) if e.subject_id == bob]
    assert [e.kind for e in about_bob] == kinds
    assert {(e.actor_id, e.client_address, e.user_agent) for e in about_bob} == {(ids(engine)[OWNER], ADDRESS, AGENT)}


def test_scim_writes_are_recorded_with_the_token_that_made_them(acme: Portal, engine: Engine):
    scim = Scim(acme, "acme", create_token(acme, "acme", "Entra"))
    scim.app.extra_environ["HTTP_USER_AGENT"] = "Entra-Provisioning/1.0"
    ada = scim.create()
    for active in (False, True):
        scim.patch(f"/Users/{ada['id']}", patch_body({"op": "replace", "path": "active", "value": active}))
    scim.delete(f"/Users/{ada['id']}")
    with engine.connect() as connection:
        token_id = connection.scalar(select(scim_tokens.c.id))
    written = [e for e in events(engine) if e.subject_id == ada["id"]]
    assert [e.kind for e in written] == [
        "scim_user_created",
        "scim_user_deactivated",
        "practitioner_reactivated",
        "scim_user_deleted",
    ]
    assert {(e.actor_token_id, e.actor_id, e.client_address, e.user_agent) for e in written} == {
        (token_id, ids(engine)[OWNER], ADDRESS, "Entra-Provisioning/1.0")
    }
    rows = audit_rows(browser_of(acme, OWNER), "?kind=practitioner_added", everything=True)
    assert [(row["Event"], row["Who"], row["About"]) for row in rows] == [
        ("practitioner added", f"SCIM token 'Entra' for {OWNER}", "a deleted practitioner"),  # Ada, by SCIM
        ("practitioner added", OWNER, ANN),  # Ann, set up on the page's path
        ("practitioner added", "—", OWNER),  # the owner, when the practice was opened
    ]


@pytest.fixture
def cli(tmp_path: Path, database_url: str, clean_database: Engine, capsys: pytest.CaptureFixture[str]) -> Cli:
    run = runner(write_config(tmp_path, database_url), capsys)
    assert run("tenant", "create", "acme", "--name", "Acme", "--owner-email", OWNER).code == 0
    return run


def test_the_command_line_records_its_changes_as_cli_without_a_user_agent(cli: Cli, engine: Engine):
    assert cli("practitioner", "add", "acme", ANN, "--first-name", "Ann", "--last-name", "Lee").code == 0
    assert cli("tenant", "token", "acme", "--name", "HR").code == 0
    added, created = events(engine, "practitioner_added")[-1], events(engine, "scim_token_created")[0]
    owner = ids(engine)[OWNER]
    assert (added.actor_id, added.subject_id, added.client_address, added.user_agent) == (
        owner,
        ids(engine)[ANN],
        "cli",
        None,
    )
    assert (created.actor_id, created.client_address, created.user_agent) == (owner, "cli", None)


def test_a_token_made_and_revoked_on_the_page_is_recorded_with_its_admin(owner: webtest.TestApp, engine: Engine):
    page = owner.get("/admin/provisioning")
    owner.post("/admin/provisioning", {"csrf_token": csrf(page), "action": "create", "name": "Okta"})
    with engine.connect() as connection:
        token = connection.scalar(select(scim_tokens.c.id))
    owner.post("/admin/provisioning", {"csrf_token": csrf(page), "action": "revoke", "token_id": token}, status=303)
    made = events(engine, "scim_token_created") + events(engine, "scim_token_revoked")
    assert [(e.actor_id, e.client_address, e.user_agent) for e in made] == [(ids(engine)[OWNER], ADDRESS, AGENT)] * 2


# --- the page: filters, pages, download ------------------------------------------------------


def filter_form(page: webtest.TestResponse, **values: str) -> webtest.TestResponse:
    form = page.forms["audit-filter"]
    for name in ("kind", "person", "from", "to"):
        form[name] = values.get(name, "")
    return form.submit()


def shown(page: webtest.TestResponse) -> list[str]:
    return [
        tr.find_all("td")[4].get_text(strip=True)
        for tr in page.html.find("table").tbody.find_all("tr")
        if len(tr.find_all("td")) == 6
    ]


def test_the_filter_form_narrows_by_kind_person_and_days(owner: webtest.TestApp, engine: Engine):
    ann = ids(engine)[ANN]
    insert_events(
        engine,
        "acme",
        [
            {"summary": "ann in march", "at": datetime(2026, 3, 10, 12, tzinfo=timezone.utc), "subject_id": ann},
            {"summary": "ann in april", "at": datetime(2026, 4, 1, tzinfo=timezone.utc), "actor_id": ann},
            {"summary": "march logout", "at": datetime(2026, 3, 11, tzinfo=timezone.utc), "kind": "logged_out"},
        ],
    )
    page = owner.get(AUDIT)
    assert [value for value, *_ in page.forms["audit-filter"]["kind"].options][:1] == [""]
    assert shown(filter_form(page, person="Ann", kind="settings_changed")) == ["ann in april", "ann in march"]
    assert shown(filter_form(page, **{"from": "2026-03-10", "to": "2026-03-11"})) == ["march logout", "ann in march"]
    assert shown(filter_form(page, kind="logged_out", **{"from": "2026-03-01"})) == ["march logout"]
    assert shown(filter_form(page, person="ann", to="2026-03-31")) == ["ann in march"]
    assert "No events match this filter." in filter_form(page, person="zelda").text


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"from": "31.12.2026"}, "from", "write it as YYYY-MM-DD"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to", "before the first day"),
        ({"kind": "no_such_kind"}, "kind", "not known"),
        ({"before": "not-a-cursor"}, "before", "page link is broken"),
    ],
)
def test_a_filter_that_cannot_be_read_is_a_400_that_says_why(owner: webtest.TestApp, query, field, message):
    page = owner.get(AUDIT, query, status=400)
    assert message in page.text
    if field != "before":  # a broken Older link has no field; it is said above the table
        assert page.html.find(id=field)["aria-invalid"] == "true"
        assert message in owner.get(CSV_PATH, query, status=400).text


def test_250_events_at_the_same_moment_page_through_older_links_each_once(owner: webtest.TestApp, engine: Engine):
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    insert_events(engine, "acme", [{"summary": f"e{n:03}", "at": at, "id": f"{n:032x}"} for n in range(250)])
    page = owner.get(AUDIT, {"to": "2026-01-01"})
    seen, pages = [], 0
    while True:
        seen += shown(page)
        pages += 1
        older = page.html.find("a", string="Older →")
        if older is None:
            break
        page = owner.get(older["href"])
        assert page.html.find("a", string="← Newest")["href"] == "/admin/audit?to=2026-01-01"
    assert pages == 5 and seen == [f"e{n:03}" for n in reversed(range(250))]


def test_the_download_has_the_filtered_events_with_every_column(owner: webtest.TestApp, engine: Engine):
    rows = download(owner, kind="password_login_succeeded")
    header, *events_ = rows
    assert header == [
        "When (UTC)",
        "Event",
        "Who",
        "About",
        "What happened",
        "Client address",
        "User agent",
        "Kind",
        "Event id",
    ]
    (login,) = events_
    assert login[1:8] == [
        "password login succeeded",
        OWNER,
        OWNER,
        f"{OWNER} logged in with a password",
        ADDRESS,
        AGENT,
        "password_login_succeeded",
    ]


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text(acme: Portal, engine: Engine):
    acme.add_practitioner("acme", "-2+3@acme.test")
    for agent in ('=HYPERLINK("http://evil.example","x")', "+1", "@SUM(A1)", "\tcmd"):
        browser_of(acme, "-2+3@acme.test", agent=agent)
    owner = browser_of(acme, OWNER)
    rows = download(owner, kind="password_login_succeeded", person="-2+3")
    agents = sorted(row[6] for row in rows[1:])
    # A tab never reaches the file: the log keeps one line of text ("?" for a control character).
    assert agents == sorted(['\'=HYPERLINK("http://evil.example","x")', "'+1", "'@SUM(A1)", "?cmd"])
    assert {row[2] for row in rows[1:]} == {"'-2+3@acme.test"}


def test_one_practice_never_sees_another_practices_events_on_the_page_or_in_the_download(acme: Portal):
    acme.open_tenant("beta")
    browser_of(acme, ANN)
    beta = browser_of(acme, "owner@beta.test", slug="beta")
    for text in (beta.get(AUDIT).text, beta.get(AUDIT, {"person": "ann"}).text, beta.get(CSV_PATH).body.decode()):
        assert ANN not in text and OWNER not in text
    assert all(row[2] in ("owner@beta.test", "—") for row in download(beta)[1:])  # "—": the practice's opening


# --- retention ------------------------------------------------------------------------------------


def test_the_retention_form_saves_the_days_and_the_change_is_audited(owner: webtest.TestApp, engine: Engine):
    form = owner.get(AUDIT).forms["retention-form"]
    assert form["audit_retention_days"].value == "365"
    form["audit_retention_days"] = "90"
    saved = form.submit(status=303).follow()
    assert "Events are now kept for 90 days." in saved.text
    assert saved.forms["retention-form"]["audit_retention_days"].value == "90"
    with engine.connect() as connection:
        assert connection.scalar(select(tenants.c.audit_retention_days).where(tenants.c.slug == "acme")) == 90
    (event,) = events(engine, "settings_changed")
    assert event.summary == "audit events are kept for 90 days (were 365)" and event.actor_id == ids(engine)[OWNER]


@pytest.mark.parametrize("typed", ["29", "3651", "ninety", "", "-1"])
def test_a_retention_outside_the_limits_is_refused_beside_the_field(owner: webtest.TestApp, engine: Engine, typed: str):
    form = owner.get(AUDIT).forms["retention-form"]
    form["audit_retention_days"] = typed
    page = form.submit(status=400)
    error = page.html.find(id="audit_retention_days-error").get_text()
    assert "30 to 3650 days" in error or "whole number of days" in error
    assert page.forms["retention-form"]["audit_retention_days"].value == typed
    with engine.connect() as connection:
        assert connection.scalar(select(tenants.c.audit_retention_days).where(tenants.c.slug == "acme")) == 365


def test_purge_removes_only_the_events_each_practice_no_longer_keeps(
    acme: Portal, engine: Engine, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
):
    acme.open_tenant("beta")
    with engine.begin() as connection:
        connection.execute(tenants.update().where(tenants.c.slug == "beta").values(audit_retention_days=30))
    now = datetime.now(timezone.utc)
    for slug in ("acme", "beta"):
        insert_events(
            engine, slug, [{"summary": f"{slug} {age}", "at": now - timedelta(days=age)} for age in (10, 100, 400)]
        )
    done = runner(write_config(tmp_path, database_url), capsys)("purge")
    assert done.code == 0 and "3 audit events past retention" in done.out.splitlines()
    kept = {e.summary for e in events(engine, "settings_changed")}
    assert kept == {"acme 10", "acme 100", "beta 10"}


def test_the_audit_page_keeps_its_table_shape_for_every_row(owner: webtest.TestApp):
    rows = audit_rows(owner, everything=True)
    assert rows and set(rows[0]) == {"When", "Event", "Who", "About", "What happened", "From"}
    assert rows[0]["Event"] == "password login succeeded" and rows[0]["From"] == f"{ADDRESS} {AGENT}"
