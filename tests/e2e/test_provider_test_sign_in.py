"""Test sign-in: an admin signs in at the real (loopback) provider and the portal shows each check,
the verified claims, what the claim mappings make of them and what a real sign-in would do, in
an admin's words, logging nobody in and writing nothing but the audit event."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import webtest
from sqlalchemy import Engine, func, select

from adapters.db.schema import identity_links, practitioners
from tests.e2e.sso import CLIENT_ID, CLIENT_SECRET, Sso, audit_rows, op, redirect_uri, sso  # noqa: F401  (fixtures)


def start_test(browser: webtest.TestApp, provider_id: str) -> str:
    """Clicks Test sign-in on the provider's row; returns where the browser goes."""
    return str(
        browser.get("/admin/authentication")
        .forms[f"test-{provider_id}"]
        .submit("action", value="test", status=303)
        .location
    )


def run_test(sso: Sso, browser: webtest.TestApp, provider_id: str, status: int = 200) -> webtest.TestResponse:
    return browser.get(sso.at_provider(start_test(browser, provider_id)), status=status)


def checks(page: webtest.TestResponse) -> dict[str, tuple[str, str]]:
    """Each check's (status, explanation), by step."""
    rows = page.html.find("table", id="checks").tbody.find_all("tr")
    return {row["data-step"]: (row["data-status"], row.find_all("td")[2].get_text(" ", strip=True)) for row in rows}


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.scalar(select(func.count()).select_from(identity_links)),
            connection.scalar(select(func.count()).select_from(practitioners)),
        )


def test_a_working_provider_passes_every_check_and_nobody_is_logged_in_or_linked(sso: Sso, engine: Engine):
    provider_id = sso.connect()
    admin = sso.admin()
    before = counts(engine)
    page = run_test(sso, admin, provider_id)
    found = checks(page)
    assert [
        found[step][0] for step in ("Sign-in at the provider", "Signing keys", "Token", "ID token", "Userinfo")
    ] == ["passed"] * 5
    assert found["Discovery"][0] == "passed" and found["Claims for the portal"][0] == "passed"
    assert page.html.find(id="test-outcome").get_text(strip=True).startswith("The test passed")
    claims = page.html.find("table", id="claims").get_text(" ", strip=True)
    assert "ann@home.example" in claims and "ann-sub" in claims
    profile = page.html.find(id="profile").get_text(" ", strip=True)
    assert "Ann" in profile and "Smith" in profile and "ann@home.example" in profile
    assert "one-time password" in page.html.find(id="verdict").get_text()
    assert page.headers["Cache-Control"] == "no-store"
    assert counts(engine) == before
    assert "owner@acme.test" in admin.get("/account").text  # still the admin's own session
    assert [(row["Event"], row["What happened"]) for row in audit_rows(admin)][0] == (
        "provider test sign-in",
        "Test sign-in with Contoso ID passed",
    )


def test_the_test_sign_in_asks_the_provider_to_speak_the_admins_language(sso: Sso):
    provider_id = sso.connect()
    admin = sso.admin()
    for accepted, language in (("nl-NL,nl;q=0.9", "nl"), ("de-AT", "de")):
        admin.extra_environ["HTTP_ACCEPT_LANGUAGE"] = accepted
        sso.at_provider(start_test(admin, provider_id))
        assert sso.op.requests_to("/authorization")[-1].query["ui_locales"] == [language]


def test_a_disabled_provider_can_be_tested_before_anyone_depends_on_it(sso: Sso):
    provider_id = sso.connect()
    admin = sso.admin()
    form = admin.get("/admin/authentication").forms[f"switch-{provider_id}"]
    form.submit("action", value="disable", status=303)
    page = run_test(sso, admin, provider_id)
    assert all(status == "passed" for status, _ in checks(page).values())
    assert "is disabled" in page.text
    assert sso.op.hits["/token"] == 1


def test_a_wrong_client_secret_is_named_as_such(sso: Sso):
    provider_id = sso.connect()
    sso.op.register_client(CLIENT_ID, "the-secret-was-renewed-at-the-provider", [redirect_uri("acme")])
    found = checks(run_test(sso, sso.admin(), provider_id))
    assert found["Token"][0] == "failed"
    assert "the client secret (or client id) is wrong" in found["Token"][1]
    assert [found[step][0] for step in ("ID token", "Userinfo")] == ["skipped", "skipped"]


