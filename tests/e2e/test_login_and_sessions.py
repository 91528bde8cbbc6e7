"""Password login, its refusals and throttles, and the server-side session it opens.

Every test drives the real forms of the pages (CSRF token included); a hand-built POST
appears only where the test is about a forged or missing field.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

import pytest
import webtest
from sqlalchemy import Engine, text, update
from webtest.forms import Submit

from adapters.db import schema
from tests.e2e.conftest import BASE_DOMAIN, PASSWORD, Portal

ADA = "ada@acme.test"
OWNER = "owner@acme.test"
WRONG = "email or password is wrong"
EXPIRED_FORM = "The form has expired"
SESSION_COOKIE = "portal_session"


# --- helpers -----------------------------------------------------------------------------


@pytest.fixture
def acme(portal: Portal) -> Portal:
    """The acme practice with its owner and one practitioner, Pat Ada, who has a password."""
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ADA)
    return portal


def submit_login(
    browser: webtest.TestApp, email: str, password: str = PASSWORD, status: int = 303
) -> webtest.TestResponse:
    form = browser.get("/login").forms["login-form"]
    form["email"], form["password"] = email, password
    return form.submit(status=status)


def alert(page: webtest.TestResponse) -> str:
    """The text of the page's error message."""
    found = page.html.find(role="alert")
    assert found is not None, f"no error message on the page:\n{page.text}"
    return found.get_text(strip=True)


def path_of(response: webtest.TestResponse, host: str = f"acme.{BASE_DOMAIN}") -> str:
    """Where a redirect sends the browser; it must stay on the practice's own host."""
    target = urlsplit(response.location)
    assert target.netloc in ("", host), response.location
    return target.path


def assert_not_logged_in(browser: webtest.TestApp) -> None:
    assert path_of(browser.get("/", status=303), browser.extra_environ["HTTP_HOST"]) == "/login"


def assert_logged_in_as(browser: webtest.TestApp, full_name: str) -> None:
    assert full_name in browser.get("/", status=200).text


def session_cookie(browser: webtest.TestApp) -> str | None:
    return browser.cookies.get(SESSION_COOKIE)


def browser_with_session(portal: Portal, slug: str, value: str) -> webtest.TestApp:
    """A fresh browser that carries someone else's session cookie value."""
    browser = portal.browser(slug)
    browser.set_cookie(SESSION_COOKIE, value)
    return browser


def set_cookie_header(response: webtest.TestResponse, name: str) -> str:
    headers = [v for k, v in response.headerlist if k.lower() == "set-cookie" and v.startswith(f"{name}=")]
    assert len(headers) == 1, f"expected one Set-Cookie for {name}: {response.headerlist}"
    return headers[0]


def logout_form(page: webtest.TestResponse) -> webtest.Form:
    """The small "Log out" form in the page header."""
    return next(form for form in page.forms.values() if (form.action or "").endswith("/logout"))


def practitioner_id(engine: Engine, email: str) -> str:
    with engine.connect() as connection:
        return connection.execute(text("SELECT id FROM practitioners WHERE email = :e"), {"e": email}).scalar_one()


def count_rows(engine: Engine, sql: str, **params: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar_one()


def deactivate_through_admin(owner: webtest.TestApp, engine: Engine, email: str) -> webtest.TestResponse:
    """The owner presses "Deactivate" in the practitioner's row of /admin/practitioners."""
    pid = practitioner_id(engine, email)
    page = owner.get("/admin/practitioners")
    form = next(
        f
        for f in page.forms.values()
        if "practitioner_id" in f.fields
        and f["practitioner_id"].value == pid
        and any(isinstance(b, Submit) and b.value_if_submitted() == "deactivate" for b in f.fields.get("action", []))
    )
    return form.submit("action", value="deactivate", status=303).follow()


def fail_logins(browser: webtest.TestApp, emails: list[str]) -> None:
    for email in emails:
        page = submit_login(browser, email, "not the password", status=401)
        assert alert(page) == WRONG


def restrict_to_sso(engine: Engine, slug: str = "acme") -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE tenants SET restrict_to_sso = true WHERE slug = :s"), {"s": slug})


def deactivate_in_database(engine: Engine, email: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE practitioners SET active = false WHERE email = :e"), {"e": email})


# --- logging in ----------------------------------------------------------------------------


def test_right_email_and_password_log_in_and_land_on_the_home_page(acme):
    browser = acme.browser("acme")
    response = submit_login(browser, ADA)
    assert path_of(response) == "/"
    home = response.follow(status=200)
    assert "Welcome, Pat" in home.text
    assert "Pat Ada" in home.text


def test_email_is_matched_without_regard_to_case_or_surrounding_spaces(acme):
    browser = acme.browser("acme")
    submit_login(browser, "  ADA@Acme.TEST  ")
    assert_logged_in_as(browser, "Pat Ada")


def test_login_page_of_a_logged_in_practitioner_sends_them_home(acme):
    browser = acme.browser("acme")
    submit_login(browser, ADA)
    assert path_of(browser.get("/login", status=303)) == "/"


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "password"),
    [
        pytest.param(ADA, "not the password", id="wrong-password"),
        pytest.param("nobody@acme.test", PASSWORD, id="unknown-email"),
        pytest.param("", "", id="both-empty"),
        pytest.param(ADA, "", id="empty-password"),
        pytest.param("", PASSWORD, id="empty-email"),
        pytest.param("not an email", PASSWORD, id="malformed-email"),
    ],
)
def test_failed_login_says_only_that_email_or_password_is_wrong(acme, email, password):
    browser = acme.browser("acme")
    page = submit_login(browser, email, password, status=401)
    assert alert(page) == WRONG
    assert page.forms["login-form"]["password"].value == ""
    assert_not_logged_in(browser)


