"""Issue 11 part 5, roles from the provider, end to end on both databases through the real
loopback provider: the admin sets the roles claim and its mapping on the login policy page, and
each Single Sign On login then grants and revokes module rights as the token's roles say,
audited as the provider's doing; the owner keeps every right; bad input saves nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import webtest
from sqlalchemy import Engine

from tests.e2e.sso import Sso, audit_rows, op, sso  # noqa: F401
from tests.e2e.test_workflows import practitioner, rows, set_policy

ANN = "ann@acme.test"
POLICY = "/admin/authentication/policy"
CLAIMS = dict(email="ann@home.example", email_verified=True, given_name="Ann", family_name="Smith")


def connect(sso: Sso) -> None:
    """Acme connected to the loopback provider, asking for a ``roles`` scope besides the standard ones.

    As Keycloak or Okta do, the provider sends the roles and groups claims only for a scope that
    asks for them."""
    sso.op.release_for_scope("roles", "groups", "realm_access")
    sso.connect(extra_scopes="roles")


def save_roles(
    admin: webtest.TestApp,
    claim: str,
    mappings: list[tuple[str, str]],
    switch: bool = True,
    status: int = 303,
) -> webtest.TestResponse:
    """The policy page's real form: the roles claim, the mapping rows, the switch."""
    form = admin.get(POLICY).forms["policy-form"]
    form["roles_claim"] = claim
    for row, (value, right) in enumerate(mappings):
        form[f"role_value-{row}"] = value
        form[f"role_right-{row}"] = right
    form["roles_from_provider"] = switch
    return form.submit("action", value="save", status=status)


def rights_of(engine: Engine, email: str = ANN) -> set[str]:
    return {right for right in practitioner(engine, email).rights.split(",") if right}


def linked_ann(sso: Sso, **claims: Any) -> None:
    """Ann links her provider account by the code mailed to her, then the provider says ``claims``."""
    sso.first_login(sso.portal.browser("acme"), ANN)
    sso.op.login_as("ann-sub", **CLAIMS, **claims)


def logs_in(sso: Sso) -> webtest.TestApp:
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, status=303).location == "http://acme.portal.test/"
    return browser


def rights_events(admin: webtest.TestApp) -> list[tuple[str, str, str]]:
    found = [
        (row["Event"], row["Who"], row["What happened"])
        for kind in ("rights_granted", "rights_revoked")
        for row in audit_rows(admin, f"?kind={kind}", everything=True)
    ]
    return [event for event in found if "by the roles from" in event[2]]


def test_roles_grant_and_revoke_rights_at_the_next_logins_audited_as_the_providers(sso: Sso, engine: Engine):
    connect(sso)
    admin = sso.admin()
    save_roles(admin, "groups", [("portal-admins", "practitioners"), ("it", "authentication")])
    linked_ann(sso, groups=["portal-admins", "staff"])

    browser = logs_in(sso)
    assert rights_of(engine) == {"practitioners"}
    browser.get("/admin/practitioners", status=200)
    browser.get("/admin/authentication", status=403)

    sso.op.login_as("ann-sub", **CLAIMS, groups=["it"])
    browser = logs_in(sso)
    assert rights_of(engine) == {"authentication"}
    browser.get("/admin/practitioners", status=403)
    assert rights_events(admin) == [
        ("rights granted", "—", f"{ANN}: Authentication right granted by the roles from Contoso ID"),
        ("rights granted", "—", f"{ANN}: Practitioners right granted by the roles from Contoso ID"),
        ("rights revoked", "—", f"{ANN}: Practitioners right revoked by the roles from Contoso ID"),
    ]


@pytest.mark.parametrize(
    "claim, claims",
    [
        ("groups", {"groups": "it"}),
        ("groups", {"groups": ["it"]}),
        ("realm_access.roles", {"realm_access": {"roles": ["it", "offline_access"]}}),
    ],
    ids=["a string", "a list", "a dotted path"],
)
def test_the_roles_claim_may_be_a_string_a_list_or_a_dotted_path(
    sso: Sso, engine: Engine, claim: str, claims: dict[str, Any]
):
    connect(sso)
    save_roles(sso.admin(), claim, [("it", "authentication")])
    linked_ann(sso, **claims)
    logs_in(sso)
    assert rights_of(engine) == {"authentication"}


def test_unknown_values_give_nothing_and_take_away_what_the_mapping_no_longer_gives(sso: Sso, engine: Engine):
    connect(sso)
    save_roles(sso.admin(), "groups", [("it", "authentication")])
    set_policy(engine, roles_from_provider=False)  # Ann's rights as an admin gave them, before the switch
    linked_ann(sso, groups=["IT", "Portal-Admins"])
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE practitioners SET rights = 'practitioners' WHERE email = 'ann@acme.test'")
    logs_in(sso)
    assert rights_of(engine) == {"practitioners"}  # switched off: the provider's roles change nothing
    set_policy(engine, roles_from_provider=True)
    logs_in(sso)
    assert rights_of(engine) == set()


