"""The practitioner-facing pages speak German, English or Dutch (issue 12), end to end.

Which language: the visitor's choice on the switch (the `lang` cookie), else the browser's
Accept-Language, else English; `<html lang>` follows. Anything else a client sends falls back.
"""

from __future__ import annotations

import pytest
import webtest

from domain.tenancy.language import spoken
from tests.e2e.conftest import PASSWORD, Portal

OWNER = "owner@acme.test"

# What the login page says in each language: its heading, its button and a notice.
LOGIN_PAGE = {
    "en": ("Log in to Acme Practice", "Forgot your password?", "You are logged out."),
    "de": ("Bei Acme Practice anmelden", "Passwort vergessen?", "Sie sind abgemeldet."),
    "nl": ("Inloggen bij Acme Practice", "Wachtwoord vergeten?", "U bent uitgelogd."),
}


@pytest.fixture
def acme(portal: Portal) -> Portal:
    portal.open_tenant("acme")
    return portal


def browser(portal: Portal, accept_language: str | None = None) -> webtest.TestApp:
    app = portal.browser("acme")
    if accept_language is not None:
        app.extra_environ["HTTP_ACCEPT_LANGUAGE"] = accept_language
    return app


def login_page(app: webtest.TestApp) -> webtest.TestResponse:
    return app.get("/login", {"logged_out": "1"}, status=200)


def assert_speaks(page: webtest.TestResponse, language: str) -> None:
    assert page.html.find("html")["lang"] == language
    for text in LOGIN_PAGE[language]:
        assert text in page.text, f"{text!r} not on the {language} page"
    for other, texts in LOGIN_PAGE.items():
        if other != language:
            assert texts[0] not in page.text


@pytest.mark.parametrize(
    ("accept_language", "language"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de"),
        ("de-AT", "de"),
        ("nl-NL, nl;q=0.9", "nl"),
        ("nl-BE", "nl"),
        ("en-GB,en;q=0.8,de;q=0.5", "en"),
        ("fr-FR, nl;q=0.4, de;q=0.3", "nl"),
        ("fr-CH, fr;q=0.9, ja;q=0.8", "en"),
        ("de;q=0, nl;q=0.1", "nl"),
        ("*", "en"),
        (None, "en"),
    ],
)
def test_the_login_page_speaks_the_best_language_the_browser_accepts(
    acme: Portal, accept_language: str | None, language: str
):
    assert_speaks(login_page(browser(acme, accept_language)), language)


def test_the_switch_chooses_a_language_that_wins_over_the_browsers(acme: Portal):
    app = browser(acme, "de-DE,de;q=0.9")
    page = login_page(app)
    assert_speaks(page, "de")
    switch = page.html.find(id="language-switch")
    assert switch["aria-label"] == "Sprache"
    assert {link.text for link in switch.find_all("a")} == {"English", "Nederlands"}
    back = app.get(switch.find("a", hreflang="nl")["href"], status=303)
    assert back.location.endswith("/login?logged_out=1")
    assert app.cookies["lang"] == "nl"
    assert_speaks(login_page(app), "nl")
    app.get("/language", {"lang": "en", "next": "/login"}, status=303)
    assert_speaks(login_page(app), "en")


def test_an_unknown_language_on_the_switch_changes_nothing(acme: Portal):
    app = browser(acme, "nl")
    app.get("/language", {"lang": "fr", "next": "/login"}, status=303)
    assert "lang" not in app.cookies
    assert_speaks(login_page(app), "nl")


@pytest.mark.parametrize("cookie", ["fr", "", "de-DE", "../../etc/passwd", "e\u0301n", "DE", '"nl"'])
def test_a_lang_cookie_the_product_does_not_speak_falls_back_to_the_browser(acme: Portal, cookie: str):
    app = browser(acme, "nl")
    app.extra_environ["HTTP_COOKIE"] = f"lang={cookie}".encode().decode("latin-1")  # as a WSGI server passes it
    page = app.get("/login", {"logged_out": "1"}, status=200)
    expected = spoken(cookie.strip('"')) or "nl"  # the domain's one rule: de-DE is de
    assert_speaks(page, expected)


@pytest.mark.parametrize(
    "header",
    ["de;q=abc", ";;;,,,", "\x00de", "de;q=1.5", "x" * 5000, "de-" + "a" * 300, "ä, ö;q=0.5", "q=0.5", "-, *;q="],
)
def test_a_malformed_accept_language_gives_an_english_page_not_an_error(acme: Portal, header: str):
    page = login_page(browser(acme, header))
    assert page.html.find("html")["lang"] in LOGIN_PAGE


def test_a_practitioners_navigation_follows_the_language(acme: Portal):
    app = browser(acme, "de")
    acme.log_in(app, OWNER, PASSWORD)
    page = app.get("/account", status=200)
    assert page.html.find("html")["lang"] == "de"
    nav = page.html.find("nav").text
    for text in ("Behandelnde", "Bereitstellung", "Anmeldeverfahren", "Mein Konto", "Abmelden"):
        assert text in nav


