"""Issue 11 part 1, the pseudo-SSO workflow exactly, end to end on both databases through the
real loopback provider: the first sign-in confirmed by a one-time password mirrors the profile,
an email the provider does not mark verified never replaces the registered one, /register
offers a button per provider in the standard workflow and the admin's link in pseudo-SSO, and
the policy page edits that link.

The workflow under test is set straight in the ``tenants`` table where the test is about the
sign-in, and through the policy page's real form where it is about the page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import webtest
from sqlalchemy import Engine, select

from adapters.db.schema import audit_events, tenants

from tests.e2e.conftest import Portal
from tests.e2e.sso import CLIENT_ID, CLIENT_SECRET, Sso, op, provider_values, redirect_uri, sso  # noqa: F401
from tests.loopback_op.provider import LoopbackProvider
from tests.e2e.test_workflows import csrf_token, home_name, practitioner, rows, set_policy

ANN = "ann@acme.test"
POLICY = "/admin/authentication/policy"
SIGNUP = "https://login.contoso.test/signup?practice=acme"
NOT_HTTPS = "enter a full address that starts with https://, such as https://login.example.com/register"


def mirrored(engine: Engine, slug: str = "acme") -> list[str]:
    return audit_summaries(engine, "profile_mirrored", slug)


def audit_summaries(engine: Engine, kind: str, slug: str = "acme") -> list[str]:
    """A practice's audit summaries of one kind, in English, read through the column's type as the
    audit page reads them (a translatable summary is stored as JSON)."""
    e, t = audit_events.c, tenants.c
    query = (
        select(e.summary)
        .join_from(audit_events, tenants, t.id == e.tenant_id)
        .where(e.kind == kind, t.slug == slug)
        .order_by(e.at, e.id)
    )
    with engine.connect() as connection:
        return [str(summary) for summary in connection.scalars(query)]


def pseudo_sso(sso: Sso, engine: Engine, **columns: Any) -> None:
    """Acme connected to the loopback provider and in pseudo-SSO: an unknown identity confirms by code."""
    sso.connect()
    set_policy(engine, workflow="pseudo_sso", **columns)


def signed_in_by_code(sso: Sso, email: str = ANN) -> webtest.TestApp:
    """A first sign-in: the provider, then the code mailed to the registered email."""
    browser = sso.portal.browser("acme")
    assert sso.first_login(browser, email).location == "http://acme.portal.test/"
    return browser


def save_link(browser: webtest.TestApp, url: str, status: int = 303) -> webtest.TestResponse:
    form = browser.get(POLICY).forms["policy-form"]
    form["registration_url"] = url
    return form.submit("action", value="save", status=status)


def stored_link(engine: Engine, slug: str = "acme") -> str | None:
    (row,) = rows(engine, "SELECT registration_url FROM tenants WHERE slug = :slug", slug=slug)
    return row.registration_url


def sso_buttons(page: webtest.TestResponse) -> list[webtest.Form]:
    return [f for f in page.forms.values() if f.action.startswith("/sso/")]


@pytest.fixture
def fabrikam(sso: Sso) -> Iterator[LoopbackProvider]:
    """Acme with two providers: Contoso ID (``op``), then Fabrikam ID, its own loopback server,
    added on the Authentication page."""
    sso.connect()
    with LoopbackProvider() as server:
        server.register_client(CLIENT_ID, CLIENT_SECRET, [redirect_uri("acme")])
        form = sso.admin().get("/admin/authentication?provider=new").forms["provider-form"]
        for name, value in provider_values(server, display_name="Fabrikam ID").items():
            form[name] = value
        form.submit("action", value="save", status=303)
        yield server


# --- the first sign-in confirmed by a one-time password -----------------------------------


def test_the_first_sign_in_confirmed_by_code_mirrors_the_name_and_the_verified_email(sso: Sso, engine: Engine):
    pseudo_sso(sso, engine)
    sso.op.login_as("ann-sub", email="ann@home.example", email_verified=True, given_name="Annie", family_name="Smythe")
    browser = signed_in_by_code(sso)
    row = practitioner(engine, "ann@home.example")
    assert (row.first_name, row.last_name, row.email_proven) == ("Annie", "Smythe", True)
    assert home_name(browser) == "Annie"
    assert mirrored(engine) == ["ann@home.example: first name, last name, email overwritten from the provider"]


# (A string "true" is refused by the unit tests: the test provider's library will not send one.)
@pytest.mark.parametrize("verified", [False, None], ids=["false", "missing"])
def test_an_unverified_provider_email_never_replaces_the_registered_one_first_or_later(
    sso: Sso, engine: Engine, verified: Any
):
    pseudo_sso(sso, engine)
    claims: dict[str, Any] = {"email": "mallory@evil.example", "given_name": "Annie", "family_name": "Smith"}
    if verified is not None:
        claims["email_verified"] = verified
    sso.op.login_as("ann-sub", **claims)
    signed_in_by_code(sso)
    row = practitioner(engine, ANN)
    assert (row.first_name, row.last_name) == ("Annie", "Smith")

    sso.op.login_as("ann-sub", **{**claims, "given_name": "Anna"})  # a later sign-in, through the link
    later = sso.portal.browser("acme")
    assert sso.log_in(later, status=303).location == "http://acme.portal.test/"
    assert home_name(later) == "Anna"
    assert practitioner(engine, ANN).email == ANN
    assert rows(engine, "SELECT * FROM practitioners WHERE email = 'mallory@evil.example'") == []
    kept = "ann@acme.test: email mallory@evil.example from the provider is not marked verified there; kept"
    assert mirrored(engine).count(kept) == 2


def test_a_later_sign_in_takes_the_email_once_the_provider_marks_it_verified(sso: Sso, engine: Engine):
    pseudo_sso(sso, engine)
    sso.op.login_as("ann-sub", email="ann@home.example", email_verified=False, given_name="Ann", family_name="Smith")
    signed_in_by_code(sso)
    assert practitioner(engine, ANN) is not None
    sso.op.login_as("ann-sub", email="ann@home.example", email_verified=True, given_name="Ann", family_name="Smith")
    assert sso.log_in(sso.portal.browser("acme"), status=303).location == "http://acme.portal.test/"
    row = practitioner(engine, "ann@home.example")
    assert row is not None and row.email_proven


def test_the_standard_workflow_mirrors_nothing_at_the_first_sign_in(sso: Sso, engine: Engine):
    sso.connect()
    sso.op.login_as("ann-sub", email="ann@home.example", email_verified=True, given_name="Annie", family_name="Smythe")
    signed_in_by_code(sso)
    row = practitioner(engine, ANN)
    assert (row.first_name, row.last_name) == ("Pat", "Ann")
    assert mirrored(engine) == []


def test_the_policy_page_says_what_pseudo_sso_does_with_the_email(sso: Sso):
    page = sso.admin().get(POLICY)
    explanation = page.html.find(id="workflow-pseudo_sso-help").get_text(" ", strip=True)
    assert "only to an address the provider marks verified" in explanation
    assert "otherwise the registered email stays" in explanation
    assert "first sign-in confirmed by a one-time password" in explanation


# --- /register in the standard workflow: a button per provider ----------------------------


def test_the_registration_page_offers_a_button_per_enabled_provider_that_registers_a_newcomer(
    sso: Sso, engine: Engine, fabrikam: LoopbackProvider
):
    set_policy(engine, self_registration=True, unknown_identity="register")
    browser = sso.portal.browser("acme")
    page = browser.get("/register")
    buttons = sso_buttons(page)
    assert [b.html.button.get_text(strip=True) for b in buttons] == [
        "Register with Contoso ID",
        "Register with Fabrikam ID",
    ]
    assert "register-form" in page.forms  # the portal's own form stays beside them
    assert "made from the name and email address it holds" in page.text

    sso.op.login_as("nina-sub", email="nina@home.example", email_verified=True, given_name="Nina", family_name="Novak")
    callback = sso.at_provider(buttons[0].submit(status=303).location)
    assert browser.get(callback, status=303).location == "http://acme.portal.test/"
    assert home_name(browser) == "Nina"
    assert practitioner(engine, "nina@home.example").password_hash is None


def test_a_registration_button_follows_the_unknown_identity_handling_and_asks_for_the_code(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(engine, self_registration=True)  # confirm by one-time password
    browser = sso.portal.browser("acme")
    page = browser.get("/register")
    assert "joins an account registered here under your email address" in page.text
    (button,) = sso_buttons(page)
    callback = sso.at_provider(button.submit(status=303).location)
    assert browser.get(callback, status=303).location == "http://acme.portal.test/sso/link"
    assert sso.confirm_link(browser, ANN).location == "http://acme.portal.test/"
    assert rows(engine, "SELECT * FROM practitioners WHERE email = 'ann@home.example'") == []


def test_restricted_to_sso_the_registration_page_offers_only_the_buttons_where_they_register(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(engine, self_registration=True, restrict_to_sso=True, unknown_identity="register")
    page = sso.portal.browser("acme").get("/register")
    assert "register-form" not in page.forms and len(sso_buttons(page)) == 1
    set_policy(engine, unknown_identity="link_verified_email")
    assert "does not take registrations" in sso.portal.browser("acme").get("/register", status=404).text


def test_without_self_registration_the_page_says_so_even_with_providers(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(engine, unknown_identity="register")
    page = sso.portal.browser("acme").get("/register", status=404)
    assert "This practice does not take registrations; ask its administrator for an account." in page.text
    assert sso_buttons(page) == []


# --- /register in pseudo-SSO: the admin's link --------------------------------------------


def test_under_pseudo_sso_the_registration_page_shows_the_admins_link_and_nothing_to_submit(sso: Sso, engine: Engine):
    save_link(sso.admin(), SIGNUP)
    pseudo_sso(sso, engine, self_registration=True, unknown_identity="register")
    browser = sso.portal.browser("acme")
    page = browser.get("/register")
    link = page.html.find(id="provider-registration")
    assert link["href"] == SIGNUP and "noopener" in link["rel"]
    assert page.forms == {} and "<button" not in page.text
    fields = {
        "csrf_token": csrf_token(browser.get("/login")),
        "email": "x@acme.test",
        "first_name": "X",
        "last_name": "Y",
    }
    browser.post("/register", fields, status=404)
    assert rows(engine, "SELECT * FROM practitioners WHERE email = 'x@acme.test'") == []


def test_under_pseudo_sso_without_a_link_the_registration_page_says_where_accounts_come_from(sso: Sso, engine: Engine):
    pseudo_sso(sso, engine, self_registration=True)
    page = sso.portal.browser("acme").get("/register", status=404)
    assert "Accounts here come from this practice&#39;s identity provider" in page.text
    assert "ask the practice&#39;s administrator for an account" in page.text


def test_the_standard_workflow_never_shows_the_link(sso: Sso, engine: Engine):
    save_link(sso.admin(), SIGNUP)
    sso.connect()
    set_policy(engine, self_registration=True)
    page = sso.portal.browser("acme").get("/register")
    assert SIGNUP.split("?")[0] not in page.text and "register-form" in page.forms


# --- the policy page edits the link -------------------------------------------------------


def test_the_link_is_saved_shown_again_removed_and_audited(sso: Sso, engine: Engine):
    admin = sso.admin()
    save_link(admin, f"  {SIGNUP}  ")
    assert stored_link(engine) == SIGNUP
    assert admin.get(POLICY).forms["policy-form"]["registration_url"].value == SIGNUP
    save_link(admin, "")
    assert stored_link(engine) is None
    summaries = audit_summaries(engine, "settings_changed")
    assert f"login policy: registration link {SIGNUP}" in summaries
    assert "login policy: registration link removed" in summaries


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://login.contoso.test/signup", NOT_HTTPS),
        ("javascript:alert(1)", NOT_HTTPS),
        ("login.contoso.test/signup", NOT_HTTPS),
        ("https://login.contoso.test/" + "a" * 2000, "the link is longer than 2000 characters"),
        ("https://login.contoso.test/\x1b[31m", "the link has spaces or control characters"),
        ("https://login.contoso.test/sign\tup", "the link has spaces or control characters"),
        ("https://login.contoso.test/" + "a" * 2200, "this field takes at most 2100 characters"),
    ],
)
def test_a_bad_link_is_refused_beside_its_field_and_nothing_is_saved(sso: Sso, engine: Engine, url: str, message: str):
    admin = sso.admin()
    save_link(admin, SIGNUP)
    events = len(rows(engine, "SELECT * FROM audit_events"))
    page = save_link(admin, url, status=400)
    error = page.html.find(id="registration_url-error")
    assert error is not None and error.get_text(strip=True) == message
    assert page.html.find(id="registration_url")["aria-invalid"] == "true"
    assert stored_link(engine) == SIGNUP
    assert len(rows(engine, "SELECT * FROM audit_events")) == events


def test_a_practitioner_without_the_authentication_right_cannot_set_the_link(sso: Sso, engine: Engine):
    sso.portal.add_practitioner("acme", "plain@acme.test")
    browser = sso.portal.browser("acme")
    sso.portal.log_in(browser, "plain@acme.test")
    token = csrf_token(browser.get("/account"))
    browser.post(POLICY, {"csrf_token": token, "action": "save", "registration_url": SIGNUP}, status=403)
    assert stored_link(engine) is None


# --- tenants apart ------------------------------------------------------------------------


def test_a_practices_link_never_shows_on_another_practice(sso: Sso, engine: Engine, portal: Portal):
    save_link(sso.admin("acme"), SIGNUP)
    portal.open_tenant("beta")
    sso.connect("beta")
    set_policy(engine, "beta", workflow="pseudo_sso", self_registration=True)
    pseudo_sso(sso, engine)
    assert portal.browser("acme").get("/register").html.find(id="provider-registration")["href"] == SIGNUP
    beta = portal.browser("beta").get("/register", status=404)
    assert "contoso.test/signup" not in beta.text
    beta_admin = sso.admin_through_provider("beta")
    assert beta_admin.get(POLICY).forms["policy-form"]["registration_url"].value == ""
    save_link(beta_admin, "https://beta.example/join")
    assert portal.browser("beta").get("/register").html.find(id="provider-registration")["href"] == (
        "https://beta.example/join"
    )
    assert stored_link(engine, "acme") == SIGNUP
    assert "beta.example" not in portal.browser("acme").get("/register").text
