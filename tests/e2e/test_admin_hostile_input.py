"""Holes found by review of the admin pages, the password paths and the audit trail: hostile form
values that answered 500 (and with it undid the throttle's count and the audit of a wrong
password), links that outlived the address or the rights they were mailed under, and a password
link that two of twenty concurrent redemptions used on PostgreSQL (it was read without a lock)."""

from __future__ import annotations

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import Engine, text

from domain.practitioners.rights import ModuleRight
from tests.e2e.conftest import PASSWORD, Portal
from tests.e2e.test_admin_practitioners import (
    CLERK,
    NEW_PASSWORD,
    OWNER,
    PATH,
    acme,  # noqa: F401  (fixture: acme with its owner and a clerk holding the Practitioners right)
    admin_page,
    csrf_token,
    fill_add_form,
    logged_in,
    stored,
)
from tests.e2e.test_concurrent_limits import all_at_once, form_post, served

ANN = "ann@acme.test"
A_FILE = ("x.txt", b"x")


def mailed_path(portal: Portal, to: str) -> str:
    """The path of the one link mailed to ``to``."""
    (mail,) = [m for m in portal.mails() if m.to == to]
    return "/" + mail.link().split("/", 3)[3]


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def post_login(portal: Portal, password: str, file_field: str, status: int) -> webtest.TestResponse:
    """The login form of a fresh browser, with a file where one of the page's fields is read."""
    browser = portal.browser()
    token = csrf_token(browser.get("/login"))
    fields = {"csrf_token": token, "email": OWNER, "password": password}
    return browser.post("/login", fields, upload_files=[(file_field, *A_FILE)], status=status)


def ask_for_new_email(admin: webtest.TestApp, engine: Engine, email: str, new_email: str) -> None:
    form = admin.get(f"{PATH}/{stored(engine, email).id}").forms["email-form"]
    form["email"] = new_email
    form.submit(status=303)


def confirm_email(portal: Portal, to: str) -> None:
    page = portal.browser().get(mailed_path(portal, to))
    page.forms["email-confirm-form"].submit(status=200)


# --- the login form: a file in a field the page reads ----------------------------------------------


@pytest.mark.parametrize("field", ["logged_out", "password_set", "next"])
def test_every_wrong_password_counts_and_is_audited_whatever_file_a_field_carries(
    acme: Portal, engine: Engine, field: str
):
    """Answered 500 before, which undid the attempt's count and its audit: unlimited guesses."""
    for _ in range(10):
        post_login(acme, "a wrong guess", field, status=401)
    assert "too many failed attempts" in post_login(acme, PASSWORD, field, status=429).text
    assert count(engine, "SELECT count(*) FROM audit_events WHERE kind = 'password_login_failed'") == 10


def test_a_login_whose_next_is_a_file_goes_to_the_start_page(acme: Portal):
    assert post_login(acme, PASSWORD, "next", status=303).location.endswith("/")


# --- the practitioners list: the search and page a button returns to -------------------------------


@pytest.mark.parametrize("field", ["q", "page"])
def test_a_file_as_the_lists_search_or_page_never_fails_a_button(acme: Portal, engine: Engine, field: str):
    acme.add_practitioner("acme", ANN)
    browser, page = admin_page(acme)
    fields = {"csrf_token": csrf_token(page), "action": "deactivate", "practitioner_id": stored(engine, ANN).id}
    done = browser.post(PATH, fields, upload_files=[(field, *A_FILE)], status=303)
    assert done.location.endswith(PATH) and not stored(engine, ANN).active


def test_the_list_a_button_returns_to_is_one_the_list_can_read(acme: Portal, engine: Engine):
    """A search with a NUL sent the browser, once the change was made, to a 400 page."""
    acme.add_practitioner("acme", ANN)
    browser, page = admin_page(acme)
    fields = {"csrf_token": csrf_token(page), "practitioner_id": stored(engine, ANN).id}
    done = browser.post(PATH, {**fields, "action": "deactivate", "q": "a\x00b", "page": "2"}, status=303)
    assert done.location.endswith(f"{PATH}?page=2")
    done.follow(status=200)
    kept = browser.post(PATH, {**fields, "action": "reactivate", "q": "Ann", "page": "1"}, status=303)
    assert kept.location.endswith(f"{PATH}?q=Ann")


