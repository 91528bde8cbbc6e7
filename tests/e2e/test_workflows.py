"""The practitioner's side of the two workflows: personal data, linked accounts, self-registration.

The tenant's policy is set straight in the ``tenants`` table: what is tested here is how the
practitioner's pages obey it, not the admin page that writes it.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import webtest
from babel.dates import format_date, format_time
from sqlalchemy import Engine, select, text

from adapters.db.schema import identity_links

from tests.e2e.conftest import PASSWORD, Portal
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)

ANN = "ann@acme.test"
NEW_PASSWORD = "a brand new passphrase"
LAST_WAY = "This is your last way to log in"
REGISTERED = "Check your mail. A link to choose your password is on its way to"


# --- helpers ------------------------------------------------------------------------------


def set_policy(engine: Engine, slug: str = "acme", **columns: Any) -> None:
    """What the admin's policy page would save: workflow, unknown_identity, self_registration, restrict_to_sso."""
    assignments = ", ".join(f"{name} = :{name}" for name in columns)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE tenants SET {assignments} WHERE slug = :slug"), {**columns, "slug": slug})


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def practitioner(engine: Engine, email: str, slug: str = "acme") -> Any:
    (row,) = rows(
        engine,
        "SELECT p.* FROM practitioners p JOIN tenants t ON t.id = p.tenant_id WHERE p.email = :email AND t.slug = :slug",
        email=email,
        slug=slug,
    )
    return row


def links_of(engine: Engine, email: str, slug: str = "acme") -> list[str]:
    return [
        row.id
        for row in rows(
            engine,
            "SELECT l.id FROM identity_links l JOIN practitioners p ON p.id = l.practitioner_id "
            "JOIN tenants t ON t.id = l.tenant_id WHERE p.email = :email AND t.slug = :slug",
            email=email,
            slug=slug,
        )
    ]


def csrf_token(page: webtest.TestResponse) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def unlink_forms(page: webtest.TestResponse) -> list[webtest.Form]:
    return [f for f in page.forms.values() if "link_id" in f.fields]


def unlink(browser: webtest.TestApp, link_id: str, status: int | str = "*") -> webtest.TestResponse:
    """Posts the Unlink button's form for ``link_id``, whether or not the page shows that link."""
    token = csrf_token(browser.get("/account"))
    return browser.post("/account/linked", {"csrf_token": token, "action": "unlink", "link_id": link_id}, status=status)


def set_password_with(browser: webtest.TestApp, link: str, password: str = NEW_PASSWORD) -> webtest.TestResponse:
    page = browser.get(link)
    (form,) = [f for key, f in page.forms.items() if isinstance(key, int) and "password_confirm" in f.fields]
    form["password"] = form["password_confirm"] = password
    return form.submit(status=303)


def ask_for_reset(portal: Portal, email: str, slug: str = "acme") -> webtest.TestResponse:
    page = portal.browser(slug).get("/password/forgot")
    (form,) = [f for key, f in page.forms.items() if isinstance(key, int) and "email" in f.fields]
    form["email"] = email
    return form.submit()


def register(
    portal: Portal,
    email: str,
    first_name: str = "Nina",
    last_name: str = "Novak",
    slug: str = "acme",
    status: int | str = 200,
) -> webtest.TestResponse:
    form = portal.browser(slug).get("/register").forms["register-form"]
    form["email"], form["first_name"], form["last_name"] = email, first_name, last_name
    return form.submit(status=status)


def home_name(browser: webtest.TestApp) -> str:
    return re.search(r"<h1>Welcome, ([^<]*)</h1>", browser.get("/").text).group(1)


def logged_in(sso: Sso, email: str, password: str = PASSWORD, slug: str = "acme") -> webtest.TestApp:
    browser = sso.portal.browser(slug)
    sso.portal.log_in(browser, email, password)
    return browser


def linked_by_sso(sso: Sso, email: str, slug: str = "acme") -> webtest.TestApp:
    """A first SSO login confirmed by the mailed code: the browser is logged in, the link made."""
    browser = sso.portal.browser(slug)
    done = sso.first_login(browser, email)
    assert done.status_int == 303, done.text
    return browser