def test_the_owner_keeps_every_right_whatever_the_roles_say(sso: Sso, engine: Engine):
    connect(sso)
    save_roles(sso.admin(), "groups", [("it", "authentication")])
    owner = sso.admin_through_provider()
    sso.op.login_as("owner-sub-acme", email="owner@acme.test", groups=[])
    owner = logs_in(sso)
    owner.get("/admin/practitioners", status=200)
    owner.get(POLICY, status=200)
    (row,) = rows(engine, "SELECT is_owner FROM practitioners WHERE email = 'owner@acme.test'")
    assert row.is_owner
    assert rights_events(owner) == []


def test_pseudo_sso_applies_the_roles_without_the_switch(sso: Sso, engine: Engine):
    connect(sso)
    mappings = json.dumps([{"value": "it", "right": "authentication"}])
    page = sso.admin().get(POLICY)
    assert page.html.find(id="roles-pseudo-sso") is None
    set_policy(engine, workflow="pseudo_sso", roles_claim="groups", role_mappings=mappings)
    linked_ann(sso, groups=["it"])
    logs_in(sso)
    assert rights_of(engine, "ann@home.example") == {"authentication"}


def test_the_policy_page_says_pseudo_sso_always_applies_the_roles(sso: Sso, engine: Engine):
    connect(sso)
    admin = sso.admin_through_provider()
    set_policy(engine, workflow="pseudo_sso")
    notice = admin.get(POLICY).html.find(id="roles-pseudo-sso").get_text(" ", strip=True)
    assert "always applied at every sign-in once a claim and at least one value are set" in notice


def test_a_newcomer_registered_at_first_sign_in_gets_the_mapped_rights(sso: Sso, engine: Engine):
    connect(sso)
    save_roles(sso.admin(), "groups", [("portal-admins", "practitioners")])
    set_policy(engine, unknown_identity="register")
    sso.op.login_as(
        "bob-sub",
        email="bob@acme.test",
        email_verified=True,
        given_name="Bob",
        family_name="Jones",
        groups=["portal-admins"],
    )
    browser = logs_in(sso)
    assert rights_of(engine, "bob@acme.test") == {"practitioners"}
    browser.get("/admin/practitioners", status=200)


def test_the_saved_mapping_shows_on_the_page_with_repeated_rows_folded(sso: Sso, engine: Engine):
    admin = sso.admin()
    saved = save_roles(admin, "groups", [("it", "authentication"), (" it ", "authentication"), ("hr", "practitioners")])
    assert "role mappings it = authentication; hr = practitioners" in saved.follow().text
    form = admin.get(POLICY).forms["policy-form"]
    shown = [(form[f"role_value-{row}"].value, form[f"role_right-{row}"].value) for row in range(5)]
    assert shown == [("it", "authentication"), ("hr", "practitioners"), ("", ""), ("", ""), ("", "")]
    assert form["roles_claim"].value == "groups" and form["roles_from_provider"].checked


@pytest.mark.parametrize(
    "claim, mappings, field, message",
    [
        ("my groups", [("it", "authentication")], "roles_claim", "a claim name has 1 to 100 letters"),
        ("", [("it", "authentication")], "roles_claim", "name the claim that holds the roles or groups"),
        ("groups", [], "roles_from_provider", "to apply the provider's roles, name their claim"),
        ("groups", [("it", "")], "role_right-0", "choose the right this value gives"),
        ("groups", [("", "authentication")], "role_value-0", "type the role or group value"),
        ("groups", [("x" * 256, "authentication")], "role_value-0", "at most 255 characters"),
        ("groups", [("x" * 400, "authentication")], "role_value-0", "at most 355 characters"),
        ("groups", [("a\u0085b", "authentication")], "role_value-0", "one line"),
    ],
    ids=["claim with a space", "no claim", "no mapping", "no right", "no value", "long", "too long", "control"],
)
def test_the_policy_form_refuses_bad_roles_beside_the_field_and_saves_nothing(
    sso: Sso, engine: Engine, claim: str, mappings: list[tuple[str, str]], field: str, message: str
):
    admin = sso.admin()
    refused = save_roles(admin, claim, mappings, status=400)
    assert "Nothing was saved." in refused.text
    assert message in refused.html.find(id=f"{field}-error").get_text()
    (row,) = rows(engine, "SELECT roles_claim, role_mappings, roles_from_provider FROM tenants WHERE slug = 'acme'")
    assert (row.roles_claim, row.role_mappings, bool(row.roles_from_provider)) == ("", "[]", False)


def test_a_forged_right_is_refused(sso: Sso, engine: Engine):
    form = sso.admin().get(POLICY).forms["policy-form"]
    form["roles_claim"] = "groups"
    form["role_value-0"] = "it"
    form["role_right-0"].force_value("owner")
    refused = form.submit("action", value="save", status=400)
    assert "choose the right this value gives" in refused.html.find(id="role_right-0-error").get_text()