def test_echoed_email_is_escaped(acme):
    page = submit_login(acme.browser("acme"), '"><script>alert(1)</script>', status=401)
    assert "<script>alert(1)" not in page.text
    assert page.forms["login-form"]["email"].value == '"><script>alert(1)</script>'


def test_account_without_a_password_cannot_log_in_with_any_password(acme):
    acme.add_practitioner("acme", "sso.only@acme.test", password=None)
    for attempt in ("", PASSWORD, "anything at all"):
        page = submit_login(acme.browser("acme"), "sso.only@acme.test", attempt, status=401)
        assert alert(page) == WRONG


def test_practitioner_of_another_practice_cannot_log_in_here(acme):
    acme.open_tenant("beta")
    acme.add_practitioner("beta", "bob@beta.test")
    page = submit_login(acme.browser("acme"), "bob@beta.test", status=401)
    assert alert(page) == WRONG
    submit_login(acme.browser("beta"), "bob@beta.test")  # the same credentials work at home


def test_wrong_password_and_unknown_email_pages_differ_only_in_the_echoed_email(acme):
    browser = acme.browser("acme")
    wrong_password = submit_login(browser, ADA, "not the password", status=401)
    unknown_email = submit_login(browser, "zed@acme.test", "not the password", status=401)
    assert wrong_password.forms["login-form"]["email"].value == ADA
    assert unknown_email.forms["login-form"]["email"].value == "zed@acme.test"
    assert wrong_password.text.replace(ADA, "EMAIL") == unknown_email.text.replace("zed@acme.test", "EMAIL")


def test_deactivated_practitioner_with_the_right_password_is_told_the_account_is_deactivated(acme, engine):
    deactivate_in_database(engine, ADA)
    browser = acme.browser("acme")
    page = submit_login(browser, ADA, status=403)
    assert "your account is deactivated" in alert(page)
    assert session_cookie(browser) is None
    assert_not_logged_in(browser)


def test_deactivated_practitioner_with_a_wrong_password_learns_nothing_more(acme, engine):
    deactivate_in_database(engine, ADA)
    page = submit_login(acme.browser("acme"), ADA, "not the password", status=401)
    assert alert(page) == WRONG


# --- throttling ----------------------------------------------------------------------------


def test_after_ten_failures_for_one_account_even_the_right_password_is_refused(acme, engine):
    browser = acme.browser("acme")
    fail_logins(browser, [ADA] * 10)
    page = submit_login(browser, ADA, status=429)
    assert "too many failed attempts" in alert(page)
    assert session_cookie(browser) is None
    # Counted in the database, so every server process agrees.
    assert count_rows(engine, "SELECT uses FROM throttle_counters WHERE bucket LIKE 'login:%'") == 10


def test_account_throttle_does_not_hold_back_other_accounts(acme):
    browser = acme.browser("acme")
    fail_logins(browser, [ADA] * 10)
    submit_login(browser, OWNER)
    assert_logged_in_as(browser, "Account Owner")


def test_account_throttle_counts_only_failures_of_the_last_fifteen_minutes(acme, engine):
    fail_logins(acme.browser("acme"), [ADA] * 10)
    sixteen_minutes_ago = datetime.now(timezone.utc) - timedelta(minutes=16)
    with engine.begin() as connection:
        connection.execute(update(schema.throttle_counters).values(window_started_at=sixteen_minutes_ago))
    submit_login(acme.browser("acme"), ADA)