def pseudo_sso_login(sso: Sso, engine: Engine) -> webtest.TestApp:
    """Acme in pseudo-SSO; Ann signs in with a token carrying her registered, verified email."""
    sso.connect()
    set_policy(engine, workflow="pseudo_sso", unknown_identity="link_verified_email")
    sso.op.login_as("ann-sub", email=ANN, email_verified=True, given_name="Ann", family_name="Smith")
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, status=303).location.endswith("/")
    return browser


# --- standard workflow: personal data -----------------------------------------------------


def test_in_the_standard_workflow_a_practitioner_edits_their_personal_data(sso: Sso, engine: Engine):
    browser = logged_in(sso, ANN)
    page = browser.get("/")
    assert 'href="/account"' in page.text
    form = browser.get("/account").forms["account-form"]
    assert form["first_name"].value == "Pat" and form["salutation"].value == ""
    assert [value for value, _, _ in form["salutation"].options] == ["", "male", "female", "diverse"]
    form["salutation"] = "female"
    form["first_name"] = "  Ann  "
    form["last_name"] = "Smith"
    form["phone"] = "+41 44 123 45 67"
    form["job_title"] = "Physiotherapist"
    saved = form.submit(status=303).follow()
    assert "Your personal data is saved." in saved.text
    row = practitioner(engine, ANN)
    assert (row.salutation, row.first_name, row.last_name, row.phone, row.job_title) == (
        "female",
        "Ann",
        "Smith",
        "+41 44 123 45 67",
        "Physiotherapist",
    )
    form = saved.forms["account-form"]
    assert form["first_name"].value == "Ann" and form["salutation"].value == "female"
    assert home_name(browser) == "Ann"
    (event,) = rows(engine, "SELECT summary FROM audit_events WHERE kind = 'profile_changed'")
    assert ANN in event.summary and "first name" in event.summary and "phone" in event.summary

    form["phone"] = ""
    form["salutation"] = ""
    form.submit(status=303)
    row = practitioner(engine, ANN)
    assert row.phone is None and row.salutation is None


def test_saving_unchanged_data_says_so_and_audits_nothing(sso: Sso, engine: Engine):
    browser = logged_in(sso, ANN)
    page = browser.get("/account").forms["account-form"].submit(status=303).follow()
    assert "Nothing was changed." in page.text
    assert rows(engine, "SELECT * FROM audit_events WHERE kind = 'profile_changed'") == []


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("first_name", "   ", "Enter a first name."),
        ("last_name", "x" * 101, "The last name is longer than 100 characters."),
        ("phone", "1" * 41, "At most 40 characters."),
        ("job_title", "j" * 101, "At most 100 characters."),
    ],
)
def test_an_invalid_field_is_explained_beside_it_and_nothing_is_saved(
    sso: Sso, engine: Engine, field: str, value: str, message: str
):
    browser = logged_in(sso, ANN)
    before = practitioner(engine, ANN)
    form = browser.get("/account").forms["account-form"]
    form["job_title"] = "Physiotherapist"  # a valid change in the same form is not saved either
    form[field] = value
    page = form.submit(status=400)
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in page.text
    assert f'aria-describedby="{field}-error"' in page.text
    assert page.forms["account-form"][field].value == value  # what was typed comes back
    assert practitioner(engine, ANN) == before
    assert rows(engine, "SELECT * FROM audit_events WHERE kind = 'profile_changed'") == []


def test_a_salutation_outside_the_list_is_refused(sso: Sso, engine: Engine):
    browser = logged_in(sso, ANN)
    token = csrf_token(browser.get("/account"))
    fields = {"csrf_token": token, "salutation": "king", "first_name": "Pat", "last_name": "Ann"}
    page = browser.post("/account", fields, status=400)
    assert "Choose male, female, diverse or nothing." in page.text
    assert practitioner(engine, ANN).salutation is None


def test_the_email_is_shown_but_cannot_be_changed_on_the_account_page(sso: Sso, engine: Engine):
    browser = logged_in(sso, ANN)
    page = browser.get("/account")
    assert ANN in page.text and "email" not in page.forms["account-form"].fields
    fields = {"csrf_token": csrf_token(page), "email": "mallory@evil.example", "first_name": "Pat", "last_name": "Ann"}
    browser.post("/account", fields, status=303)
    assert practitioner(engine, ANN).email == ANN
    assert rows(engine, "SELECT * FROM practitioners WHERE email = 'mallory@evil.example'") == []


