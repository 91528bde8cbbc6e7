"""A way back in: `tenant recover SLUG` mails the owner a single-use link past the login policy.

A practice restricted to its provider (restrict-to-SSO, or pseudo-SSO) whose provider is down:
the operator's command mails the owner a link, read here from the outbox; the owner signs in
with it once, through the real form, and nothing else of the policy opens.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import webtest
from sqlalchemy import Engine, Table, select, text, update

from adapters.db.schema import audit_events, password_reset_tokens, web_sessions

from domain.passwords.reset_token import PasswordResetToken, ResetPurpose
from domain.ports import PasswordResetTokenRepository, PractitionerRepository
from domain.tenancy.onboarding import TenantOnboarding
from tests.e2e.conftest import PASSWORD, Portal
from tests.e2e.sso import Sso, audit_rows, op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_cli import Cli, runner, write_config
from tests.e2e.test_concurrent_limits import all_at_once, csrf_token, form_post, served

OWNER = "owner@acme.test"
ANN = "ann@acme.test"
NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"^http://acme\.portal\.test/recover/([A-Za-z0-9_-]{40,})$")
INVALID = "this link is invalid, already used or expired"
SIGNED_IN_NOTICE = "The account owner signed in with a recovery link on"
OPEN_NOTICE = "A recovery link was mailed to the account owner."
SIGNED_IN_FROM = "(from 192.0.2.10)"  # the address the portal's test browsers come from
ADMIN_PAGES = ("/admin/authentication", "/admin/authentication/policy", "/admin/practitioners")
POLICIES = {"restrict-to-sso": {"restrict_to_sso": True}, "pseudo-sso": {"workflow": "pseudo_sso"}}


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def run(tmp_path: Any, database_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    """The operator's command line, on the same database as the portal."""
    return runner(write_config(tmp_path, database_url), capsys)


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def set_policy(engine: Engine, slug: str = "acme", **columns: Any) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in columns)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE tenants SET {assignments} WHERE slug = :slug"), {**columns, "slug": slug})


def provider_down(sso: Sso, engine: Engine, policy: str) -> None:
    """Acme signs in only through its provider, and the provider refuses the portal (an expired secret)."""
    sso.connect()
    set_policy(engine, **POLICIES[policy])
    sso.op.fail_token_endpoint(401)


def mailed_link(run: Cli, portal: Portal, slug: str = "acme") -> str:
    """Runs `tenant recover` and returns the path of the link the owner got."""
    sent = run("tenant", "recover", slug)
    assert sent.code == 0, sent.err
    mail = portal.mails()[-1]
    assert mail.to == f"owner@{slug}.test"
    return "/" + mail.link().split("/", 3)[3]


def recover(
    browser: webtest.TestApp, path: str, password: str = PASSWORD, status: int | str = 303
) -> webtest.TestResponse:
    form = browser.get(path).forms["recover-form"]
    form["password"] = password
    return form.submit(status=status)


def password_login(portal: Portal, browser: webtest.TestApp, status: int) -> webtest.TestResponse:
    """The login form's POST, sent even where the page shows no form."""
    page = browser.get("/login")
    token = page.html.find("input", attrs={"name": "csrf_token"})["value"]
    return browser.post("/login", {"csrf_token": token, "email": OWNER, "password": PASSWORD}, status=status)


def recovery_sessions(engine: Engine) -> list[Any]:
    c = web_sessions.c
    with engine.connect() as connection:
        return list(connection.execute(select(c.created_at, c.expires_at).where(c.login_method == "recovery")))


def set_times(engine: Engine, table: Table, **values: datetime) -> None:
    """Moves the clock for the rows of the table (every row: one practice's link or session)."""
    with engine.begin() as connection:
        connection.execute(update(table).values(**values))


def notice(page: webtest.TestResponse) -> str:
    """The recovery notices of an admin page, as one line of text."""
    found = [page.html.find(id=name) for name in ("recovery-notice", "recovery-link-notice")]
    return " ".join(" ".join(tag.get_text(" ").split()) for tag in found if tag)