def test_a_provider_that_answers_to_another_redirect_uri_is_told_the_one_to_register(sso: Sso):
    """The provider sends the browser to an address other than the portal's (a provider that uses
    the one registered there, say): its token endpoint then refuses the portal's redirect URI."""
    provider_id = sso.connect()
    sso.register_at_provider("elsewhere")
    admin = sso.admin()
    parts = urlsplit(start_test(admin, provider_id))
    query = [(k, redirect_uri("elsewhere") if k == "redirect_uri" else v) for k, v in parse_qsl(parts.query)]
    callback = sso.at_provider(urlunsplit(parts._replace(query=urlencode(query))))
    found = checks(admin.get(callback, status=200))
    assert found["Token"][0] == "failed"
    assert f"the redirect URI registered at the provider is not {redirect_uri('acme')}" in found["Token"][1]


def test_clocks_that_differ_are_reported_with_the_difference(sso: Sso):
    provider_id = sso.connect()
    sso.op.patch_id_token(iat=lambda claims: int(time.time()) + 600, exp=lambda claims: int(time.time()) + 900)
    found = checks(run_test(sso, sso.admin(), provider_id))
    assert found["ID token"][0] == "failed"
    assert re.search(r"differ by about (59\d|60\d) seconds", found["ID token"][1]), found["ID token"][1]
    assert found["Userinfo"][0] == "skipped"


def test_missing_email_and_names_are_explained_with_the_scope_to_add(sso: Sso):
    provider_id = sso.connect()
    sso.op.login_as("bob-sub")  # the provider sends no email and no names
    page = run_test(sso, sso.admin(), provider_id)
    status, explanation = checks(page)["Claims for the portal"]
    assert status == "failed"
    assert "the provider sent no email (claim email): add the scope email" in explanation
    assert "add the scope profile" in explanation
    assert page.html.find(id="test-outcome").get_text(strip=True).startswith("The test failed at: Claims")


def test_a_sign_in_refused_at_the_provider_is_explained(sso: Sso):
    provider_id = sso.connect()
    sso.op.deny_authorization("The user declined the request")
    found = checks(run_test(sso, sso.admin(), provider_id))
    assert found["Sign-in at the provider"][0] == "failed"
    assert "cancelled or refused at the provider" in found["Sign-in at the provider"][1]
    assert "The user declined the request" in found["Sign-in at the provider"][1]
    assert sso.op.hits["/token"] == 0


def test_the_callback_of_a_test_is_used_once(sso: Sso, engine: Engine):
    provider_id = sso.connect()
    admin = sso.admin()
    callback = sso.at_provider(start_test(admin, provider_id))
    admin.get(callback, status=200)
    replayed = admin.get(callback, status=400)
    assert "already used" in replayed.text
    assert sso.op.hits["/token"] == 1
    assert [row["Event"] for row in audit_rows(admin)].count("provider test sign-in") == 1


def test_a_failed_test_is_audited_with_the_step_it_failed_at(sso: Sso):
    provider_id = sso.connect()
    sso.op.fail_token_endpoint(500)
    admin = sso.admin()
    found = checks(run_test(sso, admin, provider_id))
    assert found["Token"] == (
        "failed",
        "the token endpoint answered HTTP 500 (the provider said: server_error the token endpoint is failing)",
    )
    row = audit_rows(admin)[0]
    assert (row["Event"], row["What happened"]) == (
        "provider test sign-in",
        "Test sign-in with Contoso ID failed at Token",
    )
    assert "owner@acme.test" in row["Who"]


def test_another_practice_cannot_test_this_practices_provider(sso: Sso):
    provider_id = sso.connect()
    sso.portal.open_tenant("beta")
    beta = sso.admin("beta")
    token = beta.get("/admin/authentication").forms["provider-form"]["csrf_token"].value
    beta.post("/admin/authentication", {"csrf_token": token, "action": "test", "provider_id": provider_id}, status=404)
    assert sso.op.hits["/authorization"] == 0