def test_a_form_field_sent_twice_or_as_a_file_gets_a_message_not_an_error(sso: Sso, engine: Engine):
    browser = logged_in(sso, ANN)
    token = csrf_token(browser.get("/account"))
    page = browser.post(
        "/account",
        {"csrf_token": token, "first_name": "Pat", "last_name": "Ann"},
        upload_files=[("phone", "phone.txt", b"123")],
        status=400,
    )
    assert "This field takes text." in page.text
    assert practitioner(engine, ANN).phone is None


def test_the_account_pages_need_a_login(sso: Sso):
    browser = sso.portal.browser("acme")
    assert browser.get("/account", status=303).location.endswith("/login?next=%2Faccount")
    assert browser.get("/account/linked", status=303).location.endswith("/login?next=%2Faccount%2Flinked")


# --- standard workflow: a local password through "forgot password" -------------------------


def test_a_practitioner_registered_at_first_sso_login_sets_a_local_password_by_reset(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(engine, unknown_identity="register")
    sso.op.login_as("nina-sub", email="nina@home.example", email_verified=True, given_name="Nina", family_name="Novak")
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, status=303).location.endswith("/")
    assert home_name(browser) == "Nina"
    assert practitioner(engine, "nina@home.example").password_hash is None
    sso.portal.log_in(sso.portal.browser("acme"), "nina@home.example", PASSWORD, status=401)

    assert "a link to set a new password is on its way" in ask_for_reset(sso.portal, "nina@home.example").text
    (mail,) = sso.portal.mails()
    assert mail.to == "nina@home.example"
    set_password_with(sso.portal.browser("acme"), mail.link())

    fresh = sso.portal.browser("acme")
    sso.portal.log_in(fresh, "nina@home.example", NEW_PASSWORD)
    assert home_name(fresh) == "Nina"
    assert len(links_of(engine, "nina@home.example")) == 1  # Single Sign On still works beside it
    assert sso.log_in(sso.portal.browser("acme"), status=303).location.endswith("/")


def test_a_practitioner_provisioned_without_a_password_sets_one_by_reset_and_may_then_unlink(sso: Sso, engine: Engine):
    sso.portal.add_practitioner("acme", "bob@acme.test", password=None)
    sso.connect()
    sso.op.login_as("bob-sub", email="bob@home.example", email_verified=True)
    browser = linked_by_sso(sso, "bob@acme.test")
    (link_id,) = links_of(engine, "bob@acme.test")
    assert LAST_WAY in unlink(browser, link_id, status=400).text

    ask_for_reset(sso.portal, "bob@acme.test")
    set_password_with(sso.portal.browser("acme"), sso.portal.mails()[-1].link())
    # Setting the password ended Bob's sessions; he logs in with it and now may unlink.
    fresh = logged_in(sso, "bob@acme.test", NEW_PASSWORD)
    unlink(fresh, link_id, status=303)
    assert links_of(engine, "bob@acme.test") == []


# --- standard workflow: linked accounts ---------------------------------------------------


def test_the_linked_accounts_page_lists_provider_and_dates_and_is_linked_from_my_account(sso: Sso, engine: Engine):
    sso.connect()
    browser = linked_by_sso(sso, ANN)
    sso.log_in(sso.portal.browser("acme"), status=303)  # a second login sets "last used"
    assert 'href="/account/linked"' in browser.get("/account").text
    page = browser.get("/account/linked")
    with engine.connect() as connection:  # through the table, so both databases give datetimes
        (row,) = connection.execute(select(identity_links.c.linked_at, identity_links.c.last_used_at)).all()
    berlin = ZoneInfo("Europe/Berlin")  # the practice's clock, in the page's language (English)
    assert "Contoso ID" in page.text and format_date(row.linked_at.astimezone(berlin), "medium", "en") in page.text
    last_used = row.last_used_at.astimezone(berlin)
    assert f"{format_date(last_used, 'medium', 'en')}, {format_time(last_used, 'short', locale='en')}" in page.text
    assert len(unlink_forms(page)) == 1
    assert not any(f.action.startswith("/sso/") for f in page.forms.values())  # nothing left to link


