"""Extra scopes, the domain hint and the login hint, end to end: the admin enters them in the
provider form, and the loopback provider receives them in the real authorization request."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import webtest

from tests.e2e.conftest import PASSWORD
from tests.e2e.sso import (
    Sso,
    audit_rows,
    op,  # noqa: F401  (a fixture)
    sso,  # noqa: F401  (a fixture)
)

PATH = "/admin/authentication"


def edit(sso: Sso, provider_id: str, status: int = 303, **fields: str | bool) -> webtest.TestResponse:
    """The owner changes the provider's form and saves it."""
    form = sso.admin().get(PATH, params={"provider": provider_id}).forms["provider-form"]
    for name, value in fields.items():
        form[name] = value
    return form.submit("action", value="save", status=status)


def asked(authorization_url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(authorization_url).query)


def sso_form(page: webtest.TestResponse) -> webtest.Form:
    return next(f for f in page.forms.values() if f.action.startswith("/sso/"))


def test_the_provider_is_asked_for_the_extra_scopes_with_the_domain_hint_and_the_sign_in_completes(sso: Sso):
    provider_id = sso.connect()
    edit(sso, provider_id, extra_scopes="phone  openid address phone", domain_hint="Acme.Test")
    form = sso.admin().get(PATH, params={"provider": provider_id}).forms["provider-form"]
    assert (form["extra_scopes"].value, form["domain_hint"].value) == ("phone address", "acme.test")

    browser = sso.portal.browser()
    answer = sso.log_in(browser, status=303)
    request = sso.op.requests_to("/authorization")[-1]
    assert request.query["scope"] == ["openid email profile phone address"]
    assert request.query["domain_hint"] == ["acme.test"]
    assert "login_hint" not in request.query
    assert answer.location.endswith("/sso/link")  # the sign-in went through: Ann confirms her link next


def test_scope_and_hint_changes_are_audited_as_provider_changes_without_asking_anyone_to_confirm_again(sso: Sso):
    provider_id = sso.connect()
    # saved straight away (303): no "I understand: linked practitioners confirm again" asked for
    edit(sso, provider_id, extra_scopes="phone", domain_hint="acme.test", send_login_hint=True)
    edit(sso, provider_id, extra_scopes="")
    rows = audit_rows(sso.admin())
    assert rows[0]["What happened"] == "Contoso ID: extra scopes changed"
    assert rows[1]["What happened"] == "Contoso ID: extra scopes changed, domain hint changed, login hint changed"


def test_the_email_typed_on_the_login_page_goes_to_a_provider_set_to_get_it_as_login_hint(sso: Sso):
    provider_id = sso.connect()
    browser = sso.portal.browser()
    sso.portal.log_in(browser, "Ann@Acme.Test", "a wrong password", status=401)
    refused = sso.portal.log_in(browser, "Ann@Acme.Test", "a wrong password", status=401)
    assert "login_hint" not in sso_form(refused).fields  # not set to get one: the typed email stays here

    edit(sso, provider_id, send_login_hint=True)
    refused = sso.portal.log_in(browser, "Ann@Acme.Test", "a wrong password", status=401)
    assert asked(sso_form(refused).submit(status=303).location)["login_hint"] == ["ann@acme.test"]


def test_the_login_hint_query_parameter_of_the_button_is_passed_on_when_it_is_an_email(sso: Sso):
    provider_id = sso.connect()
    edit(sso, provider_id, send_login_hint=True)
    browser = sso.portal.browser()
    page = browser.get("/login", params={"login_hint": "ann@acme.test"})
    assert asked(sso_form(page).submit(status=303).location)["login_hint"] == ["ann@acme.test"]

    token = browser.get("/login").forms["login-form"]["csrf_token"].value
    for hint, sent in (("Ann@Acme.Test", ["ann@acme.test"]), ("not an email", None), ("a@b@c.test", None)):
        started = browser.post(
            f"/sso/{provider_id}/start?login_hint={hint}", {"csrf_token": token, "next": "/"}, status=303
        )
        assert asked(started.location).get("login_hint") == sent


def test_a_password_is_never_sent_to_the_sso_button(sso: Sso):
    provider_id = sso.connect()
    edit(sso, provider_id, send_login_hint=True)
    browser = sso.portal.browser()
    refused = sso.portal.log_in(browser, "ann@acme.test", PASSWORD + "x", status=401)
    assert set(sso_form(refused).fields) - {None} == {"csrf_token", "next", "login_hint"}


def test_bad_scopes_and_domain_hints_are_refused_with_a_clear_message_and_nothing_is_saved(sso: Sso):
    provider_id = sso.connect()
    refused = edit(sso, provider_id, status=400, extra_scopes='say"hi"', domain_hint="https://acme.test")
    assert "Nothing was saved" in refused.text
    errors = {p["id"]: p.get_text() for p in refused.html.select("p.field-error")}
    assert errors["extra_scopes-error"].startswith("separate scopes with spaces")
    assert errors["domain_hint-error"].startswith("enter a domain name such as practice.example")
    form = sso.admin().get(PATH, params={"provider": provider_id}).forms["provider-form"]
    assert (form["extra_scopes"].value, form["domain_hint"].value) == ("", "")
    refused = edit(sso, provider_id, status=400, extra_scopes=" ".join(f"s{n}" for n in range(21)))
    assert "at most 20 extra scopes" in refused.text
