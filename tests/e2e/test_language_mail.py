"""Mail in the recipient's language, whoever triggers it; dates in the page's language, on the practice's clock.

A mail's language is the practitioner's (their own choice, else their provider's, else the practice's
default, else English), never the language of the browser whose request sent it. The languages are
set straight in the database here, as the /account setting or SCIM would store them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

import pytest
import webtest
from sqlalchemy import Engine, text, update

from adapters.db.schema import audit_events, password_reset_tokens
from domain.passwords.recovery import OwnerRecovery
from domain.tenancy.onboarding import TenantOnboarding
from tests.e2e.conftest import PASSWORD, Portal
from tests.e2e.test_admin_practitioners import admin_page, fill_add_form
from tests.e2e.test_cli import Cli, run  # noqa: F401  (fixture)
from tests.e2e.test_password_links import ANN, the_form

OWNER = "owner@acme.test"
AUDIT_DOWNLOAD = "/admin/audit.csv"
RESET = {
    "de": ("Passwort für Acme Practice zurücksetzen", "Guten Tag Pat,", "läuft in 1 Stunde ab."),
    "nl": ("Uw wachtwoord voor Acme Practice opnieuw instellen", "Beste Pat,", "verloopt over 1 uur."),
    "en": ("Reset your password for Acme Practice", "Hello Pat,", "expires in 1 hour."),
}


def set_column(engine: Engine, table: str, column: str, value: str | None, where: str, equals: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE {table} SET {column} = :value WHERE {where} = :equals"), {"value": value, "equals": equals}
        )


def english_browser(portal: Portal) -> webtest.TestApp:
    """A browser that asks for English pages every way it can."""
    browser = portal.browser("acme")
    browser.extra_environ["HTTP_ACCEPT_LANGUAGE"] = "en"
    browser.set_cookie("lang", "en")
    return browser


def reset_mail(portal: Portal) -> Any:
    page = english_browser(portal).get("/password/forgot")
    assert page.html.find("html")["lang"] == "en"
    form = the_form(page, "email")
    form["email"] = ANN
    form.submit()
    (mail,) = portal.mails()
    return mail


def assert_reset_mail_in(mail: Any, language: str) -> None:
    subject, greeting, validity = RESET[language]
    assert mail.to == ANN and mail.subject == subject
    assert mail.text.startswith(greeting + "\n\n") and validity in mail.text
    assert f"<p>{greeting}</p>" in mail.html and f'href="{mail.link()}"' in mail.html


@pytest.fixture
def acme(portal: Portal) -> Portal:
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ANN)
    return portal


@pytest.mark.parametrize("language", ["de", "nl"])
def test_a_reset_asked_for_in_english_reaches_the_practitioner_in_their_own_language(acme, engine, language):
    set_column(engine, "practitioners", "language", language, "email", ANN)
    assert_reset_mail_in(reset_mail(acme), language)


def test_the_own_choice_outranks_the_providers_language_and_the_practice_default(acme, engine):
    set_column(engine, "tenants", "default_language", "nl", "slug", "acme")
    set_column(engine, "practitioners", "provided_language", "nl-NL", "email", ANN)
    set_column(engine, "practitioners", "language", "de", "email", ANN)
    assert_reset_mail_in(reset_mail(acme), "de")


def test_the_providers_language_applies_to_a_practitioner_without_a_choice(acme, engine):
    set_column(engine, "tenants", "default_language", "de", "slug", "acme")
    set_column(engine, "practitioners", "provided_language", "nl_NL", "email", ANN)
    assert_reset_mail_in(reset_mail(acme), "nl")


def test_the_practice_default_applies_to_a_practitioner_without_a_choice(acme, engine):
    set_column(engine, "tenants", "default_language", "nl", "slug", "acme")
    assert_reset_mail_in(reset_mail(acme), "nl")


def test_with_no_language_anywhere_the_mail_is_english(acme):
    assert_reset_mail_in(reset_mail(acme), "en")


def test_a_new_practitioner_an_admin_adds_gets_the_set_password_mail_in_the_practice_default(acme, engine):
    set_column(engine, "tenants", "default_language", "de", "slug", "acme")
    set_column(engine, "practitioners", "language", "en", "email", OWNER)  # the admin's language does not count
    _, page = admin_page(acme)
    fill_add_form(page, email="bea@acme.test", first_name="Bea").submit(status=303)
    (mail,) = acme.mails()
    assert mail.to == "bea@acme.test" and mail.subject == "Ihr Konto bei Acme Practice"
    assert mail.text.startswith("Guten Tag Bea,") and "läuft in 3 Tagen ab." in mail.text
    assert mail.link().startswith("http://acme.portal.test/password/reset/")


def test_the_operators_recovery_link_reaches_the_owner_in_the_owners_language(acme, engine, run: Cli):
    set_column(engine, "practitioners", "language", "nl", "email", OWNER)
    assert run("tenant", "recover", "acme").code == 0
    (mail,) = acme.mails()
    assert mail.to == OWNER and mail.subject == "Uw herstellink voor Acme Practice"
    assert mail.text.startswith("Beste Account,") and "verloopt over 30 minuten." in mail.text


# --- dates and times ----------------------------------------------------------------------------


def german_owner(portal: Portal, engine: Engine) -> webtest.TestApp:
    """The owner, reading German pages: their own choice and their browser's alike."""
    set_column(engine, "practitioners", "language", "de", "email", OWNER)
    browser = portal.browser("acme")
    browser.extra_environ["HTTP_ACCEPT_LANGUAGE"] = "de"
    portal.log_in(browser, OWNER, PASSWORD)
    return browser


