"""The Authentication module speaks the admin's language (issue 12): the providers page and its
field errors and notices, the login policy, the test sign-in report, and the audit page's event
labels and summaries, in German and Dutch, chosen by Accept-Language (de) or the `lang` cookie (nl).

Audit summaries are stored as their message and values, so an event reads in the language of
whoever looks at it; an event recorded before (plain English) is shown as it was recorded.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
import webtest
from sqlalchemy import Engine, insert, select

from adapters.db.schema import audit_events, tenants
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_provider_test_sign_in import checks, run_test

# What each page says, per language.
SAID = {
    "de": {
        "authentication": ("Anmeldeverfahren", "Identitätsanbieter hinzufügen", "Per Discovery laden", "Anmeldetest"),
        "disabled": "Contoso ID ist deaktiviert.",
        "nothing saved": "Es wurde nichts gespeichert. Korrigieren Sie die unten markierten Felder.",
        "discovery failed": "Discovery fehlgeschlagen:",
        "policy": (
            "Anmelderichtlinie",
            "Arbeitsweise",
            "Claim-Zuordnungen",
            "Vorname",
            "Mit Einmalpasswort bestätigen",
        ),
        "policy saved": "Die Anmelderichtlinie ist gespeichert (Selbstregistrierung an).",
        "test passed": "Der Test ist bestanden: Behandelnde können sich mit Contoso ID anmelden.",
        "steps": {
            "Signing keys": "Signaturschlüssel",
            "Token": "Token",
            "Claims for the portal": "Claims für das Portal",
        },
        "passed": "bestanden",
        "token explanation": "Client-ID und Secret wurden akzeptiert",
        "verdict": "Mit dieser Identität wird nach der hier registrierten E-Mail-Adresse gefragt",
        "label": "Anmeldetest beim Identitätsanbieter",
        "summary": "Anmeldetest mit Contoso ID bestanden",
        "policy summary": "Anmelderichtlinie: Selbstregistrierung an",
        "csv headings": ["Wann (UTC)", "Ereignis", "Wer", "Betrifft", "Was geschah"],
    },
    "nl": {
        "authentication": ("Inlogmethoden", "Identiteitsprovider toevoegen", "Laden via discovery", "Inlogtest"),
        "disabled": "Contoso ID is uitgeschakeld.",
        "nothing saved": "Er is niets opgeslagen. Corrigeer de hieronder gemarkeerde velden.",
        "discovery failed": "discovery mislukt:",
        "policy": ("Inlogbeleid", "Werkwijze", "Claimkoppelingen", "Voornaam", "Bevestigen met eenmalige code"),
        "policy saved": "Het inlogbeleid is opgeslagen (zelfregistratie aan).",
        "test passed": "De test is geslaagd: zorgverleners kunnen inloggen met Contoso ID.",
        "steps": {
            "Signing keys": "Ondertekeningssleutels",
            "Token": "Token",
            "Claims for the portal": "Claims voor het portaal",
        },
        "passed": "geslaagd",
        "token explanation": "client-id en secret zijn geaccepteerd",
        "verdict": "Met deze identiteit wordt gevraagd naar het hier geregistreerde e-mailadres",
        "label": "inlogtest bij identiteitsprovider",
        "summary": "Inlogtest met Contoso ID geslaagd",
        "policy summary": "inlogbeleid: zelfregistratie aan",
        "csv headings": ["Wanneer (UTC)", "Gebeurtenis", "Wie", "Betreft", "Wat er gebeurde"],
    },
}
LANGUAGES = list(SAID)


def admin_speaking(sso: Sso, language: str) -> webtest.TestApp:
    """The owner, logged in, whose browser asks for German (Accept-Language) or chose Dutch (cookie)."""
    browser = sso.admin()
    if language == "de":
        browser.extra_environ["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9,en;q=0.5"
    else:
        browser.set_cookie("lang", language)
    return browser


def notices(page: webtest.TestResponse) -> list[str]:
    return [p.get_text(" ", strip=True) for p in page.html.find_all("p", class_="notice")]


def audit_table(browser: webtest.TestApp, query: str = "") -> list[list[str]]:
    """The audit page's rows, newest first, as the texts of their cells."""
    table = browser.get("/admin/audit" + query).html.find("table", id="audit-events")
    return [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in table.tbody.find_all("tr")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_authentication_page_and_its_notices_speak_the_admins_language(sso: Sso, language: str):
    provider_id = sso.connect()
    admin = admin_speaking(sso, language)
    page = admin.get("/admin/authentication")
    assert page.html.find("html")["lang"] == language
    for text in SAID[language]["authentication"]:
        assert text in page.text, text
    switched = page.forms[f"switch-{provider_id}"].submit("action", value="disable", status=303).follow()
    assert SAID[language]["disabled"] in notices(switched)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_field_error_on_the_provider_form_is_in_the_admins_language(sso: Sso, language: str):
    admin = admin_speaking(sso, language)
    form = admin.get("/admin/authentication", {"provider": "new"}).forms["provider-form"]
    form["issuer"] = sso.op.issuer + "/nope"
    page = form.submit("action", value="discover", status=400)
    assert SAID[language]["nothing saved"] in page.text
    error = page.html.find(id="issuer-error").get_text(" ", strip=True)
    assert error.startswith(SAID[language]["discovery failed"]), error


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_login_policy_page_and_its_notice_speak_the_admins_language(sso: Sso, language: str):
    admin = admin_speaking(sso, language)
    page = admin.get("/admin/authentication/policy")
    for text in SAID[language]["policy"]:
        assert text in page.text, text
    form = page.forms["policy-form"]
    form["self_registration"] = True
    saved = form.submit("action", value="save", status=303).follow()
    assert SAID[language]["policy saved"] in notices(saved)
    assert SAID[language]["policy summary"] in [row[4] for row in audit_table(admin)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_test_sign_in_report_speaks_the_admins_language(sso: Sso, language: str):
    provider_id = sso.connect()
    admin = admin_speaking(sso, language)
    page = run_test(sso, admin, provider_id)
    said = SAID[language]
    assert page.html.find(id="test-outcome").get_text(" ", strip=True) == said["test passed"]
    found = checks(page)  # by the step's English name, which each row keeps as data-step
    rows = {row["data-step"]: row.find_all("td") for row in page.html.find("table", id="checks").tbody.find_all("tr")}
    for step, name in said["steps"].items():
        assert rows[step][0].get_text(strip=True) == name
        assert rows[step][1].get_text(strip=True) == said["passed"]
    assert said["token explanation"] in found["Token"][1]
    assert said["verdict"] in page.html.find(id="verdict").get_text()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_audit_page_shows_labels_and_summaries_in_the_admins_language(sso: Sso, language: str):
    provider_id = sso.connect()
    english = sso.admin()
    run_test(sso, english, provider_id)  # recorded while an English page was shown
    admin = admin_speaking(sso, language)
    (tested,) = audit_table(admin, "?kind=provider_test_sign_in")
    assert (tested[1], tested[4]) == (SAID[language]["label"], SAID[language]["summary"])
    (as_english,) = audit_table(english, "?kind=provider_test_sign_in")
    assert (as_english[1], as_english[4]) == ("provider test sign-in", "Test sign-in with Contoso ID passed")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_kind_filter_lists_the_labels_in_the_order_of_the_admins_language(sso: Sso, language: str):
    page = admin_speaking(sso, language).get("/admin/audit")
    options = page.html.find("select", id="kind").find_all("option")[1:]  # after "every event"
    labels = [option.get_text(strip=True) for option in options]
    assert SAID[language]["label"] in labels
    assert labels == sorted(
        labels, key=lambda label: label.casefold().replace("ä", "a").replace("ö", "o").replace("ü", "u")
    )


def record_in_english(engine: Engine, summary: str) -> None:
    """An event as the portal recorded it before summaries were stored translatable."""
    with engine.begin() as connection:
        tenant_id = connection.scalar(select(tenants.c.id).where(tenants.c.slug == "acme"))
        connection.execute(
            insert(audit_events).values(
                id="0" * 32,
                tenant_id=tenant_id,
                kind="settings_changed",
                at=datetime.now(timezone.utc),
                summary=summary,
            )
        )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "summary", ["login policy: workflow standard", '{"en": "not a message', '{"en": 1, "msgid": 2}']
)
def test_an_event_recorded_before_stays_as_recorded_on_the_page_and_in_the_download(
    sso: Sso, engine: Engine, language: str, summary: str
):
    record_in_english(engine, summary)
    admin = admin_speaking(sso, language)
    assert summary in [row[4] for row in audit_table(admin)]
    download = admin.get("/admin/audit.csv", status=200)
    rows = list(csv.reader(io.StringIO(download.body.decode("utf-8-sig"))))
    assert rows[0][:5] == SAID[language]["csv headings"]
    assert summary in [row[4] for row in rows[1:]]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_download_speaks_the_language_of_the_page_and_keeps_each_kind_as_recorded(sso: Sso, language: str):
    provider_id = sso.connect()
    admin = admin_speaking(sso, language)
    run_test(sso, admin, provider_id)
    rows = list(csv.reader(io.StringIO(admin.get("/admin/audit.csv").body.decode("utf-8-sig"))))
    newest = dict(zip(rows[0], rows[1]))
    heading = dict(zip(["when", "event", "who", "about", "what"], SAID[language]["csv headings"]))
    assert newest[heading["event"]] == SAID[language]["label"]
    assert newest[heading["what"]] == SAID[language]["summary"]
    assert rows[1][7] == "provider_test_sign_in"
