"""The domain's refusals and the pages' own notices in German, English and Dutch (issue 12).

The domain raises its refusals in English as Messages; the pages say them in the reader's
language (here chosen on the switch, the `lang` cookie, or by the browser's Accept-Language),
with the same words in English as before.
"""

from __future__ import annotations

import pytest
import webtest

from tests.e2e.conftest import Portal
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)

OWNER = "owner@acme.test"
ACCEPT = {"en": "en-GB,en;q=0.9", "de": "de-DE,de;q=0.9", "nl": "nl-NL,nl;q=0.9"}
LANGUAGES = list(ACCEPT)


@pytest.fixture
def acme(portal: Portal) -> Portal:
    portal.open_tenant("acme")
    return portal


def on_the_switch(portal: Portal, language: str) -> webtest.TestApp:
    """A visitor who chose ``language`` on the login page's switch."""
    browser = portal.browser("acme")
    browser.get("/language", {"lang": language, "next": "/login"}, status=303)
    return browser


def speaking(browser: webtest.TestApp, language: str) -> webtest.TestApp:
    browser.extra_environ["HTTP_ACCEPT_LANGUAGE"] = ACCEPT[language]
    return browser


def add_form(page: webtest.TestResponse) -> webtest.Form:
    (form,) = [f for key, f in page.forms.items() if isinstance(key, int) and "first_name" in f.fields]
    return form


def add_practitioner(browser: webtest.TestApp, status: int, **values: str) -> webtest.TestResponse:
    form = add_form(browser.get("/admin/practitioners"))
    for name, value in {"email": "ben@acme.test", "first_name": "Ben", "last_name": "Baker", **values}.items():
        form[name] = value
    return form.submit(status=status)


@pytest.mark.parametrize(
    ("language", "refusal"),
    [
        ("en", "email or password is wrong"),
        ("de", "E-Mail-Adresse oder Passwort ist falsch"),
        ("nl", "e-mailadres of wachtwoord is onjuist"),
    ],
)
def test_a_wrong_password_is_refused_in_the_language_chosen_on_the_switch(acme: Portal, language: str, refusal: str):
    browser = on_the_switch(acme, language)
    page = acme.log_in(browser, OWNER, "not the password", status=401)
    assert refusal in page.text
    assert page.html.find("html")["lang"] == language


@pytest.mark.parametrize(
    ("language", "values", "refusal"),
    [
        ("en", {"email": "ben.acme.test"}, "enter a valid email address, such as name@practice.example"),
        ("de", {"email": "ben.acme.test"}, "geben Sie eine gültige E-Mail-Adresse ein, etwa name@praxis.example"),
        ("nl", {"email": "ben.acme.test"}, "vul een geldig e-mailadres in, zoals naam@praktijk.example"),
        # the field the refusal names is named in the same language
        ("en", {"first_name": "  "}, "enter a first name"),
        ("de", {"first_name": "  "}, "bitte füllen Sie das Feld „Vorname“ aus"),
        ("nl", {"first_name": "  "}, "vul het veld ‘voornaam’ in"),
    ],
)
def test_an_admin_forms_field_error_is_in_the_admins_language(
    acme: Portal, language: str, values: dict[str, str], refusal: str
):
    browser = speaking(acme.browser("acme"), language)
    acme.log_in(browser, OWNER)
    page = add_practitioner(browser, 400, **values)
    assert [p.text for p in page.html.select("p.field-error")] == [refusal]


@pytest.mark.parametrize(
    ("language", "notice"),
    [
        ("en", "Ben Baker (ben@acme.test) was added."),
        ("de", "Ben Baker (ben@acme.test) wurde hinzugefügt."),
        ("nl", "Ben Baker (ben@acme.test) is toegevoegd."),
    ],
)
def test_a_flash_notice_is_said_in_the_admins_language(acme: Portal, language: str, notice: str):
    browser = speaking(acme.browser("acme"), language)
    acme.log_in(browser, OWNER)
    page = add_practitioner(browser, 303).follow()
    assert [p.text for p in page.html.select("p.notice")] == [notice]


@pytest.mark.parametrize(
    ("language", "refusals"),
    [
        ("en", ("That code is not right; 4 tries left.", "That code is not right; 1 tries left.")),
        (
            "de",
            (
                "Dieses Einmalpasswort ist nicht richtig; noch 4 Versuche.",
                "Dieses Einmalpasswort ist nicht richtig; noch 1 Versuch.",
            ),
        ),
        ("nl", ("Deze code klopt niet; nog 4 pogingen over.", "Deze code klopt niet; nog 1 poging over.")),
    ],
)
def test_the_link_confirmation_refuses_a_wrong_code_in_the_browsers_language(
    sso: Sso, language: str, refusals: tuple[str, str]
):
    sso.connect()
    browser = speaking(sso.portal.browser("acme"), language)
    sso.log_in(browser, status=303)
    sso.request_code(browser, "ann@acme.test")
    wrong = "000000" if sso.code_from_mail() != "000000" else "111111"
    first = sso.enter_code(browser, wrong, status=400)
    assert refusals[0] in first.html.find("p", class_="error").text
    for _ in range(2):
        sso.enter_code(browser, wrong, status=400)
    last = sso.enter_code(browser, wrong, status=400)
    assert refusals[1] in last.html.find("p", class_="error").text
