"""A stored time zone that names no zone reads as the default zone, never a 500.

A practice's stored time zone is read on every page that shows a date (``Tenant.zone``). The admin
form only keeps names the system's database lists, but a row written by hand, by a migration or
before a tzdata change may hold any text of the column: one that names a directory of the zone
database (``Europe``) made ``ZoneInfo`` raise an ``OSError`` that no page caught, a 500 on the audit
page and every page with a date. Such a name reads as the default zone, as any other unknown name.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import Engine

from tests.e2e.conftest import Portal
from tests.e2e.test_language_mail import (
    acme,  # noqa: F401  (fixture)
    add_event,
    audit_times,
    german_owner,
    recovery_link_open_until,
    set_column,
)

PRACTICE = "/admin/practice"


@pytest.mark.parametrize(
    "zone",
    ["Europe", "Etc", "America/Argentina", "zone.tab", "../../etc/passwd", "/etc/localtime", "europe/berlin", ""],
)
def test_a_stored_zone_that_names_no_zone_reads_as_the_default_on_every_page_with_a_date(
    acme: Portal,  # noqa: F811
    engine: Engine,
    zone: str,
):
    recovery_link_open_until(acme, engine, datetime(2099, 11, 26, 8, 15, tzinfo=timezone.utc))
    add_event(engine, "late in UTC", datetime(2026, 11, 26, 23, 30, tzinfo=timezone.utc))
    set_column(engine, "tenants", "time_zone", zone, "slug", "acme")
    owner = german_owner(acme, engine)
    page = owner.get("/admin/audit", status=200)
    assert "Europe/Berlin" in page.html.find(id="audit-zone").get_text()
    assert audit_times(page)["late in UTC"] == "27.11.2026, 00:30:00"
    assert "late in UTC" in audit_times(owner.get("/admin/audit", {"from": "2026-11-27"}, status=200))
    notice = owner.get("/admin/practitioners", status=200).html.find(id="recovery-link-notice")
    assert "26.11.2099, 09:15" in " ".join(notice.get_text(" ").split())
    # The settings page shows what is stored, and an admin puts a known zone in its place.
    form = owner.get(PRACTICE, status=200).forms["practice-form"]
    assert form["time_zone"].value == zone
    form["time_zone"] = "Europe/Vienna"
    form.submit(status=303)
    assert "Europe/Vienna" in owner.get("/admin/audit").html.find(id="audit-zone").get_text()
