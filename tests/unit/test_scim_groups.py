"""SCIM groups in domain terms: members, names, who may change them, and the rights they give."""

from __future__ import annotations

import pytest

from domain.audit import AuditKind
from domain.errors import InvalidValue, NotAllowed, NotUnique, VersionMismatch
from domain.practitioners.rights import ModuleRight
from domain.provisioning.groups import GroupProvisioning
from domain.provisioning.scim_group import GroupPatch, GroupValues, MemberOperation, ScimGroup, UnknownGroup
from domain.provisioning.scim_user import ScimUser
from domain.provisioning.version import etag
from domain.tenancy.tenant import RoleMapping

ADD, REMOVE, REPLACE = MemberOperation.ADD, MemberOperation.REMOVE, MemberOperation.REPLACE


class Groups:
    """The use case on the world's fakes, with a token of the owner and one of a Practitioners admin."""

    def __init__(self, world) -> None:
        self.world = world
        self.repo = world.scim_groups
        self.service = world.build(GroupProvisioning)
        self.tenant, self.owner = world.open_tenant()
        token, _ = world.provisioning_tokens.create(self.tenant, "Entra", self.owner)
        self.token = world.provisioning_tokens.authority_of(self.tenant, token)

    def person(self, name: str):
        return self.world.provisioning.create(
            self.tenant, self.token, ScimUser(user_name=f"{name}@acme.test", given_name=name, family_name="Lee")
        )

    def admin_token(self):
        """A token made by an admin who holds the Practitioners right but is not the owner."""
        admin = self.person("adele")
        self.world.directory.set_rights(self.owner, self.tenant, admin.id, frozenset({ModuleRight.PRACTITIONERS}))
        token, _ = self.world.provisioning_tokens.create(self.tenant, "Okta", admin)
        return self.world.provisioning_tokens.authority_of(self.tenant, token)

    def apply_roles(self, **mapping: ModuleRight) -> None:
        self.tenant.auth = self.tenant.auth.but(
            roles_claim="groups",
            role_mappings=tuple(RoleMapping(value, right) for value, right in mapping.items()),
            roles_from_provider=True,
        )

    def create(self, name: str, *members, token=None) -> ScimGroup:
        values = GroupValues(name, None, frozenset(m.id for m in members))
        return self.service.create(self.tenant, token or self.token, values)

    def patch(self, group: ScimGroup, *operations, token=None, **changes) -> ScimGroup:
        loaded = self.service.get(self.tenant, group.id)
        members = tuple((op, frozenset(m.id for m in people)) for op, *people in operations)
        return self.service.patch(
            self.tenant, token or self.token, loaded, GroupPatch(members=members, **changes), None
        )


@pytest.fixture
def groups(world) -> Groups:
    return Groups(world)


def test_members_are_added_removed_and_replaced_as_entra_and_okta_send_them(groups):
    ann, bob, cy = groups.person("ann"), groups.person("bob"), groups.person("cy")
    group = groups.create("Nurses", ann)
    assert groups.patch(group, (ADD, bob), (ADD, cy)).member_ids == {ann.id, bob.id, cy.id}
    assert groups.patch(group, (REMOVE, ann)).member_ids == {bob.id, cy.id}
    assert groups.patch(group, (REMOVE, ann)).member_ids == {bob.id, cy.id}  # removing a non-member changes nothing
    assert groups.patch(group, (REPLACE, ann)).member_ids == {ann.id}  # Okta's whole list
    assert groups.patch(group, (REPLACE,)).member_ids == frozenset()


def test_every_write_gives_the_group_a_new_version_and_if_match_guards_it(groups):
    group = groups.create("Nurses")
    renamed = groups.patch(group, display_name="Nursing")
    assert renamed.version == group.version + 1
    with pytest.raises(VersionMismatch):
        groups.service.replace(groups.tenant, groups.token, renamed, GroupValues("X"), etag(group))
    groups.service.replace(groups.tenant, groups.token, renamed, GroupValues("X"), etag(renamed))


def test_members_must_be_practitioners_of_the_same_practice_and_nothing_is_written_otherwise(groups, world):
    beta, _ = world.open_tenant("beta")
    stranger = world.practitioner(beta, "zed@beta.test")
    ann = groups.person("ann")
    with pytest.raises(InvalidValue, match="no User in this practice"):
        groups.create("Nurses", ann, stranger)
    group = groups.create("Nurses", ann)
    with pytest.raises(InvalidValue):
        groups.patch(group, (ADD, stranger))
    assert groups.service.get(groups.tenant, group.id).member_ids == {ann.id}