def test_a_link_can_be_removed_while_a_password_still_logs_in(sso: Sso, engine: Engine):
    sso.connect()
    browser = linked_by_sso(sso, ANN)
    (form,) = unlink_forms(browser.get("/account/linked"))
    page = form.submit(status=303).follow()
    assert "no longer linked" in page.text and "No Single Sign On account is linked yet" in page.text
    assert any(f.action.startswith("/sso/") for f in page.forms.values())  # it can be linked again
    assert links_of(engine, ANN) == []
    (event,) = rows(engine, "SELECT summary FROM audit_events WHERE kind = 'link_removed'")
    assert ANN in event.summary and "ann-sub" in event.summary
    # The provider account no longer logs Ann in: the next SSO login asks for the code again.
    assert sso.log_in(sso.portal.browser("acme"), status=303).location.endswith("/sso/link")
    logged_in(sso, ANN)


def test_the_last_way_to_log_in_cannot_be_unlinked(sso: Sso, engine: Engine):
    sso.portal.add_practitioner("acme", "bob@acme.test", password=None)
    sso.connect()
    sso.op.login_as("bob-sub", email="bob@home.example", email_verified=True)
    browser = linked_by_sso(sso, "bob@acme.test")
    (form,) = unlink_forms(browser.get("/account/linked"))
    page = form.submit(status=400)
    assert f'<p class="error" role="alert">{LAST_WAY}' in page.text
    assert len(unlink_forms(page)) == 1
    assert len(links_of(engine, "bob@acme.test")) == 1
    assert rows(engine, "SELECT * FROM audit_events WHERE kind = 'link_removed'") == []


def test_under_restrict_to_sso_a_password_is_no_way_in_so_the_last_link_stays(sso: Sso, engine: Engine):
    sso.connect()
    browser = linked_by_sso(sso, ANN)
    set_policy(engine, restrict_to_sso=True)
    (form,) = unlink_forms(browser.get("/account/linked"))
    assert LAST_WAY in form.submit(status=400).text
    assert len(links_of(engine, ANN)) == 1


def test_a_link_of_another_practitioner_cannot_be_unlinked(sso: Sso, engine: Engine):
    sso.connect()
    ann = linked_by_sso(sso, ANN)
    sso.portal.add_practitioner("acme", "bob@acme.test")
    sso.op.login_as("bob-sub", email="bob@home.example", email_verified=True)
    linked_by_sso(sso, "bob@acme.test")
    (bobs_link,) = links_of(engine, "bob@acme.test")
    page = unlink(ann, bobs_link, status=404)
    assert "That linked account does not exist." in page.text
    assert links_of(engine, "bob@acme.test") == [bobs_link]
    assert len(links_of(engine, ANN)) == 1


@pytest.mark.parametrize("link_id, status", [("", 404), ("no-such-link", 404), ("x" * 65, 400)])
def test_an_unknown_link_id_is_refused_with_a_message(sso: Sso, engine: Engine, link_id: str, status: int):
    sso.connect()
    browser = linked_by_sso(sso, ANN)
    page = unlink(browser, link_id, status=status)
    assert '<p class="error" role="alert">' in page.text
    assert len(links_of(engine, ANN)) == 1


def test_an_unknown_action_on_linked_accounts_is_refused(sso: Sso, engine: Engine):
    sso.connect()
    browser = linked_by_sso(sso, ANN)
    (link_id,) = links_of(engine, ANN)
    token = csrf_token(browser.get("/account/linked"))
    page = browser.post("/account/linked", {"csrf_token": token, "action": "delete", "link_id": link_id}, status=400)
    assert "That action is not known" in page.text
    assert links_of(engine, ANN) == [link_id]


# --- pseudo-SSO ---------------------------------------------------------------------------


