"""Provisioning: SCIM groups, as Entra ID and Okta push them, and the module rights they give.

A group is a display name, the client's external id and its members (practitioners of the same
practice). Where the practice applies roles (TenantAuthPolicy.roles_applied), a member's module
rights are what the tenant's role mapping gives for the display names of ALL the member's groups,
recomputed whenever a group's members or display name change; the owner is left alone (the owner
holds every right by being the owner).

Who may change a group (the one rule, ``GroupProvisioning._require_may_apply``): any working token
may (Authority.require_may_provision) as long as no one's module rights change; a change that
grants or revokes someone's rights also needs the authority to grant rights (the owner's token)
and to manage each practitioner whose rights change. So a token made by an admin who is not the
owner keeps groups in step, but cannot hand out rights through them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from domain.audit import AuditKind, AuditTrail
from domain.errors import N_, InvalidValue, Message, NotUnique, known
from domain.ports import Clock, PractitionerRepository, ScimGroupRepository
from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.rights import ModuleRight, rights_named
from domain.provisioning.scim_group import GroupPatch, GroupQuery, GroupValues, Membership, ScimGroup, UnknownGroup
from domain.provisioning.version import require_version
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant

# What the audit trail says of a group's own event, by its kind, given the group's display name and
# who changed it (each member whose rights change has an event of their own).
GROUP_EVENTS: dict[str, Callable[[str, str], Message]] = {
    AuditKind.SCIM_GROUP_CREATED: lambda group, by: N_("group %(group)r created by %(by)s", group=group, by=by),
    AuditKind.SCIM_GROUP_UPDATED: lambda group, by: N_("group %(group)r updated by %(by)s", group=group, by=by),
    AuditKind.SCIM_GROUP_DELETED: lambda group, by: N_("group %(group)r deleted by %(by)s", group=group, by=by),
}


@dataclass(frozen=True)
class RightsChange:
    practitioner: Practitioner
    rights: frozenset[ModuleRight]


@dataclass(frozen=True)
class GroupProvisioning:
    _groups: ScimGroupRepository
    _practitioners: PractitionerRepository
    _audit: AuditTrail
    _clock: Clock

    def get(self, tenant: Tenant, group_id: str) -> ScimGroup:
        return known(self._groups.get(tenant.id, group_id), UnknownGroup)

    def search(self, tenant: Tenant, query: GroupQuery, offset: int, limit: int) -> tuple[list[ScimGroup], int]:
        return self._groups.search(tenant.id, query, offset, limit)

    def memberships(self, tenant: Tenant, practitioner_ids: set[str]) -> dict[str, list[Membership]]:
        return self._groups.memberships(tenant.id, practitioner_ids)

    def create(self, tenant: Tenant, authority: Authority, values: GroupValues) -> ScimGroup:
        authority.require_may_provision()
        group = ScimGroup.create(tenant.id, values, self._clock.now())
        self._require_members(tenant, group.member_ids)
        self._require_free_name(tenant, group)
        changes = self._rights_changes(tenant, group, frozenset(), None)
        self._require_may_apply(authority, changes)
        self._groups.add(group)
        self._done(tenant, authority, group, changes, AuditKind.SCIM_GROUP_CREATED)
        return group

    # replace, patch and delete take the group the caller loaded with ``get``, as Provisioning does.

    def replace(
        self, tenant: Tenant, authority: Authority, group: ScimGroup, values: GroupValues, if_match: str | None
    ) -> ScimGroup:
        """PUT: the whole group; members left out are no longer members."""
        return self._update(tenant, authority, group, values, if_match)

    def patch(
        self, tenant: Tenant, authority: Authority, group: ScimGroup, changes: GroupPatch, if_match: str | None
    ) -> ScimGroup:
        return self._update(tenant, authority, group, changes.over(group.values()), if_match)

    def delete(self, tenant: Tenant, authority: Authority, group: ScimGroup, if_match: str | None) -> None:
        """The group goes; where roles apply, its members keep only what their other groups give."""
        self._require_own(tenant, group)
        authority.require_may_provision()
        require_version(group, if_match)
        changes = self._rights_changes(tenant, group, group.member_ids, None, removed=True)
        self._require_may_apply(authority, changes)
        self._groups.remove(group)
        self._done(tenant, authority, group, changes, AuditKind.SCIM_GROUP_DELETED)

    def _update(
        self, tenant: Tenant, authority: Authority, group: ScimGroup, values: GroupValues, if_match: str | None
    ) -> ScimGroup:
        self._require_own(tenant, group)
        authority.require_may_provision()
        require_version(group, if_match)
        # Every check runs on what the group would become: a refused update changes nothing.
        after = group.proposed(values)
        self._require_members(tenant, after.member_ids - group.member_ids)
        self._require_free_name(tenant, after)
        changes = self._rights_changes(tenant, after, group.member_ids, group.display_name)
        self._require_may_apply(authority, changes)
        group.apply(values, self._clock.now())
        self._groups.save(group)
        self._done(tenant, authority, group, changes, AuditKind.SCIM_GROUP_UPDATED)
        return group

    @staticmethod
    def _require_own(tenant: Tenant, group: ScimGroup) -> None:
        if group.tenant_id != tenant.id:
            raise UnknownGroup()

    def _require_members(self, tenant: Tenant, ids: Iterable[str]) -> None:
        """Members are practitioners of this practice; another practice's id is as unknown as a made-up one."""
        wanted = set(ids)
        found = {p.id for p in self._practitioners.get_many(tenant.id, wanted)}
        unknown = sorted(wanted - found)
        if unknown:
            shown = ", ".join(unknown[:3]) + (" ..." if len(unknown) > 3 else "")
            raise InvalidValue("members", f"no User in this practice has the id {shown}")

    def _require_free_name(self, tenant: Tenant, group: ScimGroup) -> None:
        """Refuses a clash before anything changes; of concurrent writers, the unique index refuses all but one."""
        same = self._groups.search(tenant.id, GroupQuery(display_name=group.display_name), 0, 2)[0]
        if any(other.id != group.id for other in same):
            raise NotUnique("displayName", group.display_name)

    # ---- module rights from groups ------------------------------------------------------------

    def _rights_changes(
        self, tenant: Tenant, group: ScimGroup, before: frozenset[str], old_name: str | None, removed: bool = False
    ) -> list[RightsChange]:
        """Whose module rights this change of ``group`` changes, and to what; none where roles do not apply.

        Affected: members who joined or left, and every member when the display name changed or the
        group goes. Each one's rights come from the display names of all their groups afterwards.
        """
        if not TenantAuthPolicy.of(tenant).roles_applied:
            return []
        now_in = frozenset() if removed else group.member_ids
        affected = set(now_in ^ before) | (set(now_in) if old_name not in (None, group.display_name) else set())
        if not affected:
            return []
        others = self._groups.memberships(tenant.id, affected)
        changes = []
        for practitioner in self._practitioners.get_many(tenant.id, affected):
            names = [m.display_name for m in others.get(practitioner.id, []) if m.group_id != group.id]
            rights = tenant.auth.rights_for([*names, *([group.display_name] if practitioner.id in now_in else [])])
            if not practitioner.is_owner and rights != practitioner.rights:
                changes.append(RightsChange(practitioner, rights))
        return changes

    @staticmethod
    def _require_may_apply(authority: Authority, changes: list[RightsChange]) -> None:
        """The one rule: a change that grants or revokes rights needs who may grant them and manage each one."""
        for change in changes:
            authority.require_may_grant_rights()
            authority.require_may_manage(change.practitioner)

    def _apply_rights(
        self, tenant: Tenant, authority: Authority, group: ScimGroup, changes: list[RightsChange]
    ) -> None:
        for change in changes:
            person = change.practitioner
            granted, revoked = person.hold_rights(change.rights)
            said = {"email": person.email, "by": authority.name, "group": group.display_name}
            summaries: tuple[tuple[str, frozenset[ModuleRight], Callable[[str], str]], ...] = (
                (
                    AuditKind.RIGHTS_GRANTED,
                    granted,
                    lambda named: N_(
                        "%(email)s: %(rights)s granted by %(by)s through group %(group)r", rights=named, **said
                    ),
                ),
                (
                    AuditKind.RIGHTS_REVOKED,
                    revoked,
                    lambda named: N_(
                        "%(email)s: %(rights)s revoked by %(by)s through group %(group)r", rights=named, **said
                    ),
                ),
            )
            for kind, rights, summary in summaries:
                if rights:
                    self._audit.record(
                        tenant, kind, summary(rights_named(rights)), authority.practitioner_id, subject_id=person.id
                    )

    def _done(
        self, tenant: Tenant, authority: Authority, group: ScimGroup, changes: list[RightsChange], kind: str
    ) -> None:
        """The members' rights as the change leaves them (each audited), then the group's own event
        (``kind``: one of GROUP_EVENTS)."""
        self._apply_rights(tenant, authority, group, changes)
        self._audit.record(
            tenant, kind, GROUP_EVENTS[kind](group.display_name, authority.name), authority.practitioner_id
        )
