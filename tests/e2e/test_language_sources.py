"""Where a page's language comes from (issue 12), end to end, on both databases.

Each source on its own speaks the login page, the link-confirmation page (/sso/link) and a form's
field error in German, English and Dutch, while the browser asks for another language: the
practitioner's own choice (/account), the identity provider's `locale` claim, SCIM's
preferredLanguage, the practice's default language (/admin/practice), the browser's
Accept-Language. Then the order among them, SCIM's preferredLanguage round trip, the settings
page's rights, its isolation between practices and a probe with any input, and `ui_locales`.

The login page is for visitors nobody knows yet, so only the sources that need no login reach it:
the switch, the practice's default, the browser, and the `locale` of a Single Sign On that waits
for its one-time password in this browser.
"""

from __future__ import annotations

from typing import Any

import pytest
import webtest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from adapters.db.schema import tenants
from domain.practitioners.rights import ModuleRight
from tests.e2e.conftest import Portal
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_any_input import FIELD, FUZZ, post_form
from tests.e2e.test_scim import PATCH_OP, USER, Scim, assert_scim_error, create_token

LANGUAGES = ("de", "en", "nl")
# A browser that asks for another language than the one the source names: the source must win.
OTHER = {"de": "nl", "en": "de", "nl": "en"}
# How a provider or SCIM client names each language (a tag, kept as sent).
TAG = {"de": "de-AT", "en": "en-GB", "nl": "nl-NL"}

LOGIN = {"de": "Bei Acme Practice anmelden", "en": "Log in to Acme Practice", "nl": "Inloggen bij Acme Practice"}
LINK = {"de": "Bestätigen Sie, dass Sie es sind", "en": "Confirm it is you", "nl": "Bevestig dat u het bent"}
ACCOUNT = {"de": "Mein Konto", "en": "My account", "nl": "Mijn account"}
LANGUAGE_ERROR = {
    "de": "Wählen Sie eine der angebotenen Sprachen.",
    "en": "Choose one of the languages offered.",
    "nl": "Kies een van de aangeboden talen.",
}
ZONE_ERROR = {
    "de": "Wählen Sie eine Zeitzone aus der Liste, etwa Europe/Berlin.",
    "en": "Choose a time zone from the list, such as Europe/Berlin.",
    "nl": "Kies een tijdzone uit de lijst, bijvoorbeeld Europe/Amsterdam.",
}
SAVED = {"de": "Ihre Sprache ist gespeichert.", "en": "Your language is saved.", "nl": "Uw taal is opgeslagen."}

ANN = "ann@acme.test"
OWNER = "owner@acme.test"
PRACTICE = "/admin/practice"


def browser(portal: Portal, accept_language: str, slug: str = "acme") -> webtest.TestApp:
    app = portal.browser(slug)
    app.extra_environ["HTTP_ACCEPT_LANGUAGE"] = accept_language
    return app


def logged_in(portal: Portal, email: str, accept_language: str) -> webtest.TestApp:
    app = browser(portal, accept_language)
    portal.log_in(app, email)
    return app


def assert_speaks(page: webtest.TestResponse, language: str, texts: dict[str, str]) -> None:
    assert page.html.find("html")["lang"] == language
    assert texts[language] in page.text, f"{texts[language]!r} not on the {language} page"
    for other, text in texts.items():
        if other != language:
            assert text not in page.text


def login_page(app: webtest.TestApp) -> webtest.TestResponse:
    return app.get("/login", status=200)


def first_sign_in(sso: Sso, app: webtest.TestApp) -> webtest.TestResponse:
    """A Single Sign On of an identity linked to nobody: the page that asks for the registered email."""
    answer = sso.log_in(app, status=303)
    assert answer.location.endswith("/sso/link")
    return app.get("/sso/link", status=200)


def linking_page(sso: Sso, app: webtest.TestApp) -> webtest.TestResponse:
    """A logged-in practitioner links their provider account: the page that asks for the code."""
    form = next(f for f in app.get("/account/linked").forms.values() if f.action.startswith("/sso/"))
    callback = sso.at_provider(form.submit(status=303).location)
    return app.get(app.get(callback, status=303).location, status=200)


def language_error(app: webtest.TestApp) -> webtest.TestResponse:
    """The /account language form, sent with a language the product does not speak."""
    form = app.get("/account").forms["language-form"]
    form["language"].force_value("fr")
    return form.submit(status=400)


def zone_error(app: webtest.TestApp) -> webtest.TestResponse:
    form = app.get(PRACTICE).forms["practice-form"]
    form["time_zone"] = "Mars/Olympus"
    return form.submit(status=400)


