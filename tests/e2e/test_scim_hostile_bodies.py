"""SCIM requests a careless or hostile client sends: paths that cannot be read change nothing (never a
200 for nothing done, never a wider change than asked), a write refused half-way leaves no trace,
another practice's groups are not there, and an email a client replaces opens nothing any more."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from tests.e2e.conftest import Portal
from tests.e2e.test_password_links import INVALID, mailed_link, the_form
from tests.e2e.test_scim import Scim, assert_scim_error, count, create_token, patch_body
from tests.e2e.test_scim_groups import group_body, members


@pytest.fixture
def scim(portal: Portal) -> Scim:
    portal.open_tenant("acme")
    return Scim(portal, "acme", create_token(portal, "acme"))


@pytest.mark.parametrize("path", ["members[", "members [", "Members["])
@pytest.mark.parametrize("op", ["remove", "replace", "add"])
def test_a_members_path_with_an_unclosed_filter_is_invalid_path_and_no_member_leaves(scim: Scim, op: str, path: str):
    ann, bob = scim.create("ann@acme.test")["id"], scim.create("bob@acme.test")["id"]
    group = scim.post("/Groups", group_body("Nurses", ann, bob)).json
    operation: dict[str, Any] = {"op": op, "path": path}
    if op != "remove":
        operation["value"] = [{"value": ann}]
    answer = scim.patch(f"/Groups/{group['id']}", patch_body(operation), status=400)
    assert_scim_error(answer, 400, "invalidPath")
    assert scim.get(f"/Groups/{group['id']}").json == group
    assert members(group) == {ann, bob}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "active[value eq true]", "value": False},
        {"op": "replace", "path": "active.value", "value": False},
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:active.value", "value": "False"},
        {"op": "replace", "value": {"active.value": False}},
        {"op": "replace", "path": 'userName[value eq "ada@acme.test"]', "value": "eve@acme.test"},
        {"op": "replace", "path": "externalId.value", "value": "e-1"},
        {"op": "remove", "path": "title.value"},
        {"op": "replace", "path": 'name[givenName eq "Ada"].givenName', "value": "Eve"},
    ],
)
def test_a_filter_or_sub_attribute_on_a_single_valued_user_attribute_is_invalid_path_and_changes_nothing(
    scim: Scim, operation: dict[str, Any]
):
    ada = scim.create(title="Physio", externalId="a-1")
    answer = scim.patch(f"/Users/{ada['id']}", patch_body(operation), status=400)
    assert_scim_error(answer, 400, "invalidPath")
    assert scim.user(ada["id"]) == ada


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": "members.value"},
        {"op": "add", "path": "members.value", "value": "x"},
        {"op": "replace", "path": "displayName.value", "value": "Doctors"},
        {"op": "remove", "path": "externalId.value"},
    ],
)
def test_a_sub_attribute_of_a_group_attribute_is_invalid_path_and_changes_nothing(
    scim: Scim, operation: dict[str, Any]
):
    ann = scim.create("ann@acme.test")["id"]
    group = scim.post("/Groups", group_body("Nurses", ann, externalId="n-1")).json
    answer = scim.patch(f"/Groups/{group['id']}", patch_body(operation), status=400)
    assert_scim_error(answer, 400, "invalidPath")
    assert scim.get(f"/Groups/{group['id']}").json == group


def test_a_patch_refused_after_earlier_operations_were_applied_leaves_no_trace(scim: Scim, engine: Engine):
    # The last operation fails in the domain, after the names and the email were already laid over
    # the loaded practitioner: the transaction is rolled back whole, its audit event included.
    ada = scim.create()
    events = count(engine, "SELECT count(*) FROM audit_events")
    answer = scim.patch(
        f"/Users/{ada['id']}",
        patch_body(
            {"op": "replace", "path": "name.givenName", "value": "Eve"},
            {"op": "replace", "path": "emails", "value": [{"value": "eve@acme.test"}]},
            {"op": "replace", "path": "active", "value": False},
            {"op": "replace", "path": "externalId", "value": "x" * 256},
        ),
        status=400,
    )
    assert_scim_error(answer, 400, "invalidValue")
    assert scim.user(ada["id"]) == ada
    assert count(engine, "SELECT count(*) FROM audit_events") == events


def test_another_practices_group_id_is_404_for_every_operation_and_nothing_changes(portal: Portal, scim: Scim):
    portal.open_tenant("beta")
    beta = Scim(portal, "beta", create_token(portal, "beta"))
    zed = beta.create("zed@beta.test")["id"]
    ann = scim.create("ann@acme.test")["id"]
    group = scim.post("/Groups", group_body("Nurses", ann)).json
    path = f"/Groups/{group['id']}"
    assert_scim_error(beta.get(path, status=404), 404)
    assert_scim_error(beta.put(path, group_body("Taken", zed), status=404), 404)
    add = {"op": "add", "path": "members", "value": [{"value": zed}]}
    assert_scim_error(beta.patch(path, patch_body(add), status=404), 404)
    assert_scim_error(beta.patch(path, patch_body({"op": "remove", "path": "members"}), status=404), 404)
    assert_scim_error(beta.delete(path, status=404), 404)
    assert_scim_error(beta.delete(path, status=404, If_Match="*"), 404)
    assert scim.get(path).json == group


def test_a_password_link_mailed_to_the_email_a_client_replaced_opens_nothing(portal: Portal, scim: Scim):
    # The client corrects an address (a typo, a mailbox given up): whoever reads the old one must not
    # set the practitioner's password with a link mailed there before, nor prove the new address by it.
    ann = scim.create("ann", emails=[{"value": "ann@acme.test", "type": "work"}])
    link = mailed_link(portal, "ann@acme.test")
    same = {"op": "replace", "path": "emails", "value": [{"value": "ANN@acme.test", "type": "work"}]}
    scim.patch(f"/Users/{ann['id']}", patch_body(same, {"op": "replace", "path": "title", "value": "Physio"}))
    form = the_form(portal.browser("acme").get(link), "password_confirm")  # the same email again: still open
    moved = {"op": "replace", "path": 'emails[type eq "work"].value', "value": "ann.new@acme.test"}
    scim.patch(f"/Users/{ann['id']}", patch_body(moved))
    form["password"] = form["password_confirm"] = "a brand new passphrase"
    assert INVALID in form.submit(status=404).text
    assert INVALID in portal.browser("acme").get(link, status=404).text
