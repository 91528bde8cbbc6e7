"""Single Sign On from the practitioner's side, against a real OpenID Provider on loopback."""

from __future__ import annotations

import re


from tests.e2e.conftest import PASSWORD
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)


def home_name(browser) -> str:
    return re.search(r"<h1>Welcome, ([^<]*)</h1>", browser.get("/").text).group(1)


def test_first_sso_login_links_by_one_time_password_and_the_second_goes_straight_in(sso: Sso):
    sso.connect()
    browser = sso.portal.browser("acme")
    done = sso.first_login(browser, "ann@acme.test")
    assert done.status_int == 303 and done.location.endswith("/")
    assert home_name(browser) == "Pat"

    again = sso.portal.browser("acme")
    answer = sso.log_in(again, status=303)
    assert answer.location.endswith("/")
    assert home_name(again) == "Pat"


def test_the_code_goes_to_the_registered_email_in_a_real_mail(sso: Sso):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.log_in(browser, status=303)
    page = sso.request_code(browser, "ANN@acme.test")
    assert "If this email is registered here, a code is on its way" in page.text
    (mail,) = sso.portal.mails()
    assert mail.to == "ann@acme.test"
    assert "Acme Practice" in mail.text and "Contoso ID" in mail.text and "expires in 10 minutes" in mail.text
    assert sso.code_from_mail() in mail.html


def test_an_unregistered_email_gets_the_same_answer_and_no_mail(sso: Sso):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.log_in(browser, status=303)
    page = sso.request_code(browser, "stranger@acme.test")
    assert "If this email is registered here, a code is on its way" in page.text
    assert sso.portal.mails() == []


def test_a_wrong_code_is_refused_and_five_wrong_codes_need_a_new_one(sso: Sso):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.log_in(browser, status=303)
    sso.request_code(browser, "ann@acme.test")
    right = sso.code_from_mail()
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2, 1):
        page = sso.enter_code(browser, wrong, status=400)
        assert f"{left} tries left" in page.text
    sso.enter_code(browser, wrong, status=400)
    assert "Too many wrong codes" in sso.enter_code(browser, right, status=400).text
    assert browser.get("/", status=303).location.endswith("/login")


def test_codes_asked_through_other_identities_do_not_stop_the_practitioners_own(sso: Sso):
    sso.connect()
    for n in range(5):
        stranger = sso.portal.browser("acme")
        sso.op.login_as(f"stranger-{n}", email=f"stranger{n}@evil.example")
        sso.log_in(stranger, status=303)
        sso.request_code(stranger, "ann@acme.test")
    sso.op.login_as("ann-sub", email="ann@home.example")
    browser = sso.portal.browser("acme")
    done = sso.first_login(browser, "ann@acme.test")
    assert done.status_int == 303 and home_name(browser) == "Pat"
    assert [mail.to for mail in sso.portal.mails()] == ["ann@acme.test"] * 6


def test_a_code_limit_reached_says_so_and_sends_nothing(sso: Sso):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.log_in(browser, status=303)
    for _ in range(3):
        sso.request_code(browser, "ann@acme.test")
    form = browser.get("/sso/link").forms["email-form"]
    form["email"] = "ann@acme.test"
    refused = form.submit(status=429)
    assert "Too many codes were requested, so none was sent; wait 10 minutes and try again." in refused.text
    assert "on its way" not in refused.text
    assert len(sso.portal.mails()) == 3


def test_a_code_typed_into_another_browser_links_nothing(sso: Sso):
    sso.connect()
    victim = sso.portal.browser("acme")
    sso.log_in(victim, status=303)
    sso.request_code(victim, "ann@acme.test")
    code = sso.code_from_mail()

    attacker = sso.portal.browser("acme")
    sso.op.login_as("attacker-sub", email="attacker@evil.example")
    sso.log_in(attacker, status=303)
    sso.request_code(attacker, "ann@acme.test")
    page = sso.enter_code(attacker, code, status=400)
    assert "not right" in page.text
    assert attacker.get("/", status=303).location.endswith("/login")


def test_an_expired_code_links_nothing(sso: Sso, engine):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.log_in(browser, status=303)
    sso.request_code(browser, "ann@acme.test")
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE link_challenges SET expires_at = created_at")
    assert "expired" in sso.enter_code(browser, sso.code_from_mail(), status=400).text
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM identity_links").scalar() == 0


