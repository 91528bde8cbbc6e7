"""A practitioner's own account and joining a practice, against hostile and concurrent requests.

/account/linked must never remove the last way in, also when two unlinks arrive at once; /register
must answer alike whether or not the address is taken (also when it is someone's SCIM userName, or
two registrations of one new address race), and one client address cannot register without limit.
The concurrency tests fire their requests at the app served on loopback (see test_concurrent_limits).
"""

from __future__ import annotations

from collections import Counter

import webtest
from pyramid.router import Router
from sqlalchemy import Engine

from tests.e2e.conftest import Portal
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_concurrent_limits import all_at_once, form_post, registrations_at_once, served
from tests.e2e.test_scim import Scim, create_token
from tests.e2e.test_sso_providers import add_provider, added, op2  # noqa: F401  (fixture)
from tests.e2e.test_workflows import REGISTERED, csrf_token, linked_by_sso, links_of, register, rows, set_policy
from tests.loopback_op.provider import LoopbackProvider

BOB = "bob@acme.test"
NINA = "nina@acme.test"


def link_second_provider(sso: Sso, browser: webtest.TestApp, provider_id: str) -> None:
    """Links another provider from the linked-accounts page, as the practitioner's button and the mailed code do."""
    page = browser.get("/account/linked")
    (form,) = [f for f in page.forms.values() if f.action == f"/sso/{provider_id}/start"]
    callback = sso.at_provider(form.submit(status=303).location)
    assert browser.get(callback, status=303).location.endswith("/sso/link")
    sso.enter_code(browser, sso.code_from_mail(), status=303)


def two_links_without_password(sso: Sso, op2: LoopbackProvider, engine: Engine) -> tuple[webtest.TestApp, list[str]]:
    """Bob, with no password, linked to Contoso ID and Fabrikam ID: his browser and his two links."""
    sso.portal.add_practitioner("acme", BOB, password=None)
    sso.connect(name="Contoso ID")
    fabrikam = added(add_provider(sso, op2, "Fabrikam ID"))
    sso.op.login_as("bob-contoso-sub", email="bob@home.example", email_verified=True)
    bob = linked_by_sso(sso, BOB)
    op2.login_as("bob-fabrikam-sub", email="bob@home.example", email_verified=True)
    link_second_provider(sso, bob, fabrikam)
    links = links_of(engine, BOB)
    assert len(links) == 2
    return bob, links


# --- /account/linked: the last way in -------------------------------------------------------


def test_two_unlinks_at_once_leave_the_practitioner_a_way_in(
    sso: Sso, op2: LoopbackProvider, engine: Engine, wsgi_app: Router
):
    """Bob has no password and two linked providers: of two unlinks at once, one must be refused."""
    bob, (first, second) = two_links_without_password(sso, op2, engine)
    token = csrf_token(bob.get("/account/linked"))
    with served(wsgi_app) as base:  # each link's button pressed five times (several tabs), all at once
        answers = all_at_once(
            [
                form_post(base, "/account/linked", bob, token, action="unlink", link_id=link_id)
                for link_id in (first, second) * 5
            ]
        )
    assert len(links_of(engine, BOB)) == 1
    # One unlink is done; the rest find the link gone (404) or the last way in (400), never a 500.
    statuses = Counter(a.status for a in answers)
    assert statuses[303] == 1 and set(statuses) <= {303, 400, 404}, statuses


def test_an_admin_removing_one_link_while_the_practitioner_unlinks_the_other_asks_for_confirmation(
    sso: Sso, op2: LoopbackProvider, engine: Engine, wsgi_app: Router
):
    """The admin's removal without the last-way-in confirmation and Bob's own unlink, at once:
    whichever comes second sees the last way in, so Bob is never locked out unconfirmed."""
    bob, (first, second) = two_links_without_password(sso, op2, engine)
    admin = sso.admin()
    bob_id = rows(engine, "SELECT id FROM practitioners WHERE email = :email", email=BOB)[0].id
    admin_token, bob_token = csrf_token(admin.get(f"/admin/practitioners/{bob_id}")), csrf_token(bob.get("/account"))
    with served(wsgi_app) as base:
        answers = all_at_once(
            [form_post(base, f"/admin/practitioners/{bob_id}", admin, admin_token, action="unlink", link_id=first)] * 5
            + [form_post(base, "/account/linked", bob, bob_token, action="unlink", link_id=second)] * 5
        )
    assert len(links_of(engine, BOB)) == 1
    statuses = Counter(a.status for a in answers)
    assert statuses[303] == 1 and set(statuses) <= {303, 400, 404}, statuses


# --- /register: the same answer for every address -------------------------------------------


def test_registering_an_address_that_is_another_practitioners_user_name_answers_as_for_any_address(
    portal: Portal, engine: Engine
):
    portal.open_tenant("acme")
    scim = Scim(portal, "acme", create_token(portal, "acme"))
    scim.create(NINA, emails=[{"value": "nina.work@acme.test", "primary": True}])
    set_policy(engine, self_registration=True)
    page = register(portal, NINA)
    assert REGISTERED in page.text
    assert [r.email for r in rows(engine, "SELECT email FROM practitioners WHERE email LIKE 'nina%'")] == [
        "nina.work@acme.test"
    ]


def test_concurrent_registrations_of_one_new_address_make_one_account_and_the_same_answers(
    portal: Portal, engine: Engine, wsgi_app: Router
):
    portal.open_tenant("acme")
    set_policy(engine, self_registration=True)
    answers = registrations_at_once(portal, wsgi_app, [NINA] * 8)
    assert [a.status for a in answers] == [200] * 8
    assert all(REGISTERED in a.text for a in answers)
    assert len(rows(engine, "SELECT id FROM practitioners WHERE email = :email", email=NINA)) == 1


def test_one_client_address_registers_at_most_twenty_accounts_an_hour(portal: Portal, engine: Engine):
    portal.open_tenant("acme")
    set_policy(engine, self_registration=True)

    def register_from(address: str, email: str, status: int) -> webtest.TestResponse:
        form = portal.browser("acme", remote_addr=address).get("/register").forms["register-form"]
        form["email"], form["first_name"], form["last_name"] = email, "Nina", "Novak"
        return form.submit(status=status)

    for n in range(20):
        register_from("198.51.100.7", f"nina{n}@acme.test", 200)
    refused = register_from("198.51.100.7", "nina20@acme.test", 429)
    assert "Too many accounts were registered" in refused.text and "Check your mail" not in refused.text
    # The same refusal for a registered address: the limit tells nothing about accounts.
    assert "Too many accounts were registered" in register_from("198.51.100.7", "owner@acme.test", 429).text
    assert rows(engine, "SELECT id FROM practitioners WHERE email = 'nina20@acme.test'") == []
    assert len(portal.mails()) == 20
    register_from("198.51.100.8", "nina20@acme.test", 200)  # another client is not held back
