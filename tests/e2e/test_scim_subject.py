"""SCIM externalId as the SSO subject: provisioned practitioners sign in without the code step."""

from __future__ import annotations

import re

from domain.practitioners.rights import ModuleRight
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_scim import USER, Scim, create_token


def choose_subject_provider(browser, provider_id: str, status: int = 303):
    form = browser.get("/admin/provisioning").forms["subject-form"]
    form["subject_provider_id"] = provider_id
    return form.submit(status=status)


def test_a_provisioned_practitioner_whose_external_id_is_the_subject_signs_in_straight_away(sso: Sso):
    provider_id = sso.connect()
    choose_subject_provider(sso.admin(), provider_id)
    scim = Scim(sso.portal, "acme", create_token(sso.portal, "acme"))
    scim.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "nia@acme.test",
            "externalId": "nia-oid",
            "name": {"givenName": "Nia", "familyName": "Neu"},
        },
    )
    sso.op.login_as("nia-oid", email="nia@elsewhere.example")
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, status=303).location.endswith("/")
    assert "Welcome, Nia" in browser.get("/").text


def test_without_the_setting_a_provisioned_practitioner_confirms_by_code(sso: Sso):
    sso.connect()
    scim = Scim(sso.portal, "acme", create_token(sso.portal, "acme"))
    scim.post("/Users", {"schemas": [USER], "userName": "nia@acme.test", "externalId": "nia-oid"})
    sso.op.login_as("nia-oid")
    assert sso.log_in(sso.portal.browser("acme"), status=303).location.endswith("/sso/link")


def test_an_external_id_already_linked_to_someone_else_is_409(sso: Sso):
    provider_id = sso.connect()
    sso.first_login(sso.portal.browser("acme"), "ann@acme.test")  # ann-sub is Ann's
    choose_subject_provider(sso.admin(), provider_id)
    scim = Scim(sso.portal, "acme", create_token(sso.portal, "acme"))
    answer = scim.post("/Users", {"schemas": [USER], "userName": "eve@acme.test", "externalId": "ann-sub"}, status=409)
    assert answer.json["scimType"] == "uniqueness"
    assert scim.search('userName eq "eve@acme.test"').json["totalResults"] == 0


def test_only_the_authentication_right_may_choose_the_subject_provider(sso: Sso):
    provider_id = sso.connect()
    sso.portal.add_practitioner("acme", "clerk@acme.test", rights=frozenset({ModuleRight.PRACTITIONERS}))
    clerk = sso.portal.browser("acme")
    sso.portal.log_in(clerk, "clerk@acme.test")
    page = clerk.get("/admin/provisioning")
    assert "subject-form" not in page.forms
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    clerk.post(
        "/admin/provisioning",
        {"csrf_token": token, "action": "subject", "subject_provider_id": provider_id},
        status=403,
    )


def test_another_tenants_provider_cannot_be_chosen(sso: Sso):
    acme_provider = sso.connect()
    sso.portal.open_tenant("beta")
    beta = sso.admin("beta")
    page = beta.get("/admin/provisioning")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    beta.post(
        "/admin/provisioning",
        {"csrf_token": token, "action": "subject", "subject_provider_id": acme_provider},
        status=400,
    )