# --- a new email: what the old address and the old rights still open ------------------------------


def test_a_set_password_link_to_a_mistyped_address_opens_nothing_once_the_right_one_is_confirmed(
    acme: Portal, engine: Engine
):
    owner, page = admin_page(acme)
    fill_add_form(page, email="ann@typo.example").submit(status=303)  # with a set-password link
    stranger_link = mailed_path(acme, "ann@typo.example")
    ask_for_new_email(owner, engine, "ann@typo.example", ANN)
    confirm_email(acme, ANN)
    stranger = acme.browser()
    token = csrf_token(stranger.get("/login"))
    stranger.get(stranger_link, status=404)
    stranger.post(
        stranger_link, {"csrf_token": token, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}, status=404
    )
    assert stored(engine, ANN).password_hash is None
    acme.log_in(acme.browser(), ANN, NEW_PASSWORD, status=401)


def test_a_reset_link_mailed_to_the_old_address_opens_nothing_once_a_new_email_is_confirmed(
    acme: Portal, engine: Engine
):
    acme.add_practitioner("acme", ANN)
    form = acme.browser().get("/password/forgot").forms[0]
    form["email"] = ANN
    form.submit(status=200)
    old_link = mailed_path(acme, ANN)
    ask_for_new_email(admin_page(acme)[0], engine, ANN, "ann@home.example")
    confirm_email(acme, "ann@home.example")
    acme.browser().get(old_link, status=404)
    acme.log_in(acme.browser(), "ann@home.example", PASSWORD)  # her own password is untouched


def test_an_email_change_asked_by_a_clerk_ends_when_the_owner_grants_a_right(acme: Portal, engine: Engine):
    """The clerk may change Ann only while she holds no right: a link that outlives the grant
    would hand the clerk her account, with a right the owner never granted the clerk."""
    acme.add_practitioner("acme", ANN)
    ask_for_new_email(logged_in(acme, CLERK), engine, ANN, "clerk.private@evil.example")
    link = mailed_path(acme, "clerk.private@evil.example")
    owner, page = admin_page(acme)
    grant = {"action": "rights", "practitioner_id": stored(engine, ANN).id}
    owner.post(PATH, {"csrf_token": csrf_token(page), **grant, "rights": ModuleRight.AUTHENTICATION.value}, status=303)
    acme.browser().get(link, status=404)
    ann = stored(engine, ANN)
    assert (ann.pending_email, ann.rights) == (None, frozenset({ModuleRight.AUTHENTICATION}))


def test_an_email_change_the_owner_asks_for_a_rights_holder_still_works(acme: Portal, engine: Engine):
    acme.add_practitioner("acme", ANN, rights=frozenset({ModuleRight.PRACTITIONERS}))
    ask_for_new_email(admin_page(acme)[0], engine, ANN, "ann@home.example")
    confirm_email(acme, "ann@home.example")
    assert stored(engine, "ann@home.example").rights == frozenset({ModuleRight.PRACTITIONERS})


# --- a password link is used once, however many use it at once -------------------------------------


def test_of_concurrent_uses_of_one_password_link_exactly_one_sets_a_password(
    acme: Portal, wsgi_app: Router, engine: Engine
):
    _, page = admin_page(acme)
    fill_add_form(page, email=ANN).submit(status=303)
    path = mailed_path(acme, ANN)
    browsers = [acme.browser() for _ in range(20)]
    tokens = [csrf_token(browser.get(path)) for browser in browsers]
    passwords = [f"{NEW_PASSWORD} {n}" for n in range(20)]
    with served(wsgi_app) as base:
        answers = all_at_once(
            [
                form_post(base, path, browser, token, password=password, password_confirm=password)
                for browser, token, password in zip(browsers, tokens, passwords)
            ]
        )
    assert sorted(answer.status for answer in answers) == [303] + [404] * 19
    (chosen,) = [password for password, answer in zip(passwords, answers) if answer.status == 303]
    acme.log_in(acme.browser(), ANN, chosen)
    acme.browser().get(path, status=404)