def test_after_fifty_failures_from_one_address_its_correct_logins_are_refused(acme):
    crowded = acme.browser("acme", remote_addr="198.51.100.7")
    fail_logins(crowded, [f"guess{n}@acme.test" for n in range(50)])
    page = submit_login(acme.browser("acme", remote_addr="198.51.100.7"), ADA, status=429)
    assert "too many failed attempts" in alert(page)
    elsewhere = acme.browser("acme", remote_addr="203.0.113.9")
    submit_login(elsewhere, ADA)
    assert_logged_in_as(elsewhere, "Pat Ada")


def test_address_throttle_is_not_evaded_by_a_forged_forwarded_for_header(acme):
    crowded = acme.browser("acme", remote_addr="198.51.100.7")
    for n in range(50):
        crowded.extra_environ["HTTP_X_FORWARDED_FOR"] = f"10.0.{n}.1"
        fail_logins(crowded, [f"guess{n}@acme.test"])
    crowded.extra_environ["HTTP_X_FORWARDED_FOR"] = "10.0.99.1"
    page = submit_login(crowded, ADA, status=429)
    assert "too many failed attempts" in alert(page)


# --- logout --------------------------------------------------------------------------------


def test_logout_ends_the_session_for_good(acme):
    browser = acme.browser("acme")
    home = submit_login(browser, ADA).follow()
    old_session = session_cookie(browser)
    assert old_session
    page = logout_form(home).submit(status=303).follow(status=200)
    assert "You are logged out." in page.text
    assert session_cookie(browser) is None
    assert_not_logged_in(browser)
    assert_not_logged_in(browser_with_session(acme, "acme", old_session))


def test_logout_deletes_the_stored_session(acme, engine):
    browser = acme.browser("acme")
    home = submit_login(browser, ADA).follow()
    assert count_rows(engine, "SELECT count(*) FROM web_sessions") == 1
    logout_form(home).submit(status=303)
    assert count_rows(engine, "SELECT count(*) FROM web_sessions") == 0


# --- session cookie ------------------------------------------------------------------------


def test_the_session_cookie_alone_carries_the_login(acme):
    """The control for every "grants nothing" below: a live cookie value does grant."""
    browser = acme.browser("acme")
    submit_login(browser, ADA)
    assert_logged_in_as(browser_with_session(acme, "acme", session_cookie(browser)), "Pat Ada")


def test_login_replaces_a_session_id_planted_before_it(acme):
    planted = "chosen-by-an-attacker-0123456789abcdef"
    browser = browser_with_session(acme, "acme", planted)
    submit_login(browser, ADA)
    assert session_cookie(browser) not in (None, planted)
    assert_logged_in_as(browser, "Pat Ada")
    assert_not_logged_in(browser_with_session(acme, "acme", planted))


def test_every_login_rotates_the_session_id_and_the_old_one_grants_nothing(acme):
    browser = acme.browser("acme")
    second_form = browser.get("/login").forms["login-form"]  # fetched while still logged out
    submit_login(browser, ADA)
    first_session = session_cookie(browser)
    second_form["email"], second_form["password"] = OWNER, PASSWORD
    second_form.submit(status=303)
    second_session = session_cookie(browser)
    assert first_session and second_session and first_session != second_session
    assert_logged_in_as(browser, "Account Owner")
    assert_not_logged_in(browser_with_session(acme, "acme", first_session))


def test_session_and_csrf_cookies_are_http_only_and_same_site_lax(acme):
    browser = acme.browser("acme")
    login_page = browser.get("/login")
    form = login_page.forms["login-form"]
    form["email"], form["password"] = ADA, PASSWORD
    logged_in = form.submit(status=303)
    for response, name in ((logged_in, SESSION_COOKIE), (login_page, "portal_csrf")):
        attributes = [part.strip().lower() for part in set_cookie_header(response, name).split(";")]
        assert "httponly" in attributes, name
        assert "samesite=lax" in attributes, name


# --- CSRF ----------------------------------------------------------------------------------


def test_login_without_a_csrf_token_gets_the_form_has_expired_page(acme):
    browser = acme.browser("acme")
    browser.get("/login")
    page = browser.post("/login", {"email": ADA, "password": PASSWORD}, status=400)
    assert EXPIRED_FORM in page.text
    assert_not_logged_in(browser)