def recovery_link_open_until(portal: Portal, engine: Engine, until: datetime) -> None:
    with portal.unit_of_work() as request:
        request.find_service(OwnerRecovery).send_link(request.find_service(TenantOnboarding).tenant("acme"))
    with engine.begin() as connection:
        connection.execute(update(password_reset_tokens).values(expires_at=until))


def add_event(engine: Engine, summary: str, at: datetime) -> None:
    with engine.begin() as connection:
        (tenant_id,) = connection.execute(text("SELECT id FROM tenants WHERE slug = 'acme'")).one()
        connection.execute(
            audit_events.insert().values(
                id=uuid4().hex, tenant_id=tenant_id, kind="settings_changed", at=at, summary=summary
            )
        )


def audit_times(page: webtest.TestResponse) -> dict[str, str]:
    """What happened -> when, as the audit table shows it."""
    rows = [tr.find_all("td") for tr in page.html.find(id="audit-events").tbody.find_all("tr")]
    return {cells[4].get_text(strip=True): cells[0].get_text(strip=True) for cells in rows if len(cells) == 6}


def test_an_admin_page_shows_a_time_on_the_practices_clock_in_german(acme, engine):
    recovery_link_open_until(acme, engine, datetime(2099, 11, 26, 8, 15, tzinfo=timezone.utc))
    page = german_owner(acme, engine).get("/admin/practitioners")
    notice = " ".join(page.html.find(id="recovery-link-notice").get_text(" ").split())
    assert "bis 26.11.2099, 09:15 einmalig an" in notice and "UTC" not in notice


def test_the_audit_page_names_its_zone_and_shows_its_times_and_days_on_that_clock(acme, engine):
    browser = german_owner(acme, engine)
    add_event(engine, "late in UTC", datetime(2026, 11, 26, 23, 30, tzinfo=timezone.utc))
    page = browser.get("/admin/audit")
    assert "Europe/Berlin" in page.html.find(id="audit-zone").get_text()
    assert "Zeitzone der Praxis" in page.html.find(id="audit-zone").get_text()
    assert audit_times(page)["late in UTC"] == "27.11.2026, 00:30:00"
    assert "late in UTC" in audit_times(browser.get("/admin/audit", {"from": "2026-11-27", "to": "2026-11-27"}))
    assert "late in UTC" not in audit_times(browser.get("/admin/audit", {"to": "2026-11-26"}))


def test_a_practice_in_another_zone_sees_its_own_clock_and_the_download_stays_utc(acme, engine):
    set_column(engine, "tenants", "time_zone", "America/New_York", "slug", "acme")
    browser = german_owner(acme, engine)
    add_event(engine, "late in UTC", datetime(2026, 11, 26, 23, 30, tzinfo=timezone.utc))
    page = browser.get("/admin/audit")
    assert "America/New_York" in page.html.find(id="audit-zone").get_text()
    assert audit_times(page)["late in UTC"] == "26.11.2026, 18:30:00"
    assert "2026-11-26 23:30:00" in browser.get(AUDIT_DOWNLOAD).body.decode("utf-8-sig")