# --- the way back in ------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_with_the_provider_down_the_owner_signs_in_once_with_the_mailed_link(
    sso: Sso, run: Cli, engine: Engine, policy: str
):
    provider_down(sso, engine, policy)
    locked_out = sso.portal.browser()
    assert sso.log_in(locked_out).status_int >= 400  # Single Sign On fails
    password_login(sso.portal, locked_out, 403)  # and passwords are closed

    path = mailed_link(run, sso.portal)
    browser = sso.portal.browser()
    page = browser.get(path)
    assert page.html.find("input", id="email")["value"] == OWNER and page.html.find("input", id="email").has_attr(
        "readonly"
    )
    landed = recover(browser, path).follow(status=200)
    assert landed.request.path == "/admin/authentication" and SIGNED_IN_NOTICE in notice(landed)

    again = sso.portal.browser()
    assert INVALID in again.get(path, status=404).text
    assert len(recovery_sessions(engine)) == 1


def test_the_command_says_where_the_link_went_and_never_prints_it(sso: Sso, run: Cli, engine: Engine):
    provider_down(sso, engine, "restrict-to-sso")
    sent = run("tenant", "recover", "acme")
    (mail,) = sso.portal.mails()[-1:]
    token = LINK.match(mail.link())
    assert token and mail.to == OWNER
    assert sent.code == 0 and OWNER in sent.out and token.group(1) not in sent.out + sent.err
    assert "/recover/" not in sent.out


def test_the_command_refuses_an_unknown_practice(run: Cli, portal: Portal, engine: Engine):
    refused = run("tenant", "recover", "nowhere")
    assert refused.code == 1 and refused.err == "error: there is no instance called 'nowhere'\n"
    assert refused.out == "" and rows(engine, "SELECT * FROM mail_outbox") == []


def test_the_recovery_session_survives_the_restriction_for_an_hour_at_most(sso: Sso, run: Cli, engine: Engine):
    provider_down(sso, engine, "restrict-to-sso")
    browser = sso.portal.browser()
    recover(browser, mailed_link(run, sso.portal))
    ((created_at, expires_at),) = recovery_sessions(engine)
    assert expires_at - created_at == timedelta(hours=1)
    assert browser.get("/admin/authentication", status=200)
    set_times(engine, web_sessions, expires_at=datetime.now(timezone.utc))  # an hour later
    assert browser.get("/admin/authentication", status=303).location.endswith("/login?next=%2Fadmin%2Fauthentication")


def test_a_policy_change_keeps_the_recovery_session_and_password_login_stays_closed(sso: Sso, run: Cli, engine: Engine):
    provider_down(sso, engine, "restrict-to-sso")
    browser = sso.portal.browser()
    recover(browser, mailed_link(run, sso.portal))
    form = browser.get("/admin/authentication/policy").forms["policy-form"]
    form["workflow"] = "pseudo_sso"  # ends every session whose door it closes
    form.submit("action", value="save", status=303)
    assert browser.get("/admin/authentication", status=200)
    password_login(sso.portal, sso.portal.browser(), 403)
    sso.portal.browser().get("/password/forgot", status=403)


def test_an_owner_without_a_password_chooses_one_on_the_same_link_then_is_signed_in(sso: Sso, run: Cli, engine: Engine):
    provider_down(sso, engine, "pseudo-sso")
    with engine.begin() as connection:
        connection.execute(text("UPDATE practitioners SET password_hash = NULL WHERE email = :e"), {"e": OWNER})
    path = mailed_link(run, sso.portal)
    browser = sso.portal.browser()
    form = browser.get(path).forms["recover-form"]
    form["password"], form["password_confirm"] = NEW_PASSWORD, "something else entirely"
    assert "the two passwords are not the same" in form.submit(status=400).text
    form = browser.get(path).forms["recover-form"]
    form["password"] = form["password_confirm"] = "short"
    assert "at least 10 characters" in form.submit(status=400).text
    form = browser.get(path).forms["recover-form"]
    form["password"] = form["password_confirm"] = NEW_PASSWORD
    assert form.submit(status=303).follow(status=200).request.path == "/admin/authentication"
    assert rows(engine, "SELECT password_hash FROM practitioners WHERE email = :e", e=OWNER)[0][0] is not None


