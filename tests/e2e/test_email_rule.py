"""The one email rule through the real app: SSO matching with the real provider, the login form,
the admin form, SCIM and the CLI all take one bare mailbox and compare it by its stored form."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, func, select, text

from adapters.db.schema import identity_links, practitioners
from tests.e2e.conftest import PASSWORD, Portal
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_admin_practitioners import admin_page, field_error, fill_add_form
from tests.e2e.test_cli import Cli, add_ann, run  # noqa: F401  (fixture)
from tests.e2e.test_login_policy import practitioner
from tests.e2e.test_scim import USER, Scim, assert_scim_error, create_token, patch_body

KELVIN = "\u212a"  # KELVIN SIGN: str.lower() turns it into an ASCII k
KATE = "kate@acme.test"
LISTS = ["x,attacker@evil.test", "ann@acme.test, attacker@evil.test", '"Ann" <attacker@evil.test>']


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)))


def emails(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.scalars(select(practitioners.c.email)))


def logged_out(browser: Any) -> bool:
    return browser.get("/", status="*").status_int == 303


# --- SSO: link by verified email -----------------------------------------------------------


def test_a_verified_kelvin_sign_email_asks_for_the_code_and_never_logs_in_as_kate(sso: Sso, engine: Engine):
    sso.portal.add_practitioner("acme", KATE)
    sso.connect()
    with engine.begin() as connection:
        connection.execute(text("UPDATE tenants SET unknown_identity = 'link_verified_email' WHERE slug = 'acme'"))
    sso.op.login_as(
        "mallory-sub", email=f"{KELVIN}ate@acme.test", email_verified=True, given_name="Kate", family_name="Fake"
    )
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, status=303).location.endswith("/sso/link")
    assert "email-form" in browser.get("/sso/link").forms  # the one-time-password step
    assert logged_out(browser)
    assert count(engine, identity_links) == 0
    kate = practitioner(engine, KATE)
    assert kate.password_hash is not None and kate.email_proven is False  # no take-over by "verified email"
    assert sso.portal.mails() == []

    # The same provider vouching for Kate's own address, in any ASCII case, does link her.
    sso.op.login_as("kate-sub", email="Kate@ACME.test", email_verified=True, given_name="Kate", family_name="Real")
    kates_browser = sso.portal.browser("acme")
    assert urlsplit(sso.log_in(kates_browser, status=303).location).path == "/"
    assert not logged_out(kates_browser) and count(engine, identity_links) == 1


# --- password login ----------------------------------------------------------------------


def test_a_kelvin_sign_address_with_kates_password_does_not_log_in(portal: Portal):
    portal.open_tenant("acme")
    portal.add_practitioner("acme", KATE)
    browser = portal.browser("acme")
    refused = portal.log_in(browser, f"{KELVIN}ate@acme.test", PASSWORD, status=401)
    assert "email or password is wrong" in refused.text
    assert logged_out(browser)
    portal.log_in(portal.browser("acme"), "KATE@Acme.test", PASSWORD, status=303)


# --- the admin form ----------------------------------------------------------------------


@pytest.mark.parametrize("email", LISTS + [f"{KELVIN}ate@acme.test"])
def test_the_admin_form_refuses_anything_but_one_address_and_writes_nothing(portal: Portal, engine: Engine, email: str):
    portal.open_tenant("acme")
    _, page = admin_page(portal)
    before = emails(engine)
    refused = fill_add_form(page, email=email).submit(status=400)
    assert "enter a valid email address" in field_error(refused, "email").lower()
    assert emails(engine) == before
    assert portal.mails() == []


def test_the_admin_form_says_a_list_is_not_one_address(portal: Portal):
    portal.open_tenant("acme")
    _, page = admin_page(portal)
    refused = fill_add_form(page, email="x,attacker@evil.test").submit(status=400)
    assert "one address, not a list" in field_error(refused, "email")


def test_the_admin_form_stores_an_idn_domain_once_whatever_its_spelling(portal: Portal, engine: Engine):
    portal.open_tenant("acme")
    _, page = admin_page(portal)
    fill_add_form(page, email="Ann@MÜLLER.de").submit(status=303)
    assert practitioner(engine, "ann@xn--mller-kva.de") is not None
    (mail,) = portal.mails()
    assert mail.to == "ann@xn--mller-kva.de"  # plain ASCII: every SMTP relay delivers it
    _, page = admin_page(portal)
    refused = fill_add_form(page, email="ann@xn--mller-kva.de").submit(status=400)
    assert "already registered" in field_error(refused, "email")
    assert count(engine, practitioners) == 2


# --- SCIM --------------------------------------------------------------------------------


@pytest.fixture
def scim(portal: Portal) -> Scim:
    portal.open_tenant("acme")
    return Scim(portal, "acme", create_token(portal, "acme"))


@pytest.mark.parametrize("email", LISTS + [f"{KELVIN}ate@acme.test"])
@pytest.mark.parametrize("where", ["emails", "userName"])
def test_scim_post_refuses_anything_but_one_address_and_writes_nothing(
    scim: Scim, portal: Portal, engine: Engine, email: str, where: str
):
    body: dict[str, Any] = {"schemas": [USER], "userName": email, "name": {"givenName": "X", "familyName": "Y"}}
    if where == "emails":
        body.update(userName="x", emails=[{"value": email, "type": "work", "primary": True}])
    before = emails(engine)
    refused = scim.post("/Users", body, status=400)
    assert_scim_error(refused, 400, "invalidValue")
    assert "emails: " in refused.json["detail"] and "enter a valid email address" in refused.json["detail"]
    assert emails(engine) == before
    assert portal.mails() == []


def test_scim_post_says_a_list_is_not_one_address(scim: Scim):
    refused = scim.post(
        "/Users", {"schemas": [USER], "userName": "x", "emails": [{"value": "x,attacker@evil.test"}]}, status=400
    )
    assert "one address, not a list" in refused.json["detail"]


def test_scim_put_and_patch_refuse_a_list_and_change_nothing(scim: Scim, engine: Engine):
    ada = scim.create("ada@acme.test")
    path = f"/Users/{ada['id']}"
    put = {"schemas": [USER], "userName": "ada@acme.test", "emails": [{"value": "x,attacker@evil.test"}]}
    assert_scim_error(scim.put(path, put, status=400), 400, "invalidValue")
    patch = patch_body({"op": "replace", "path": 'emails[type eq "work"].value', "value": "x,attacker@evil.test"})
    assert_scim_error(scim.patch(path, patch, status=400), 400, "invalidValue")
    assert scim.user(ada["id"])["emails"][0]["value"] == "ada@acme.test"
    assert practitioner(engine, "ada@acme.test") is not None


def test_scim_finds_an_email_by_the_mailbox_it_names(scim: Scim):
    kate = scim.create(KATE)

    def found(scim_filter: str) -> list[str]:
        return [user["id"] for user in scim.search(scim_filter).json["Resources"]]

    assert found('emails eq "KATE@Acme.test"') == [kate["id"]]
    assert found(f'emails eq "{KELVIN}ate@acme.test"') == []
    assert found('emails eq "kate@acme.test,eve@evil.test"') == []
    assert found('emails eq "kate@acme.test" and emails.value eq "KATE@ACME.TEST"') == [kate["id"]]


def test_a_scim_patch_selects_the_email_entry_by_the_mailbox_it_names(scim: Scim):
    kate = scim.create(KATE)
    path = f"/Users/{kate['id']}"
    changed = scim.patch(
        path,
        patch_body({"op": "replace", "path": 'emails[value eq "KATE@ACME.test"].value', "value": "kathrin@acme.test"}),
    )
    assert changed.json["emails"][0]["value"] == "kathrin@acme.test"
    missed = scim.patch(
        path,
        patch_body(
            {"op": "replace", "path": f'emails[value eq "{KELVIN}athrin@acme.test"].value', "value": "k@acme.test"}
        ),
        status=400,
    )
    assert_scim_error(missed, 400, "noTarget")


# --- CLI ---------------------------------------------------------------------------------


@pytest.mark.parametrize("email", LISTS)
def test_the_cli_refuses_anything_but_one_address(run: Cli, engine: Engine, email: str):  # noqa: F811
    run(
        "tenant",
        "create",
        "acme",
        "--name",
        "Acme Practice",
        "--owner-email",
        "boss@acme.test",
        "--owner-password",
        PASSWORD,
    )
    refused = add_ann(run, email=email)
    assert refused.code == 1 and "enter a valid email address" in refused.err
    assert emails(engine) == {"boss@acme.test"}