def test_login_with_a_wrong_csrf_token_gets_the_form_has_expired_page(acme):
    browser = acme.browser("acme")
    form = browser.get("/login").forms["login-form"]
    form["email"], form["password"], form["csrf_token"] = ADA, PASSWORD, "forged-token"
    page = form.submit(status=400)
    assert EXPIRED_FORM in page.text
    assert_not_logged_in(browser)


def test_login_form_from_another_browser_gets_the_form_has_expired_page(acme):
    form = acme.browser("acme").get("/login").forms["login-form"]
    victim = acme.browser("acme")
    victim.get("/login")
    form["email"], form["password"] = ADA, PASSWORD
    page = victim.post("/login", dict(form.submit_fields()), status=400)
    assert EXPIRED_FORM in page.text


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "wrong"])
def test_logout_without_the_right_csrf_token_gets_the_form_has_expired_page_and_keeps_the_session(acme, token):
    browser = acme.browser("acme")
    submit_login(browser, ADA)
    page = browser.post("/logout", {} if token is None else {"csrf_token": token}, status=400)
    assert EXPIRED_FORM in page.text
    assert_logged_in_as(browser, "Pat Ada")


# --- tenants -------------------------------------------------------------------------------


def test_session_cookie_from_one_practice_grants_nothing_at_another(acme):
    acme.open_tenant("beta")
    browser = acme.browser("acme")
    submit_login(browser, OWNER)
    carried = browser_with_session(acme, "beta", session_cookie(browser))
    assert_not_logged_in(carried)
    admin = carried.get("/admin/practitioners", status=303)
    assert path_of(admin, f"beta.{BASE_DOMAIN}") == "/login"


def test_owner_of_one_practice_cannot_log_in_at_another_with_their_credentials(acme):
    acme.open_tenant("beta")
    page = submit_login(acme.browser("beta"), OWNER, status=401)
    assert alert(page) == WRONG


# --- deactivation ends open sessions -------------------------------------------------------


def test_deactivating_a_practitioner_ends_their_open_session(acme, engine):
    ada = acme.browser("acme")
    submit_login(ada, ADA)
    assert_logged_in_as(ada, "Pat Ada")
    owner = acme.browser("acme", remote_addr="192.0.2.20")
    submit_login(owner, OWNER)
    listing = deactivate_through_admin(owner, engine, ADA)
    assert "Pat Ada was deactivated and logged out." in listing.text
    assert_not_logged_in(ada)
    assert (
        count_rows(
            engine, "SELECT count(*) FROM web_sessions WHERE practitioner_id = :p", p=practitioner_id(engine, ADA)
        )
        == 0
    )


# --- restrict to SSO -----------------------------------------------------------------------


def test_restricted_to_sso_login_page_has_no_password_form(acme, engine):
    restrict_to_sso(engine)
    page = acme.browser("acme").get("/login")
    assert "login-form" not in page.forms
    assert page.html.find("input", type="password") is None
    assert "Single Sign On only" in page.text


def test_restricted_to_sso_refuses_a_password_login_and_opens_no_session(acme, engine):
    browser = acme.browser("acme")
    form = browser.get("/login").forms["login-form"]  # fetched before the practice switched
    restrict_to_sso(engine)
    form["email"], form["password"] = ADA, PASSWORD
    page = form.submit(status=403)
    assert "Single Sign On only" in alert(page)
    assert session_cookie(browser) is None
    assert_not_logged_in(browser)


def test_restricted_to_sso_refuses_a_password_reset_request(acme, engine):
    browser = acme.browser("acme")
    form = browser.get("/password/forgot").forms[0]
    restrict_to_sso(engine)
    form["email"] = ADA
    page = form.submit(status=403)
    assert "Single Sign On only" in alert(page)
    assert acme.mails() == []


# --- where a login leads -------------------------------------------------------------------


def test_login_returns_to_the_page_that_asked_for_it(acme):
    browser = acme.browser("acme")
    to_login = browser.get("/admin/practitioners", status=303)
    form = to_login.follow().forms["login-form"]
    assert form["next"].value == "/admin/practitioners"
    form["email"], form["password"] = OWNER, PASSWORD
    landed = form.submit(status=303)
    assert path_of(landed) == "/admin/practitioners"
    assert "Practitioners" in landed.follow(status=200).text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_login_never_leads_to_another_site(acme, target):
    browser = acme.browser("acme")
    form = browser.get(f"/login?next={quote(target, safe='')}").forms["login-form"]
    assert form["next"].value == "/"
    form["next"] = target  # forged: the page itself never offers it
    form["email"], form["password"] = ADA, PASSWORD
    assert path_of(form.submit(status=303)) == "/"
