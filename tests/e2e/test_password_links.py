"""/password/forgot and /password/reset/{token}: mailed, single-use, per-practice, never in clear."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import webtest
from sqlalchemy import Engine, select, text, update

from adapters.db.schema import password_reset_tokens, throttle_counters
from tests.e2e.conftest import PASSWORD, Portal

ANN = "ann@acme.test"
NEW_PASSWORD = "a brand new passphrase"
INVALID = "this link is invalid, already used or expired"
CONFIRMATION = "If this email is registered with Acme Practice, a link to set a new password is on its way."
LINK = re.compile(r"^http://acme\.portal\.test/password/reset/([A-Za-z0-9_-]{40,})$")


def the_form(page: webtest.TestResponse, field: str) -> webtest.Form:
    """The page's one form with this field (the logout form in the header has none)."""
    (form,) = [f for key, f in page.forms.items() if isinstance(key, int) and field in f.fields]
    return form


def ask_for_link(portal: Portal, email: str, slug: str = "acme") -> webtest.TestResponse:
    form = the_form(portal.browser(slug).get("/password/forgot"), "email")
    form["email"] = email
    return form.submit()


def choose_password(
    browser: webtest.TestApp, link: str, password: str = NEW_PASSWORD, status: int = 303
) -> webtest.TestResponse:
    form = the_form(browser.get(link), "password_confirm")
    form["password"] = form["password_confirm"] = password
    return form.submit(status=status)


def mailed_link(portal: Portal, email: str = ANN) -> str:
    """Asks for a reset link and returns the one that arrived."""
    ask_for_link(portal, email)
    return portal.mails()[-1].link()


def restrict_to_sso(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE tenants SET restrict_to_sso = true WHERE slug = 'acme'"))


@pytest.fixture
def acme(portal: Portal) -> Portal:
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ANN)
    return portal


# --- asking for a link --------------------------------------------------------------------


def test_confirmation_is_the_same_whether_or_not_the_email_is_registered(acme):
    answers = [ask_for_link(acme, email) for email in (ANN, "nobody@acme.test")]
    notices = [page.html.find(class_="notice").get_text(strip=True) for page in answers]
    assert [page.status_int for page in answers] == [200, 200]
    assert notices[0] == notices[1] and notices[0].startswith(CONFIRMATION)


def test_reset_mail_goes_only_to_registered_active_emails_of_this_practice(acme, engine):
    acme.add_practitioner("acme", "gone@acme.test")
    with engine.begin() as connection:
        connection.execute(text("UPDATE practitioners SET active = false WHERE email = 'gone@acme.test'"))
    acme.open_tenant("beta")
    acme.add_practitioner("beta", "zed@beta.test")
    for email in ("  ANN@Acme.Test ", "gone@acme.test", "nobody@acme.test", "zed@beta.test", "owner@beta.test"):
        assert CONFIRMATION in ask_for_link(acme, email).text
    assert [mail.to for mail in acme.mails()] == [ANN]


def test_reset_mail_names_the_practice_and_links_to_its_own_host(acme):
    ask_for_link(acme, ANN)
    (mail,) = acme.mails()
    assert mail.subject == "Reset your password for Acme Practice"
    assert LINK.match(mail.link())
    assert "Acme Practice" in mail.text and "Acme Practice" in mail.html
    assert f'href="{mail.link()}"' in mail.html


@pytest.mark.parametrize(
    "email, message",
    [("not an email", "enter a valid email address"), (ANN + "\x00", "character that is not allowed")],
)
def test_malformed_email_gets_a_400_with_a_message_and_no_mail(acme, email, message):
    form = the_form(acme.browser("acme").get("/password/forgot"), "email")
    form["email"] = email
    refused = form.submit(status=400)
    assert message in refused.text
    assert acme.mails() == []


def test_at_most_three_reset_mails_per_account_per_15_minutes(acme, engine):
    acme.add_practitioner("acme", "bob@acme.test")
    for _ in range(5):
        assert CONFIRMATION in ask_for_link(acme, ANN).text
    assert len(acme.mails()) == 3
    ask_for_link(acme, "bob@acme.test")  # another account has its own allowance
    assert [mail.to for mail in acme.mails()].count("bob@acme.test") == 1
    with engine.begin() as connection:
        connection.execute(
            update(throttle_counters).values(window_started_at=datetime.now(timezone.utc) - timedelta(minutes=16))
        )
    ask_for_link(acme, ANN)
    assert [mail.to for mail in acme.mails()].count(ANN) == 4


# --- following the link -------------------------------------------------------------------


