"""ScimGroupRepository: the fake, SQLite and PostgreSQL keep groups alike."""

from __future__ import annotations

import pytest

from domain.errors import NotUnique, VersionMismatch
from domain.provisioning.scim_group import GroupQuery, GroupValues, Membership, ScimGroup
from tests.contract.test_repository_contract import NOW, practitioner, tenant


def group(uow, tenant_id: str, name: str, members: set[str] = frozenset(), external_id: str | None = None) -> ScimGroup:
    g = ScimGroup.create(tenant_id, GroupValues(name, external_id, frozenset(members)), NOW)
    uow.repos.scim_groups.add(g)
    return g


def test_a_group_round_trips_with_its_members_and_version(uow):
    t = tenant(uow)
    ann, bob = practitioner(uow, t, "ann@acme.test"), practitioner(uow, t, "bob@acme.test")
    g = group(uow, t.id, "Admins", {ann.id, bob.id}, external_id="entra-1")
    uow.commit()
    found = uow.repos.scim_groups.get(t.id, g.id)
    assert (found.display_name, found.external_id, found.member_ids, found.version) == (
        "Admins",
        "entra-1",
        frozenset({ann.id, bob.id}),
        1,
    )
    assert found.created_at == NOW


def test_a_group_is_invisible_through_another_tenant(uow):
    acme, beta = tenant(uow), tenant(uow, "beta")
    g = group(uow, acme.id, "Admins")
    uow.commit()
    assert uow.repos.scim_groups.get(beta.id, g.id) is None
    assert uow.repos.scim_groups.search(beta.id, GroupQuery(), 0, 10) == ([], 0)
    group(uow, beta.id, "Admins")  # the same name in another practice is another group
    uow.commit()


def test_a_display_name_is_taken_per_tenant_whatever_its_case_and_the_unit_of_work_stays_usable(uow):
    t = tenant(uow)
    group(uow, t.id, "Admins")
    uow.commit()
    with pytest.raises(NotUnique):
        group(uow, t.id, "ADMINS")
    group(uow, t.id, "Nurses")
    uow.commit()
    assert uow.repos.scim_groups.search(t.id, GroupQuery(), 0, 10)[1] == 2


def test_search_matches_display_name_without_case_and_external_id_exactly_and_pages(uow):
    t = tenant(uow)
    for name in ("Admins", "Nurses", "Doctors"):
        group(uow, t.id, name, external_id=f"ext-{name}")
    uow.commit()
    found, total = uow.repos.scim_groups.search(t.id, GroupQuery(display_name="nURSES"), 0, 10)
    assert [g.display_name for g in found] == ["Nurses"] and total == 1
    assert uow.repos.scim_groups.search(t.id, GroupQuery(external_id="ext-admins"), 0, 10) == ([], 0)
    everyone = [g.id for g in uow.repos.scim_groups.search(t.id, GroupQuery(), 0, 10)[0]]
    page, total = uow.repos.scim_groups.search(t.id, GroupQuery(), 1, 1)
    assert total == 3 and [g.id for g in page] == everyone[1:2]


def test_save_writes_the_members_as_changed_and_refuses_a_stale_version(uow):
    t = tenant(uow)
    ann, bob, cy = (practitioner(uow, t, f"{n}@acme.test") for n in ("ann", "bob", "cy"))
    g = group(uow, t.id, "Admins", {ann.id, bob.id})
    uow.commit()
    loaded = uow.repos.scim_groups.get(t.id, g.id)
    stale = uow.repos.scim_groups.get(t.id, g.id)
    loaded.apply(GroupValues("Admin staff", None, frozenset({bob.id, cy.id})), NOW)
    uow.repos.scim_groups.save(loaded)
    uow.commit()
    found = uow.repos.scim_groups.get(t.id, g.id)
    assert (found.display_name, found.member_ids, found.version) == ("Admin staff", frozenset({bob.id, cy.id}), 2)
    stale.apply(GroupValues("Other", None, frozenset()), NOW)
    with pytest.raises(VersionMismatch):
        uow.repos.scim_groups.save(stale)


def test_save_refuses_a_display_name_another_group_has(uow):
    t = tenant(uow)
    group(uow, t.id, "Admins")
    g = group(uow, t.id, "Nurses")
    uow.commit()
    loaded = uow.repos.scim_groups.get(t.id, g.id)
    loaded.apply(GroupValues("admins", None, frozenset()), NOW)
    with pytest.raises(NotUnique):
        uow.repos.scim_groups.save(loaded)


def test_memberships_list_each_practitioners_groups_in_one_lookup_and_removal_ends_them(uow):
    t, beta = tenant(uow), tenant(uow, "beta")
    ann, bob = practitioner(uow, t, "ann@acme.test"), practitioner(uow, t, "bob@acme.test")
    admins = group(uow, t.id, "Admins", {ann.id})
    nurses = group(uow, t.id, "Nurses", {ann.id, bob.id})
    uow.commit()
    found = uow.repos.scim_groups.memberships(t.id, {ann.id, bob.id})
    assert found == {
        ann.id: [Membership(admins.id, "Admins"), Membership(nurses.id, "Nurses")],
        bob.id: [Membership(nurses.id, "Nurses")],
    }
    assert uow.repos.scim_groups.memberships(beta.id, {ann.id}) == {}
    uow.repos.scim_groups.remove(uow.repos.scim_groups.get(t.id, nurses.id))
    uow.commit()
    assert uow.repos.scim_groups.memberships(t.id, {ann.id, bob.id}) == {ann.id: [Membership(admins.id, "Admins")]}
    assert uow.repos.scim_groups.get(t.id, nurses.id) is None