# What a practitioner's other pages say in each language (issue 12, second slice): page, texts on it.
PAGES = {
    "de": {
        "/password/forgot": (
            "Neues Passwort festlegen",
            "Link senden",
            "bei Acme Practice registrierte E-Mail-Adresse",
        ),
        "/sso/link": ("Keine Anmeldung zu bestätigen", "Zurück zur Anmeldung"),
        "/recover/no-such-token": ("Mit Ihrem Wiederherstellungslink anmelden",),
        "/no/such/page": ("Zurück zu Acme Practice",),
    },
    "nl": {
        "/password/forgot": ("Nieuw wachtwoord instellen", "Link versturen", "bij Acme Practice is geregistreerd"),
        "/sso/link": ("Geen inlogpoging om te bevestigen", "Terug naar inloggen"),
        "/recover/no-such-token": ("Inloggen met uw herstellink",),
        "/no/such/page": ("Terug naar Acme Practice",),
    },
    "en": {
        "/password/forgot": ("Set a new password", "Send the link", "registered with Acme Practice"),
        "/sso/link": ("No sign-in to confirm", "Back to log in"),
        "/recover/no-such-token": ("Sign in with your recovery link",),
        "/no/such/page": ("Back to Acme Practice",),
    },
}

# A logged-in practitioner's pages: the home page and the account form.
LOGGED_IN = {
    "de": {
        "/": ("Willkommen, ", "Sie sind bei Acme Practice als owner@acme.test angemeldet."),
        "/account": ("Vorname", "Nachname", "Telefon", "Speichern", "Verknüpfte Konten"),
    },
    "nl": {
        "/": ("Welkom, ", "U bent bij Acme Practice ingelogd als owner@acme.test."),
        "/account": ("Voornaam", "Achternaam", "Telefoon", "Opslaan", "Gekoppelde accounts"),
    },
    "en": {
        "/": ("Welcome, ", "You are logged in to Acme Practice as owner@acme.test."),
        "/account": ("First name", "Last name", "Phone", "Save", "Linked accounts"),
    },
}


@pytest.mark.parametrize("language", ["de", "nl", "en"])
def test_the_logged_out_pages_speak_the_browsers_language(acme: Portal, language: str):
    app = browser(acme, language)
    for path, texts in PAGES[language].items():
        page = app.get(path, status="*")
        assert page.status_int < 500, path
        assert page.html.find("html")["lang"] == language, path
        for text in texts:
            assert text in page.text, f"{text!r} not on the {language} page {path}"


def assert_pages_speak(app: webtest.TestApp, language: str, pages: dict[str, tuple[str, ...]]) -> None:
    """Each page answers 200 with ``<html lang>`` and each of its texts in ``language``."""
    for path, texts in pages.items():
        page = app.get(path, status=200)
        assert page.html.find("html")["lang"] == language, path
        for text in texts:
            assert text in page.text, f"{text!r} not on the {language} page {path}"


@pytest.mark.parametrize("language", ["de", "nl", "en"])
def test_a_practitioners_pages_speak_the_browsers_language(acme: Portal, language: str):
    app = browser(acme, f"{language};q=0.9, fr")
    acme.log_in(app, OWNER, PASSWORD)
    assert_pages_speak(app, language, LOGGED_IN[language])
    assert {"first_name", "last_name", "phone", "job_title"} <= set(app.get("/account").forms["account-form"].fields)


# The admin pages (issue 12, third slice): page, texts on it, for the practice's owner.
ADMIN_PAGES = {
    "de": {
        "/admin/practitioners": (
            "Behandelnde Person hinzufügen",
            "Nach Name oder E-Mail-Adresse suchen",
            "Modulrechte",
        ),
        "/admin/provisioning": ("SCIM-Basis-URL", "Was ein Token darf", "Token erstellen"),
        "/admin/audit": ("Protokoll", "Zeitzone der Praxis", "Wie lange Ereignisse aufbewahrt werden"),
    },
    "nl": {
        "/admin/practitioners": ("Zorgverlener toevoegen", "Zoeken op naam of e-mailadres", "Modulerechten"),
        "/admin/provisioning": ("SCIM-basis-URL", "Wat een token mag", "Token aanmaken"),
        "/admin/audit": ("Logboek", "tijdzone van de praktijk", "Hoe lang gebeurtenissen worden bewaard"),
    },
}


@pytest.mark.parametrize("language", ["de", "nl"])
def test_the_admin_pages_speak_the_browsers_language(acme: Portal, language: str):
    app = browser(acme, f"{language};q=0.9, en;q=0.5")
    acme.log_in(app, OWNER, PASSWORD)
    assert_pages_speak(app, language, ADMIN_PAGES[language])
    listing = app.get("/admin/practitioners", status=200)
    owner = listing.html.find("a", string="Acme Owner") or listing.html.find("tbody").find("a")
    detail = app.get(owner["href"], status=200)
    expected = {"de": ("Verknüpfte Identitäten", "Hinzugefügt am"), "nl": ("Gekoppelde identiteiten", "Toegevoegd op")}
    for text in expected[language]:
        assert text in detail.text, f"{text!r} not on the {language} practitioner page"