def test_display_names_are_unique_per_practice_whatever_their_case(groups, world):
    groups.create("Nurses")
    with pytest.raises(NotUnique):
        groups.create("NURSES")
    doctors = groups.create("Doctors")
    with pytest.raises(NotUnique):
        groups.patch(doctors, display_name="nurses")
    assert groups.service.get(groups.tenant, doctors.id).display_name == "Doctors"
    beta, beta_owner = world.open_tenant("beta")
    token, _ = world.provisioning_tokens.create(beta, "Entra", beta_owner)
    groups.service.create(beta, world.provisioning_tokens.authority_of(beta, token), GroupValues("Nurses"))


@pytest.mark.parametrize("name", ["", "  ", "a\nb", "x" * 256])
def test_a_display_name_is_one_line_of_at_most_255_characters(groups, name):
    with pytest.raises(InvalidValue):
        groups.create(name)


def test_another_practices_group_is_unknown(groups, world):
    group = groups.create("Nurses")
    beta, _ = world.open_tenant("beta")
    with pytest.raises(UnknownGroup):
        groups.service.get(beta, group.id)


def test_without_roles_applied_groups_change_no_ones_rights(groups, world):
    groups.tenant.auth = groups.tenant.auth.but(role_mappings=(RoleMapping("Admins", ModuleRight.PRACTITIONERS),))
    ann = groups.person("ann")
    groups.create("Admins", ann)
    assert ann.rights == frozenset()
    assert AuditKind.RIGHTS_GRANTED not in world.audit.kinds()


def test_where_roles_apply_membership_gives_and_takes_the_mapped_rights_audited_as_the_tokens_doing(groups, world):
    groups.apply_roles(Admins=ModuleRight.PRACTITIONERS, IT=ModuleRight.AUTHENTICATION)
    ann, bob = groups.person("ann"), groups.person("bob")
    admins = groups.create("Admins", ann)
    it = groups.create("IT", ann)
    assert ann.rights == {ModuleRight.PRACTITIONERS, ModuleRight.AUTHENTICATION}
    groups.patch(admins, (REMOVE, ann), (ADD, bob))
    assert ann.rights == {ModuleRight.AUTHENTICATION} and bob.rights == {ModuleRight.PRACTITIONERS}
    groups.service.delete(groups.tenant, groups.token, groups.service.get(groups.tenant, it.id), None)
    assert ann.rights == frozenset()
    events = [e for e in world.audit.events if e.kind in (AuditKind.RIGHTS_GRANTED, AuditKind.RIGHTS_REVOKED)]
    assert sorted((e.kind, e.subject_id) for e in events) == sorted(
        [(AuditKind.RIGHTS_GRANTED, ann.id)] * 2
        + [(AuditKind.RIGHTS_GRANTED, bob.id)]
        + [(AuditKind.RIGHTS_REVOKED, ann.id)] * 2
    )
    assert all(e.actor_id == groups.owner.id and "'Entra'" in e.summary for e in events)


def test_renaming_a_group_recomputes_its_members_rights_from_all_their_groups(groups):
    groups.apply_roles(Admins=ModuleRight.PRACTITIONERS)
    ann = groups.person("ann")
    staff = groups.create("Staff", ann)
    assert ann.rights == frozenset()
    staff = groups.patch(staff, display_name="Admins")
    assert ann.rights == {ModuleRight.PRACTITIONERS}
    groups.create("Admins2", ann)
    groups.patch(staff, display_name="Staff")
    assert ann.rights == frozenset()


def test_the_owner_keeps_every_right_whatever_the_groups(groups):
    groups.apply_roles(Admins=ModuleRight.PRACTITIONERS)
    admins = groups.create("Admins", groups.owner)
    groups.patch(admins, (REMOVE, groups.owner))
    assert groups.owner.is_owner and groups.owner.rights == frozenset()
    assert groups.owner.holds(ModuleRight.PRACTITIONERS)


def test_a_token_that_may_not_grant_rights_keeps_groups_but_cannot_change_rights_through_them(groups):
    groups.apply_roles(Admins=ModuleRight.PRACTITIONERS)
    admin_token = groups.admin_token()
    ann = groups.person("ann")
    nurses = groups.create("Nurses", ann, token=admin_token)  # no rights change: allowed
    with pytest.raises(NotAllowed, match="only the account owner grants"):
        groups.create("Admins", ann, token=admin_token)
    with pytest.raises(NotAllowed):
        groups.patch(nurses, display_name="Admins", token=admin_token)
    assert ann.rights == frozenset() and groups.service.get(groups.tenant, nurses.id).display_name == "Nurses"


def test_patch_applies_member_operations_in_the_order_sent():
    values = GroupValues("G", None, frozenset({"a"}))
    patch = GroupPatch(members=((REPLACE, frozenset({"b", "c"})), (REMOVE, frozenset({"c"})), (ADD, frozenset({"d"}))))
    assert patch.over(values).member_ids == {"b", "d"}
    assert GroupPatch(display_name="H").over(values) == GroupValues("H", None, frozenset({"a"}))