def test_under_pseudo_sso_the_login_page_offers_only_the_providers(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(engine, workflow="pseudo_sso", self_registration=True)
    browser = sso.portal.browser("acme")
    page = browser.get("/login")
    assert "login-form" not in page.forms
    assert [f.action for f in page.forms.values() if f.action.startswith("/sso/")]
    assert "Forgot your password" not in page.text and "/password/forgot" not in page.text
    assert "/register" not in page.text and "Create an account" not in page.text
    token = csrf_token(page)
    browser.post("/login", {"csrf_token": token, "email": ANN, "password": PASSWORD}, status=403)
    assert browser.get("/", status=303).location.endswith("/login")


def test_under_pseudo_sso_forgot_password_and_registration_are_refused(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(engine, workflow="pseudo_sso", self_registration=True)
    browser = sso.portal.browser("acme")
    token = csrf_token(browser.get("/login"))
    assert "passwords are not used here" in browser.get("/password/forgot", status=403).text
    browser.post("/password/forgot", {"csrf_token": token, "email": ANN}, status=403)
    browser.get("/register", status=404)
    fields = {"csrf_token": token, "email": "nina@acme.test", "first_name": "Nina", "last_name": "Novak"}
    browser.post("/register", fields, status=404)
    assert sso.portal.mails() == []
    assert rows(engine, "SELECT * FROM practitioners WHERE email = 'nina@acme.test'") == []


def test_under_pseudo_sso_the_account_page_is_read_only(sso: Sso, engine: Engine):
    browser = pseudo_sso_login(sso, engine)
    page = browser.get("/account")
    assert "account-form" not in page.forms
    assert "comes from Acme Practice's identity provider" in page.text
    assert "<td>Ann</td>" in page.text and "<td>Smith</td>" in page.text and f"<td>{ANN}</td>" in page.text
    assert "/account/linked" not in page.text
    assert "/password/forgot" not in page.text


def test_under_pseudo_sso_a_post_to_the_account_page_is_refused_and_changes_nothing(sso: Sso, engine: Engine):
    browser = pseudo_sso_login(sso, engine)
    before = practitioner(engine, ANN)
    token = csrf_token(browser.get("/account"))
    fields = {
        "csrf_token": token,
        "salutation": "male",
        "first_name": "Mallory",
        "last_name": "Evil",
        "phone": "666",
        "job_title": "Owner",
    }
    page = browser.post("/account", fields, status=403)
    assert "identity provider" in page.text
    assert practitioner(engine, ANN) == before
    assert rows(engine, "SELECT * FROM audit_events WHERE kind = 'profile_changed'") == []


def test_under_pseudo_sso_linked_accounts_are_hidden_and_refused(sso: Sso, engine: Engine):
    browser = pseudo_sso_login(sso, engine)
    (link_id,) = links_of(engine, ANN)
    page = browser.get("/account/linked", status=403)
    assert "managed by this practice&#39;s identity provider" in page.text and "Unlink" not in page.text
    page = unlink(browser, link_id, status=403)
    assert "managed by this practice&#39;s identity provider" in page.text
    token = csrf_token(browser.get("/account"))
    browser.post("/account/linked", {"csrf_token": token, "action": "other"}, status=403)
    assert links_of(engine, ANN) == [link_id]
    assert rows(engine, "SELECT * FROM audit_events WHERE kind = 'link_removed'") == []


def test_switching_back_to_standard_makes_the_data_editable_again(sso: Sso, engine: Engine):
    browser = pseudo_sso_login(sso, engine)
    set_policy(engine, workflow="standard")
    form = browser.get("/account").forms["account-form"]
    form["job_title"] = "Therapist"
    form.submit(status=303)
    assert practitioner(engine, ANN).job_title == "Therapist"
    assert len(unlink_forms(browser.get("/account/linked"))) == 1


# --- self-registration --------------------------------------------------------------------


def test_with_self_registration_off_the_page_is_refused_and_not_offered(portal: Portal, engine: Engine):
    portal.open_tenant("acme")
    browser = portal.browser("acme")
    page = browser.get("/login")
    assert "/register" not in page.text and "Create an account" not in page.text
    assert "does not take registrations" in browser.get("/register", status=404).text
    fields = {"csrf_token": csrf_token(page), "email": "nina@acme.test", "first_name": "Nina", "last_name": "Novak"}
    assert "does not take registrations" in browser.post("/register", fields, status=404).text
    assert rows(engine, "SELECT * FROM practitioners WHERE email = 'nina@acme.test'") == []
    assert portal.mails() == []


def test_under_restrict_to_sso_registration_is_refused_even_when_switched_on(portal: Portal, engine: Engine):
    portal.open_tenant("acme")
    set_policy(engine, self_registration=True)
    browser = portal.browser("acme")
    token = csrf_token(browser.get("/register"))  # the form as it was before the admin restricted login
    set_policy(engine, restrict_to_sso=True)
    assert "/register" not in browser.get("/login").text
    browser.get("/register", status=404)
    fields = {"csrf_token": token, "email": "nina@acme.test", "first_name": "Nina", "last_name": "Novak"}
    browser.post("/register", fields, status=404)
    assert rows(engine, "SELECT * FROM practitioners WHERE email = 'nina@acme.test'") == []


def test_self_registration_creates_an_account_that_works_once_the_mailed_link_sets_a_password(
    portal: Portal, engine: Engine
):
    portal.open_tenant("acme")
    set_policy(engine, self_registration=True)
    browser = portal.browser("acme")
    register_page = browser.get("/login").click(linkid="register-link")
    form = register_page.forms["register-form"]
    form["email"], form["first_name"], form["last_name"] = " Nina@Acme.test ", "Nina", "Novak"
    page = form.submit(status=200)
    assert REGISTERED in page.text and "register-form" not in page.forms
    row = practitioner(engine, "nina@acme.test")
    assert row.password_hash is None and (row.first_name, row.last_name) == ("Nina", "Novak")
    assert not row.is_owner and row.active
    portal.log_in(portal.browser("acme"), "nina@acme.test", PASSWORD, status=401)

    (mail,) = portal.mails()
    assert mail.to == "nina@acme.test" and mail.subject == "Your account at Acme Practice"
    assert re.match(r"^http://acme\.portal\.test/password/reset/\S{40,}$", mail.link())
    set_password_with(portal.browser("acme"), mail.link())
    fresh = portal.browser("acme")
    portal.log_in(fresh, "nina@acme.test", NEW_PASSWORD)
    assert home_name(fresh) == "Nina"
    # The link was single use.
    assert portal.browser("acme").get(mail.link(), status=404)


def test_registering_a_taken_email_gets_the_same_answer_and_no_second_account(portal: Portal, engine: Engine):
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ANN)
    set_policy(engine, self_registration=True)
    new = register(portal, "nina@acme.test")
    taken = register(portal, "ANN@acme.test", "Mallory", "Evil")
    answer = lambda page: re.search(r'id="register-sent">([^<]*)<', page.text).group(1)  # noqa: E731
    assert answer(taken) == answer(new).replace("nina@acme.test", "ANN@acme.test")
    assert taken.status_int == new.status_int == 200
    (ann,) = rows(engine, "SELECT first_name, last_name FROM practitioners WHERE lower(email) = 'ann@acme.test'")
    assert tuple(ann) == ("Pat", "Ann")
    portal.log_in(portal.browser("acme"), ANN)  # her password is untouched
    # Ann learns of the attempt by a plain reset mail; nobody else learns anything.
    mail = portal.mails()[-1]
    assert mail.to == ANN and mail.subject == "Reset your password for Acme Practice"


@pytest.mark.parametrize(
    "email, first_name, last_name, field, message",
    [
        ("", "Nina", "Novak", "email", "Enter an email address."),
        ("not-an-email", "Nina", "Novak", "email", "Enter a valid email address, such as name@practice.example."),
        ("nina@acme.test", "", "Novak", "first_name", "Enter a first name."),
        ("nina@acme.test", "Nina", " ", "last_name", "Enter a last name."),
        ("nina@acme.test", "Nina", "n" * 101, "last_name", "The last name is longer than 100 characters."),
    ],
)
def test_a_registration_with_a_bad_field_is_explained_beside_it_and_creates_nothing(
    portal: Portal, engine: Engine, email: str, first_name: str, last_name: str, field: str, message: str
):
    portal.open_tenant("acme")
    set_policy(engine, self_registration=True)
    page = register(portal, email, first_name, last_name, status=400)
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in page.text
    form = page.forms["register-form"]
    assert (form["email"].value, form["first_name"].value, form["last_name"].value) == (email, first_name, last_name)
    assert len(rows(engine, "SELECT * FROM practitioners")) == 1  # the owner
    assert portal.mails() == []


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_the_new_forms_refuse_a_post_without_a_valid_csrf_token(sso: Sso, engine: Engine, token: str | None):
    sso.connect()
    set_policy(engine, self_registration=True)
    browser = linked_by_sso(sso, ANN)
    (link_id,) = links_of(engine, ANN)
    before = practitioner(engine, ANN)
    extra = {} if token is None else {"csrf_token": token}
    posts = {
        "/account": {"first_name": "Mallory", "last_name": "Evil"},
        "/account/linked": {"action": "unlink", "link_id": link_id},
        "/register": {"email": "nina@acme.test", "first_name": "Nina", "last_name": "Novak"},
    }
    for path, fields in posts.items():
        page = browser.post(path, {**fields, **extra}, status=400)
        assert "The form has expired" in page.text
    anonymous = sso.portal.browser("acme")
    anonymous.get("/register")  # a CSRF cookie of its own, but no token in the form
    assert "The form has expired" in anonymous.post("/register", {**posts["/register"], **extra}, status=400).text
    assert practitioner(engine, ANN) == before
    assert links_of(engine, ANN) == [link_id]
    assert rows(engine, "SELECT * FROM practitioners WHERE email = 'nina@acme.test'") == []


# --- tenants apart ------------------------------------------------------------------------


def test_a_practitioner_of_beta_neither_sees_nor_unlinks_acme_links(sso: Sso, engine: Engine):
    sso.connect("acme")
    linked_by_sso(sso, ANN)
    (acme_link,) = links_of(engine, ANN)
    sso.portal.open_tenant("beta")
    sso.portal.add_practitioner("beta", ANN)
    beta = logged_in(sso, ANN, slug="beta")
    page = beta.get("/account/linked")
    assert "No Single Sign On account is linked yet" in page.text and unlink_forms(page) == []
    assert "Contoso ID" not in page.text
    assert "That linked account does not exist." in unlink(beta, acme_link, status=404).text
    assert links_of(engine, ANN) == [acme_link]


def test_an_acme_practitioner_cannot_unlink_a_beta_link(sso: Sso, engine: Engine):
    sso.connect("acme")
    acme = linked_by_sso(sso, ANN)
    sso.portal.open_tenant("beta")
    sso.portal.add_practitioner("beta", ANN)
    sso.connect("beta", name="Beta ID")
    sso.op.login_as("ann-beta-sub", email="ann@home.example", email_verified=True)
    linked_by_sso(sso, ANN, slug="beta")
    (beta_link,) = links_of(engine, ANN, slug="beta")
    assert "That linked account does not exist." in unlink(acme, beta_link, status=404).text
    assert links_of(engine, ANN, slug="beta") == [beta_link]
    assert "Beta ID" not in acme.get("/account/linked").text


def test_the_same_email_on_two_tenants_stays_two_accounts_with_their_own_policy(sso: Sso, engine: Engine):
    sso.portal.open_tenant("beta")
    sso.portal.add_practitioner("beta", ANN)
    set_policy(engine, "beta", self_registration=True)
    acme = pseudo_sso_login(sso, engine)  # acme in pseudo-SSO
    beta = logged_in(sso, ANN, slug="beta")  # beta standard, by password
    form = beta.get("/account").forms["account-form"]
    form["first_name"], form["job_title"] = "Annabel", "Beta physio"
    form.submit(status=303)
    assert (practitioner(engine, ANN, "beta").first_name, practitioner(engine, ANN, "beta").job_title) == (
        "Annabel",
        "Beta physio",
    )
    assert (practitioner(engine, ANN, "acme").first_name, practitioner(engine, ANN, "acme").job_title) == ("Ann", None)
    assert "account-form" not in acme.get("/account").forms
    acme.get("/account/linked", status=403)
    assert unlink_forms(beta.get("/account/linked")) == []
    # Registering on beta with an address only acme knows makes a beta account; acme's is untouched.
    acme_owner = practitioner(engine, "owner@acme.test", "acme")
    register(sso.portal, "owner@acme.test", "Olga", "Other", slug="beta")
    assert practitioner(engine, "owner@acme.test", "beta").first_name == "Olga"
    assert practitioner(engine, "owner@acme.test", "acme") == acme_owner
    assert sso.portal.mails()[-1].subject == "Your account at Beta Practice"
    set_policy(engine, "acme", self_registration=True)  # still refused: pseudo-SSO hides it
    sso.portal.browser("acme").get("/register", status=404)