def choose(app: webtest.TestApp, language: str) -> webtest.TestResponse:
    form = app.get("/account").forms["language-form"]
    form["language"] = language
    return form.submit(status=303).follow()


def set_default(app: webtest.TestApp, language: str, zone: str = "Europe/Berlin") -> webtest.TestResponse:
    form = app.get(PRACTICE).forms["practice-form"]
    form["default_language"], form["time_zone"] = language, zone
    return form.submit(status=303).follow()


def ann_id(scim: Scim) -> str:
    (user,) = scim.search(f'userName eq "{ANN}"').json["Resources"]
    return user["id"]  # type: ignore[no-any-return]


def provide_by_scim(portal: Portal, tag: str) -> None:
    scim = Scim(portal, "acme", create_token(portal, "acme"))
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "preferredLanguage", "value": tag}]}
    scim.patch(f"/Users/{ann_id(scim)}", body)


def default_language(engine: Engine, slug: str) -> tuple[str | None, str]:
    with engine.connect() as connection:
        row = connection.execute(select(tenants.c.default_language, tenants.c.time_zone).where(tenants.c.slug == slug))
        return tuple(row.one())  # type: ignore[return-value]


# --- each source speaks the pages ------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_practitioners_own_choice_speaks_their_pages_whatever_the_browser_asks(sso: Sso, language: str):
    sso.connect()
    ann = logged_in(sso.portal, ANN, OTHER[language])
    chosen = choose(ann, language)
    assert_speaks(chosen, language, ACCOUNT)
    assert SAVED[language] in chosen.text
    assert chosen.forms["language-form"]["language"].value == language
    assert_speaks(language_error(ann), language, LANGUAGE_ERROR)
    assert_speaks(linking_page(sso, ann), language, LINK)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_providers_locale_claim_speaks_the_pages_from_the_code_on(sso: Sso, language: str):
    sso.connect()
    sso.op.login_as("ann-sub", locale=TAG[language], email="ann@home.example", given_name="Ann", family_name="Smith")
    app = browser(sso.portal, OTHER[language])
    assert_speaks(first_sign_in(sso, app), language, LINK)
    assert_speaks(login_page(app), language, LOGIN)  # the sign-in waiting for its code names it
    sso.confirm_link(app, ANN)
    assert_speaks(app.get("/account"), language, ACCOUNT)
    assert_speaks(language_error(app), language, LANGUAGE_ERROR)


@pytest.mark.parametrize("language", LANGUAGES)
def test_scims_preferred_language_speaks_the_practitioners_pages(sso: Sso, language: str):
    sso.connect()
    provide_by_scim(sso.portal, TAG[language])
    ann = logged_in(sso.portal, ANN, OTHER[language])
    assert_speaks(ann.get("/account"), language, ACCOUNT)
    assert_speaks(language_error(ann), language, LANGUAGE_ERROR)
    assert_speaks(linking_page(sso, ann), language, LINK)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_practices_default_language_speaks_to_whoever_names_none(sso: Sso, language: str):
    sso.connect()
    owner = logged_in(sso.portal, OWNER, OTHER[language])
    set_default(owner, language)
    assert_speaks(zone_error(owner), language, ZONE_ERROR)
    assert_speaks(login_page(browser(sso.portal, OTHER[language])), language, LOGIN)
    assert_speaks(first_sign_in(sso, browser(sso.portal, OTHER[language])), language, LINK)
    assert_speaks(language_error(logged_in(sso.portal, ANN, OTHER[language])), language, LANGUAGE_ERROR)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_browsers_accept_language_speaks_where_nothing_else_names_one(sso: Sso, language: str):
    sso.connect()
    accepted = f"{TAG[language]},{language};q=0.9"
    assert_speaks(login_page(browser(sso.portal, accepted)), language, LOGIN)
    assert_speaks(first_sign_in(sso, browser(sso.portal, accepted)), language, LINK)
    assert_speaks(language_error(logged_in(sso.portal, ANN, accepted)), language, LANGUAGE_ERROR)
    assert_speaks(zone_error(logged_in(sso.portal, OWNER, accepted)), language, ZONE_ERROR)


# --- the order -------------------------------------------------------------------------------------


def test_the_choice_beats_the_switch_which_beats_the_claim_which_beats_the_default_which_beats_the_browser(
    sso: Sso,
):
    sso.connect()
    app = browser(sso.portal, "de-DE,de;q=0.9")
    assert_speaks(login_page(app), "de", LOGIN)
    set_default(logged_in(sso.portal, OWNER, "de"), "nl")
    assert_speaks(login_page(app), "nl", LOGIN)  # the practice's default beats the browser
    sso.op.login_as("ann-sub", locale="en-US", email="ann@home.example")
    sso.first_login(app, ANN)
    assert_speaks(app.get("/account"), "en", ACCOUNT)  # the provider's claim beats the default
    app.get("/language", {"lang": "de", "next": "/account"}, status=303)
    assert_speaks(app.get("/account"), "de", ACCOUNT)  # the switch beats the claim
    assert_speaks(choose(app, "nl"), "nl", ACCOUNT)  # the practitioner's choice beats the switch
    assert_speaks(choose(app, ""), "de", ACCOUNT)  # no choice: the switch again