def test_reset_link_sets_the_new_password_and_the_old_one_stops_working(acme):
    browser = acme.browser("acme")
    done = choose_password(browser, mailed_link(acme))
    assert done.location.endswith("/login?password_set=1")
    assert "Your password is set" in done.follow().text
    acme.log_in(acme.browser("acme"), ANN, PASSWORD, status=401)
    acme.log_in(acme.browser("acme"), ANN, NEW_PASSWORD, status=303)


def test_reset_link_works_only_once(acme):
    link = mailed_link(acme)
    browser = acme.browser("acme")
    form = the_form(browser.get(link), "password_confirm")  # a second tab, opened in time
    choose_password(browser, link)
    assert INVALID in browser.get(link, status=404).text
    form["password"] = form["password_confirm"] = "yet another passphrase"
    assert INVALID in form.submit(status=404).text
    acme.log_in(acme.browser("acme"), ANN, NEW_PASSWORD, status=303)


def test_a_newer_link_replaces_the_older_one(acme):
    older = mailed_link(acme)
    newer = mailed_link(acme)
    assert INVALID in acme.browser("acme").get(older, status=404).text
    choose_password(acme.browser("acme"), newer)


def test_link_from_one_practice_is_invalid_on_another_practices_host(acme):
    acme.open_tenant("beta")
    path = mailed_link(acme).removeprefix("http://acme.portal.test")
    assert INVALID in acme.browser("beta").get(path, status=404).text
    choose_password(acme.browser("acme"), path)  # still good where it belongs


@pytest.mark.parametrize("token", ["garbage", "A" * 43, "x" * 2000])
def test_made_up_token_gets_a_404_page(acme, token):
    assert INVALID in acme.browser("acme").get(f"/password/reset/{token}", status=404).text


def test_reset_token_is_never_stored_in_clear(acme, engine):
    token = LINK.match(mailed_link(acme)).group(1)
    with engine.connect() as connection:
        (row,) = connection.execute(select(password_reset_tokens)).all()
    assert all(token not in str(value) for value in row)


def test_link_of_a_practitioner_deactivated_since_sets_no_password(acme, engine):
    link = mailed_link(acme)
    with engine.begin() as connection:
        connection.execute(text("UPDATE practitioners SET active = false WHERE email = :email"), {"email": ANN})
    assert INVALID in choose_password(acme.browser("acme"), link, status=404).text
    with engine.begin() as connection:
        connection.execute(text("UPDATE practitioners SET active = true WHERE email = :email"), {"email": ANN})
    acme.log_in(acme.browser("acme"), ANN, PASSWORD, status=303)


def test_too_short_password_is_refused_and_the_link_still_works(acme):
    link = mailed_link(acme)
    refused = choose_password(acme.browser("acme"), link, "short", status=400)
    assert "at least 10 characters" in refused.text
    choose_password(acme.browser("acme"), link)


def test_completing_a_reset_ends_the_practitioners_other_sessions(acme):
    elsewhere = acme.browser("acme")
    acme.log_in(elsewhere, ANN)
    assert "Welcome, Pat" in elsewhere.get("/").text
    choose_password(acme.browser("acme"), mailed_link(acme))
    assert elsewhere.get("/", status=303).location.endswith("/login")


# --- restrict to SSO closes every password path -------------------------------------------


def test_under_restrict_to_sso_the_forgot_page_is_refused_and_offers_no_form(acme, engine):
    restrict_to_sso(engine)
    page = acme.browser("acme").get("/password/forgot", status=403)
    assert "Single Sign On only" in page.text
    assert page.html.find("input", attrs={"name": "email"}) is None


def test_under_restrict_to_sso_asking_for_a_link_is_refused_and_no_mail_is_sent(acme, engine):
    form = the_form(acme.browser("acme").get("/password/forgot"), "email")  # opened before the switch
    form["email"] = ANN
    restrict_to_sso(engine)
    refused = form.submit(status=403)
    assert "Single Sign On only" in refused.text
    assert refused.html.find("input", attrs={"name": "email"}) is None
    assert acme.mails() == []


def test_under_restrict_to_sso_a_mailed_link_is_refused(acme, engine):
    link = mailed_link(acme)
    browser = acme.browser("acme")
    form = the_form(browser.get(link), "password_confirm")
    restrict_to_sso(engine)
    assert "Single Sign On only" in browser.get(link, status=403).text
    form["password"] = form["password_confirm"] = NEW_PASSWORD
    form.submit(status=403)
    with engine.connect() as connection:
        assert connection.scalar(select(password_reset_tokens.c.used_at)) is None
