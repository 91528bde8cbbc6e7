"""SCIM /Groups through WebTest on both databases: CRUD, members as Entra ID and Okta send them,
tenant isolation, uniqueness (also under concurrent creates), and module rights from groups."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests
from pyramid.router import Router
from sqlalchemy import Engine

from domain.audit import AuditKind
from domain.ports import PractitionerRepository
from domain.practitioners.rights import ModuleRight
from domain.provisioning.tokens import ProvisioningTokens
from domain.tenancy.onboarding import TenantOnboarding
from domain.tenancy.tenant import RoleMapping
from tests.e2e.conftest import Portal
from tests.e2e.test_concurrent_limits import HOST, all_at_once, scalar, served
from tests.e2e.test_scim import Scim, assert_scim_error, count, create_token, patch_body

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def group_body(name: str, *member_ids: str, **attributes: Any) -> dict[str, Any]:
    return {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in member_ids], **attributes}


def members(group: dict[str, Any]) -> set[str]:
    return {m["value"] for m in group.get("members", [])}


def apply_roles(portal: Portal, slug: str = "acme", **mapping: ModuleRight) -> None:
    with portal.unit_of_work() as request:
        tenant = request.find_service(TenantOnboarding).tenant(slug)
        tenant.auth = tenant.auth.but(
            roles_claim="groups",
            role_mappings=tuple(RoleMapping(value, right) for value, right in mapping.items()),
            roles_from_provider=True,
        )


def rights_of(engine: Engine, practitioner_id: str) -> str:
    return str(scalar(engine, "SELECT rights FROM practitioners WHERE id = :id", id=practitioner_id))


@pytest.fixture
def scim(portal: Portal) -> Scim:
    portal.open_tenant("acme")
    return Scim(portal, "acme", create_token(portal, "acme"))


def test_a_group_is_created_read_listed_replaced_and_deleted(scim: Scim):
    ann, bob = scim.create("ann@acme.test")["id"], scim.create("bob@acme.test")["id"]
    created = scim.post("/Groups", group_body("Nurses", ann, externalId="entra-7"))
    group = created.json
    assert created.headers["Location"].endswith(f"/scim/v2/Groups/{group['id']}")
    assert created.headers["ETag"] == group["meta"]["version"]
    assert (group["displayName"], group["externalId"], members(group)) == ("Nurses", "entra-7", {ann})
    assert group["members"][0]["$ref"].endswith(f"/Users/{ann}") and group["members"][0]["type"] == "User"
    assert scim.get(f"/Groups/{group['id']}").json == group
    listing = scim.get("/Groups").json
    assert listing["totalResults"] == 1 and listing["Resources"] == [group]
    replaced = scim.put(f"/Groups/{group['id']}", group_body("Nursing", bob)).json
    assert (replaced["displayName"], members(replaced), "externalId" in replaced) == ("Nursing", {bob}, False)
    assert replaced["meta"]["version"] != group["meta"]["version"]
    scim.delete(f"/Groups/{group['id']}")
    assert_scim_error(scim.get(f"/Groups/{group['id']}", status=404), 404)


def test_members_are_added_and_removed_one_by_one_as_entra_sends_them(scim: Scim):
    ann, bob = scim.create("ann@acme.test")["id"], scim.create("bob@acme.test")["id"]
    group = scim.post("/Groups", group_body("Nurses")).json
    path = f"/Groups/{group['id']}"
    scim.patch(path, patch_body({"op": "Add", "path": "members", "value": [{"value": ann}, {"value": bob}]}))
    assert members(scim.get(path).json) == {ann, bob}
    scim.patch(path, patch_body({"op": "Remove", "path": f'members[value eq "{ann}"]'}))
    assert members(scim.get(path).json) == {bob}
    scim.patch(path, patch_body({"op": "Replace", "path": "displayName", "value": "Nursing"}))
    assert scim.get(path).json["displayName"] == "Nursing"


def test_members_are_replaced_whole_as_okta_sends_them(scim: Scim):
    ann, bob = scim.create("ann@acme.test")["id"], scim.create("bob@acme.test")["id"]
    group = scim.post("/Groups", group_body("Nurses", ann)).json
    path = f"/Groups/{group['id']}"
    answer = scim.patch(path, patch_body({"op": "replace", "path": "members", "value": [{"value": bob}]})).json
    assert members(answer) == {bob}
    okta_rename = {"op": "replace", "value": {"id": group["id"], "displayName": "Nursing"}}
    assert scim.patch(path, patch_body(okta_rename)).json["displayName"] == "Nursing"
    assert "members" not in scim.patch(path, patch_body({"op": "remove", "path": "members"})).json


def test_a_user_lists_its_groups_read_only(scim: Scim):
    ann = scim.create("ann@acme.test")["id"]
    group = scim.post("/Groups", group_body("Nurses", ann)).json
    (listed,) = scim.user(ann)["groups"]
    assert (listed["value"], listed["display"], listed["type"]) == (group["id"], "Nurses", "direct")
    assert listed["$ref"].endswith(f"/Groups/{group['id']}")
    assert_scim_error(
        scim.patch(f"/Users/{ann}", patch_body({"op": "add", "path": "groups", "value": []}), status=400),
        400,
        "mutability",
    )
    listing = scim.search('userName eq "ann@acme.test"').json
    assert listing["Resources"][0]["groups"] == [listed]


def test_members_of_another_practice_or_unknown_ids_are_refused_and_nothing_is_written(portal: Portal, scim: Scim):
    portal.open_tenant("beta")
    beta = Scim(portal, "beta", create_token(portal, "beta"))
    stranger = beta.create("zed@beta.test")["id"]
    ann = scim.create("ann@acme.test")["id"]
    assert_scim_error(scim.post("/Groups", group_body("Nurses", ann, stranger), status=400), 400, "invalidValue")
    assert scim.get("/Groups").json["totalResults"] == 0
    group = scim.post("/Groups", group_body("Nurses", ann)).json
    add = {"op": "add", "path": "members", "value": [{"value": "no-such-id"}]}
    assert_scim_error(scim.patch(f"/Groups/{group['id']}", patch_body(add), status=400), 400, "invalidValue")
    assert members(scim.get(f"/Groups/{group['id']}").json) == {ann}
    assert_scim_error(beta.get(f"/Groups/{group['id']}", status=404), 404)
    assert beta.get("/Groups").json["totalResults"] == 0


def test_display_names_are_unique_per_practice_without_regard_to_case(portal: Portal, scim: Scim):
    scim.post("/Groups", group_body("Nurses"))
    assert_scim_error(scim.post("/Groups", group_body("NURSES"), status=409), 409, "uniqueness")
    portal.open_tenant("beta")
    Scim(portal, "beta", create_token(portal, "beta")).post("/Groups", group_body("Nurses"))


def test_groups_are_filtered_by_display_name_and_external_id(scim: Scim):
    scim.post("/Groups", group_body("Nurses", externalId="n-1"))
    scim.post("/Groups", group_body("Doctors", externalId="d-1"))
    found = scim.app.get("/scim/v2/Groups", {"filter": 'displayName eq "nurses"'}, headers=scim.headers()).json
    assert [g["displayName"] for g in found["Resources"]] == ["Nurses"]
    found = scim.app.get("/scim/v2/Groups", {"filter": 'externalId eq "d-1"'}, headers=scim.headers()).json
    assert [g["displayName"] for g in found["Resources"]] == ["Doctors"]
    bad = scim.app.get("/scim/v2/Groups", {"filter": 'members co "x"'}, headers=scim.headers(), status=400)
    assert_scim_error(bad, 400, "invalidFilter")
    page = scim.app.get("/scim/v2/Groups", {"startIndex": "2", "count": "1"}, headers=scim.headers()).json
    assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (2, 1, 2)
    searched = scim.post(
        "/Groups/.search",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'displayName eq "Doctors"'},
        status=200,
    ).json
    assert searched["totalResults"] == 1


def test_a_stale_if_match_is_refused(scim: Scim):
    group = scim.post("/Groups", group_body("Nurses")).json
    path = f"/Groups/{group['id']}"
    scim.put(path, group_body("Nursing"), If_Match=group["meta"]["version"])
    assert_scim_error(scim.put(path, group_body("X"), status=412, If_Match=group["meta"]["version"]), 412)
    assert_scim_error(scim.delete(path, status=412, If_Match=group["meta"]["version"]), 412)


def test_where_roles_apply_groups_grant_and_revoke_rights_audited_as_the_token(
    portal: Portal, scim: Scim, engine: Engine
):
    apply_roles(portal, Admins=ModuleRight.PRACTITIONERS)
    ann = scim.create("ann@acme.test")["id"]
    group = scim.post("/Groups", group_body("Admins", ann)).json
    assert rights_of(engine, ann) == "practitioners"
    scim.patch(f"/Groups/{group['id']}", patch_body({"op": "Remove", "path": f'members[value eq "{ann}"]'}))
    assert rights_of(engine, ann) == ""
    sql = "SELECT count(*) FROM audit_events WHERE kind = :kind AND subject_id = :id AND actor_token_id IS NOT NULL"
    assert count(engine, sql, kind=AuditKind.RIGHTS_GRANTED, id=ann) == 1
    assert count(engine, sql, kind=AuditKind.RIGHTS_REVOKED, id=ann) == 1


def test_without_roles_applied_groups_leave_rights_alone(portal: Portal, scim: Scim, engine: Engine):
    with portal.unit_of_work() as request:
        tenant = request.find_service(TenantOnboarding).tenant("acme")
        tenant.auth = tenant.auth.but(role_mappings=(RoleMapping("Admins", ModuleRight.PRACTITIONERS),))
    ann = scim.create("ann@acme.test")["id"]
    scim.post("/Groups", group_body("Admins", ann))
    assert rights_of(engine, ann) == ""
    assert count(engine, "SELECT count(*) FROM audit_events WHERE kind = 'rights_granted'") == 0


def test_a_token_of_an_admin_who_is_not_the_owner_cannot_grant_rights_through_a_group(portal: Portal, scim: Scim):
    apply_roles(portal, Admins=ModuleRight.PRACTITIONERS)
    portal.add_practitioner("acme", "adele@acme.test", rights=frozenset({ModuleRight.PRACTITIONERS}))
    with portal.unit_of_work() as request:
        tenant = request.find_service(TenantOnboarding).tenant("acme")
        adele = request.find_service(PractitionerRepository).get_by_email(tenant.id, "adele@acme.test")
        _record, token = request.find_service(ProvisioningTokens).create(tenant, "Okta", adele)
    okta = Scim(portal, "acme", token)
    ann = scim.create("ann@acme.test")["id"]
    okta.post("/Groups", group_body("Nurses", ann))
    assert_scim_error(okta.post("/Groups", group_body("Admins", ann), status=403), 403)


def test_concurrent_creates_of_one_display_name_make_exactly_one_group(portal: Portal, wsgi_app: Router, engine):
    portal.open_tenant("acme")
    token = create_token(portal, "acme")
    headers = {"Host": HOST, "Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    spellings = ["Nurses", "nurses", "NURSES", "nUrSeS"]

    def create(n: int) -> Callable[[], requests.Response]:
        body = group_body(spellings[n % len(spellings)])
        return lambda: requests.post(f"{base}/scim/v2/Groups", json=body, headers=headers, timeout=30)

    with served(wsgi_app) as base:
        assert requests.get(f"{base}/scim/v2/Groups", headers=headers, timeout=30).status_code == 200
        answers = all_at_once([create(n) for n in range(12)])
    assert Counter(a.status for a in answers) == {201: 1, 409: 11}
    assert all('"scimType": "uniqueness"' in a.text for a in answers if a.status == 409)
    assert scalar(engine, "SELECT count(*) FROM scim_groups") == 1