def test_a_scim_update_changes_the_language_but_not_the_practitioners_own_choice(sso: Sso):
    ann = logged_in(sso.portal, ANN, "en")
    provide_by_scim(sso.portal, "nl-BE")
    assert_speaks(ann.get("/account"), "nl", ACCOUNT)
    choose(ann, "de")
    provide_by_scim(sso.portal, "en-US")
    assert_speaks(ann.get("/account"), "de", ACCOUNT)


def test_the_language_is_chosen_also_where_the_provider_owns_the_profile(sso: Sso):
    sso.connect()
    sso.first_login(browser(sso.portal, "en"), ANN)  # ann's provider account is linked
    admin = sso.admin_through_provider()
    form = admin.get("/admin/authentication/policy").forms["policy-form"]
    form["workflow"] = "pseudo_sso"
    form.submit("action", value="save", status=303)
    app = browser(sso.portal, "en")
    sso.log_in(app, status=303)
    page = app.get("/account")
    assert "account-form" not in page.forms and page.html.find(id="profile-locked")
    assert_speaks(choose(app, "nl"), "nl", ACCOUNT)


# --- SCIM preferredLanguage ------------------------------------------------------------------------


@pytest.fixture
def scim(portal: Portal) -> Scim:
    portal.open_tenant("acme")
    return Scim(portal, "acme", create_token(portal, "acme"))


def user_body(**attributes: Any) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": "noor@acme.test",
        "name": {"givenName": "Noor", "familyName": "Jansen"},
        **attributes,
    }


def patched(scim: Scim, user_id: str, *operations: dict[str, Any]) -> dict[str, Any]:
    return scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(operations)}).json  # type: ignore[no-any-return]


def test_scim_preferred_language_round_trips_exactly_as_sent(scim: Scim):
    created = scim.post("/Users", user_body(preferredLanguage="nl-NL")).json
    assert created["preferredLanguage"] == "nl-NL"
    user_id = created["id"]
    assert scim.user(user_id)["preferredLanguage"] == "nl-NL"
    replaced = patched(scim, user_id, {"op": "Replace", "path": "preferredLanguage", "value": "zh-Hant-TW"})
    assert replaced["preferredLanguage"] == "zh-Hant-TW"  # kept though the portal does not speak it
    without_path = patched(scim, user_id, {"op": "replace", "value": {"preferredLanguage": "de_DE"}})
    assert without_path["preferredLanguage"] == "de_DE"
    assert "preferredLanguage" not in patched(scim, user_id, {"op": "remove", "path": "preferredLanguage"})
    scim.put(f"/Users/{user_id}", user_body(preferredLanguage="en-GB"))
    assert scim.user(user_id)["preferredLanguage"] == "en-GB"
    assert "preferredLanguage" not in scim.put(f"/Users/{user_id}", user_body()).json  # PUT: the whole user
    assert "preferredLanguage" not in scim.user(user_id)


@pytest.mark.parametrize("value", ["x" * 65, "nl\nNL", 42, ["nl"], {"value": "nl"}])
def test_a_preferred_language_that_is_no_fitting_text_is_refused_and_nothing_is_stored(scim: Scim, value: Any):
    assert_scim_error(scim.post("/Users", user_body(preferredLanguage=value), status=400), 400, "invalidValue")
    assert scim.search('userName eq "noor@acme.test"').json["totalResults"] == 0


def test_the_user_schema_lists_preferred_language(scim: Scim):
    (user_schema,) = [s for s in scim.get("/Schemas").json["Resources"] if s["id"] == USER]
    (attribute,) = [a for a in user_schema["attributes"] if a["name"] == "preferredLanguage"]
    assert attribute["type"] == "string" and attribute["mutability"] == "readWrite"


# --- the settings page ----------------------------------------------------------------------------


@pytest.fixture
def practice(portal: Portal) -> Portal:
    portal.open_tenant("acme")
    portal.open_tenant("beta")
    portal.add_practitioner("acme", "auditor@acme.test", rights=frozenset({ModuleRight.AUTHENTICATION}))
    portal.add_practitioner("acme", "clerk@acme.test", rights=frozenset({ModuleRight.PRACTITIONERS}))
    portal.add_practitioner("acme", ANN)
    return portal