def test_with_password_login_open_the_link_is_a_one_time_sign_in_for_the_owner(portal: Portal, run: Cli):
    portal.open_tenant("acme")
    browser = portal.browser()
    assert recover(browser, mailed_link(run, portal)).follow(status=200).request.path == "/admin/authentication"


# --- what the link refuses ------------------------------------------------------------------


def test_an_expired_link_is_refused_and_writes_nothing(sso: Sso, run: Cli, engine: Engine):
    provider_down(sso, engine, "restrict-to-sso")
    path = mailed_link(run, sso.portal)
    set_times(engine, password_reset_tokens, expires_at=datetime.now(timezone.utc))
    before = rows(engine, "SELECT * FROM password_reset_tokens") + rows(engine, "SELECT kind FROM audit_events")
    browser = sso.portal.browser()
    assert INVALID in browser.get(path, status=404).text
    token = browser.get("/login").html.find("input", attrs={"name": "csrf_token"})["value"]
    assert INVALID in browser.post(path, {"csrf_token": token, "password": PASSWORD}, status=404).text
    assert rows(engine, "SELECT * FROM password_reset_tokens") + rows(engine, "SELECT kind FROM audit_events") == before
    assert recovery_sessions(engine) == []


def test_a_newer_link_makes_the_older_one_unusable(sso: Sso, run: Cli, engine: Engine):
    provider_down(sso, engine, "restrict-to-sso")
    older = mailed_link(run, sso.portal)
    newer = mailed_link(run, sso.portal)
    assert older != newer
    sso.portal.browser().get(older, status=404)
    recover(sso.portal.browser(), newer)


def test_the_link_goes_only_to_the_owner_and_a_record_for_anyone_else_opens_nothing(sso: Sso, run: Cli, engine: Engine):
    provider_down(sso, engine, "restrict-to-sso")
    mailed_link(run, sso.portal)
    assert [mail.to for mail in sso.portal.mails()] == [OWNER]
    with sso.portal.unit_of_work() as request:  # as no path of the portal ever makes one
        tenant = request.find_service(TenantOnboarding).tenant("acme")
        ann = request.find_service(PractitionerRepository).get_by_email(tenant.id, ANN)
        forged = PasswordResetToken.issue(ann, "anns-recovery-token", ResetPurpose.RECOVERY, datetime.now(timezone.utc))
        request.find_service(PasswordResetTokenRepository).add(forged)
    assert INVALID in sso.portal.browser().get("/recover/anns-recovery-token", status=404).text


def test_a_password_link_is_refused_on_the_recovery_page_and_a_recovery_link_on_the_password_page(
    portal: Portal, run: Cli
):
    portal.open_tenant("acme")
    form = portal.browser().get("/password/forgot").forms[0]
    form["email"] = OWNER
    form.submit(status=200)
    reset_token = portal.mails()[-1].link().rsplit("/", 1)[1]
    assert INVALID in portal.browser().get(f"/recover/{reset_token}", status=404).text
    recovery_token = mailed_link(run, portal).rsplit("/", 1)[1]
    assert INVALID in portal.browser().get(f"/password/reset/{recovery_token}", status=404).text
    recover(portal.browser(), f"/recover/{recovery_token}")  # still unused


def test_a_practices_link_opens_nothing_on_another_practices_host(sso: Sso, run: Cli, engine: Engine):
    provider_down(sso, engine, "restrict-to-sso")
    sso.portal.open_tenant("beta")
    path = mailed_link(run, sso.portal)
    assert INVALID in sso.portal.browser("beta").get(path, status=404).text