def test_the_code_is_stored_hashed(sso: Sso, engine):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.log_in(browser, status=303)
    sso.request_code(browser, "ann@acme.test")
    with engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT code_digest, salt FROM link_challenges").one()
    assert sso.code_from_mail() not in "".join(row)


def test_the_link_page_without_a_pending_sign_in_explains_itself(sso: Sso):
    page = sso.portal.browser("acme").get("/sso/link", status=400)
    assert "No sign-in to confirm" in page.text


def test_a_deactivated_practitioner_cannot_log_in_with_sso(sso: Sso, engine):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.first_login(browser, "ann@acme.test")
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE practitioners SET active = false WHERE email = 'ann@acme.test'")
    fresh = sso.portal.browser("acme")
    page = sso.log_in(fresh, status=403)
    assert "deactivated" in page.text
    assert fresh.get("/", status=303).location.endswith("/login")


def test_restrict_to_sso_closes_every_password_path(sso: Sso):
    sso.connect(restrict_to_sso=True)
    browser = sso.portal.browser("acme")
    page = browser.get("/login")
    assert "login-form" not in page.forms and "Single Sign On" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = browser.post("/login", {"csrf_token": token, "email": "ann@acme.test", "password": PASSWORD}, status=403)
    assert "Single Sign On only" in refused.text
    browser.get("/password/forgot", status=403)
    browser.post("/password/forgot", {"csrf_token": token, "email": "ann@acme.test"}, status=403)
    assert sso.portal.mails() == []
    assert browser.get("/", status=303).location.endswith("/login")


def test_the_next_target_survives_the_round_trip_as_a_relative_path(sso: Sso):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.first_login(browser, "ann@acme.test")
    fresh = sso.portal.browser("acme")
    page = fresh.get("/login?next=/account/linked")
    form = next(f for f in page.forms.values() if f.action.startswith("/sso/"))
    assert form["next"].value == "/account/linked"
    callback = sso.at_provider(form.submit(status=303).location)
    assert fresh.get(callback, status=303).location.endswith("/account/linked")


def test_a_next_target_pointing_elsewhere_lands_on_the_home_page(sso: Sso):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.first_login(browser, "ann@acme.test")
    fresh = sso.portal.browser("acme")
    form = next(f for f in fresh.get("/login?next=//evil.example/").forms.values() if f.action.startswith("/sso/"))
    callback = sso.at_provider(form.submit(status=303).location)
    assert fresh.get(callback, status=303).location == "http://acme.portal.test/"


def test_a_practitioner_logged_in_with_a_password_links_sso_from_account_settings(sso: Sso):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.portal.log_in(browser, "ann@acme.test")
    page = browser.get("/account/linked")
    assert "No Single Sign On account is linked yet" in page.text
    form = next(f for f in page.forms.values() if f.action.startswith("/sso/"))
    callback = sso.at_provider(form.submit(status=303).location)
    link_page = browser.get(browser.get(callback, status=303).location)
    assert "code-form" in link_page.forms and "email-form" not in link_page.forms
    assert sso.portal.mails()[-1].to == "ann@acme.test"
    form = link_page.forms["code-form"]
    form["code"] = sso.code_from_mail()
    linked = form.submit(status=303).follow()
    assert "Single Sign On is linked to your account" in linked.text and "Contoso ID" in linked.text

    fresh = sso.portal.browser("acme")
    assert sso.log_in(fresh, status=303).location.endswith("/")


def test_tenant_a_provider_and_links_never_log_anyone_into_tenant_b(sso: Sso):
    provider_id = sso.connect("acme")
    sso.first_login(sso.portal.browser("acme"), "ann@acme.test")
    sso.portal.open_tenant("beta")
    sso.portal.add_practitioner("beta", "ann@acme.test")
    beta = sso.portal.browser("beta")
    page = beta.get("/login")
    assert not any(f.action.startswith("/sso/") for f in page.forms.values())
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    beta.post(f"/sso/{provider_id}/start", {"csrf_token": token}, status=404)
    # A callback carried over from acme's flow finds no sign-in in beta's browser.
    acme = sso.portal.browser("acme")
    callback = sso.at_provider(sso.start(acme))
    beta.get(callback, status=400)
    assert beta.get("/", status=303).location.endswith("/login")