@pytest.mark.parametrize(
    ("who", "shown", "saved"),
    [
        (OWNER, 200, 303),
        ("auditor@acme.test", 200, 303),
        ("clerk@acme.test", 403, 403),
        (ANN, 403, 403),
        (None, 303, 303),  # nobody logged in: to the login page
    ],
)
def test_only_the_owner_and_authentication_admins_see_and_change_the_practices_language(
    practice: Portal, engine: Engine, who: str | None, shown: int, saved: int
):
    app = logged_in(practice, who, "en") if who else browser(practice, "en")
    page = app.get(PRACTICE, status=shown)
    if shown == 303:
        assert "/login" in page.location
    nav = app.get("/account", status="*")
    assert ("/admin/practice" in nav.text) == (shown == 200)
    token = practice.browser("acme").get("/login").html.find("input", attrs={"name": "csrf_token"})["value"]
    if shown == 200:
        token = page.html.find("input", attrs={"name": "csrf_token"})["value"]
    fields = {"csrf_token": token, "default_language": "nl", "time_zone": "Europe/Amsterdam"}
    app.post(PRACTICE, fields, status=saved)
    expected = ("nl", "Europe/Amsterdam") if saved == 303 and shown == 200 else (None, "Europe/Berlin")
    assert default_language(engine, "acme") == expected


def test_a_practices_language_and_zone_are_its_own(practice: Portal, engine: Engine):
    beta_owner = browser(practice, "en", "beta")
    practice.log_in(beta_owner, "owner@beta.test")
    set_default(beta_owner, "de", "Europe/Vienna")
    assert default_language(engine, "beta") == ("de", "Europe/Vienna")
    assert default_language(engine, "acme") == (None, "Europe/Berlin")
    acme_owner = logged_in(practice, OWNER, "en")
    form = acme_owner.get(PRACTICE).forms["practice-form"]
    assert (form["default_language"].value, form["time_zone"].value) == ("", "Europe/Berlin")
    assert_speaks(login_page(browser(practice, "en")), "en", LOGIN)
    # beta's session is no session on acme's host
    beta_owner.extra_environ["HTTP_HOST"] = "acme.portal.test"
    assert "/login" in beta_owner.get(PRACTICE, status=303).location


def test_a_refused_save_shows_each_fields_error_and_changes_nothing(practice: Portal, engine: Engine):
    owner = logged_in(practice, OWNER, "en")
    form = owner.get(PRACTICE).forms["practice-form"]
    form["default_language"].force_value("fr")
    form["time_zone"] = "Nowhere/Else"
    page = form.submit(status=400)
    assert page.html.find(id="default_language-error").text == "Choose one of the languages offered."
    assert page.html.find(id="time_zone-error").text == ZONE_ERROR["en"]
    assert page.forms["practice-form"]["time_zone"].value == "Nowhere/Else"
    assert default_language(engine, "acme") == (None, "Europe/Berlin")


@pytest.fixture
def owner(practice: Portal) -> webtest.TestApp:
    return logged_in(practice, OWNER, "en")


@FUZZ
@given(
    default_language=st.one_of(st.sampled_from(["", "de", "en", "nl", "DE", "fr"]), FIELD),
    time_zone=st.one_of(st.sampled_from(["Europe/Berlin", "UTC", "Europe/Amsterdam", "europe/berlin"]), FIELD),
    extra=st.dictionaries(st.sampled_from(["default_language", "time_zone"]), FIELD, max_size=1),
)
def test_any_practice_settings_form_answers_below_500(
    owner: webtest.TestApp, engine: Engine, default_language: Any, time_zone: Any, extra: dict[str, Any]
):
    fields = {"default_language": default_language, "time_zone": time_zone}
    for name, value in extra.items():
        fields[name] = [fields[name], value]  # the field repeated
    post_form(engine, owner, PRACTICE, fields)


@FUZZ
@given(language=st.one_of(st.sampled_from(["", "de", "en", "nl", "NL", "de-AT", "fr"]), FIELD), repeated=FIELD)
def test_any_language_choice_answers_below_500(practice: Portal, engine: Engine, language: Any, repeated: Any):
    ann = logged_in(practice, ANN, "en")
    for fields in ({"language": language}, {"language": [language, repeated]}):
        post_form(engine, ann, "/account/language", fields, form_page="/account")


# --- ui_locales ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_authorization_request_asks_the_provider_to_speak_the_pages_language(sso: Sso, language: str):
    sso.connect()
    sso.at_provider(sso.start(browser(sso.portal, TAG[language])))
    request = sso.op.requests_to("/authorization")[-1]
    assert request.query["ui_locales"] == [language]