def test_wrong_passwords_are_throttled_as_on_the_login_form(sso: Sso, run: Cli, engine: Engine):
    provider_down(sso, engine, "restrict-to-sso")
    path = mailed_link(run, sso.portal)
    browser = sso.portal.browser()
    for _ in range(10):
        assert "email or password is wrong" in recover(browser, path, "not the password", status=401).text
    assert "too many failed attempts" in recover(browser, path, PASSWORD, status=429).text
    assert recovery_sessions(engine) == []
    assert rows(engine, "SELECT used_at FROM password_reset_tokens")[0][0] is None


# --- audited, and shown to the admins -------------------------------------------------------


def test_sending_and_using_the_link_are_audited(sso: Sso, run: Cli, engine: Engine):
    provider_down(sso, engine, "restrict-to-sso")
    browser = sso.portal.browser()
    recover(browser, mailed_link(run, sso.portal))
    columns = ("Event", "Who", "About", "What happened", "From")
    events = [tuple(row[column] for column in columns) for row in audit_rows(browser)[:2]]
    assert events == [
        (
            "recovery signed in",
            OWNER,
            OWNER,
            f"the account owner {OWNER} signed in with a recovery link with their password",
            "192.0.2.10",
        ),
        (
            "recovery link sent",
            "the operator (command line)",
            OWNER,
            f"recovery link mailed to the account owner {OWNER} by the operator",
            "cli",
        ),
    ]


def test_the_admin_pages_show_an_open_link_and_then_the_recovery_sign_in(sso: Sso, run: Cli, engine: Engine):
    sso.connect()
    admin = sso.admin_through_provider()
    for page in ADMIN_PAGES:
        assert notice(admin.get(page)) == ""
    path = mailed_link(run, sso.portal)
    assert all(OPEN_NOTICE in notice(admin.get(page)) for page in ADMIN_PAGES)
    recover(sso.portal.browser(), path)
    shown = [notice(admin.get(page)) for page in ADMIN_PAGES]
    assert all(SIGNED_IN_NOTICE in line and SIGNED_IN_FROM in line and OPEN_NOTICE not in line for line in shown)
    assert all("Fix the identity provider" in line for line in shown), shown


def test_the_notice_is_shown_for_seven_days_and_only_in_its_practice(sso: Sso, run: Cli, engine: Engine):
    sso.connect()
    admin = sso.admin_through_provider()
    sso.portal.open_tenant("beta")
    beta = sso.portal.browser("beta")
    sso.portal.log_in(beta, "owner@beta.test")
    recover(sso.portal.browser(), mailed_link(run, sso.portal))
    assert notice(beta.get("/admin/authentication")) == ""
    assert SIGNED_IN_NOTICE in notice(admin.get("/admin/authentication"))
    six_days_ago, eight_days_ago = (datetime.now(timezone.utc) - timedelta(days=days) for days in (6, 8))
    set_times(engine, password_reset_tokens, used_at=eight_days_ago, expires_at=eight_days_ago)
    set_times(engine, audit_events, at=six_days_ago)
    assert SIGNED_IN_NOTICE in notice(admin.get("/admin/authentication"))
    set_times(engine, audit_events, at=eight_days_ago)
    assert notice(admin.get("/admin/authentication")) == ""


def test_of_concurrent_uses_of_one_link_exactly_one_signs_in(sso: Sso, run: Cli, engine: Engine):
    provider_down(sso, engine, "restrict-to-sso")
    path = mailed_link(run, sso.portal)
    browsers = [sso.portal.browser() for _ in range(8)]
    tokens = [csrf_token(browser.get(path), "recover-form") for browser in browsers]
    with served(sso.portal.app) as base:
        answers = all_at_once(
            [form_post(base, path, browser, token, password=PASSWORD) for browser, token in zip(browsers, tokens)]
        )
    assert sorted(answer.status for answer in answers) == [303] + [404] * 7
    assert len(recovery_sessions(engine)) == 1
    assert rows(engine, "SELECT count(*) FROM audit_events WHERE kind = 'recovery_signed_in'")[0][0] == 1
