"""Who may change whom: one rule (domain.authority.Authority) for the pages, SCIM and the CLI.

Only the account owner changes the owner or anyone holding a module right; a holder of the
Practitioners right reaches plain practitioners only. Nobody ends the owner, nobody deactivates
themselves. A SCIM token acts for its creator, while the creator may act.
"""

from __future__ import annotations

import pytest

from domain.practitioners.authority import Authority, Ending
from domain.errors import NotAllowed, ProtectedState
from domain.provisioning.scim_user import ScimUser
from domain.practitioners.rights import ModuleRight

PRACTITIONERS = frozenset({ModuleRight.PRACTITIONERS})
AUTHENTICATION = frozenset({ModuleRight.AUTHENTICATION})


@pytest.fixture
def acme(world):
    """Acme's people: the owner, a clerk (Practitioners right), an auditor (Authentication right), a plain practitioner."""
    tenant, owner = world.open_tenant()
    add = world.directory.add
    people = {
        "owner": owner,
        "clerk": add(owner, tenant, "clerk@acme.test", "C", "L", rights=PRACTITIONERS),
        "auditor": add(owner, tenant, "auditor@acme.test", "A", "U", rights=AUTHENTICATION),
        "plain": add(owner, tenant, "plain@acme.test", "P", "L"),
    }
    return tenant, people


def token_authority(world, tenant, creator):
    token, _ = world.provisioning_tokens.create(tenant, "Entra", creator)
    return token, world.provisioning_tokens.authority_of(tenant, token)


# --- the rule on its own ------------------------------------------------------------------


@pytest.mark.parametrize(
    "actor, reaches",
    [
        ("owner", {"owner", "clerk", "auditor", "plain"}),
        ("clerk", {"plain"}),
        ("auditor", set()),  # no Practitioners right: manages nobody
        ("plain", set()),
    ],
)
def test_only_the_owner_changes_the_owner_or_anyone_holding_a_module_right(acme, actor, reaches):
    tenant, people = acme
    authority = Authority.of(people[actor], tenant)
    assert {name for name, target in people.items() if authority.may_manage(target)} == reaches


def test_a_practitioners_right_holder_does_not_reach_a_fellow_holder_of_that_right(world, acme):
    tenant, people = acme
    fellow = world.directory.add(people["owner"], tenant, "fellow@acme.test", "F", "L", rights=PRACTITIONERS)
    assert not Authority.of(people["clerk"], tenant).may_manage(fellow)
    with pytest.raises(NotAllowed):
        world.directory.deactivate(people["clerk"], tenant, fellow.id)
    assert fellow.active


def test_a_practitioners_right_holder_is_told_why_a_rights_holder_is_out_of_reach(acme):
    tenant, people = acme
    with pytest.raises(NotAllowed, match="only the account owner changes the account owner"):
        Authority.of(people["clerk"], tenant).require_may_manage(people["owner"])
    with pytest.raises(
        NotAllowed,
        match=r"only the account owner changes practitioners who hold a module right \(auditor@acme.test holds Authentication\)",
    ):
        Authority.of(people["clerk"], tenant).require_may_manage(people["auditor"])


@pytest.mark.parametrize("ending", list(Ending))
@pytest.mark.parametrize("actor", ["owner", "clerk", "auditor", "plain"])
def test_nobody_deactivates_or_deletes_the_account_owner(acme, actor, ending):
    tenant, people = acme
    authority = Authority.of(people[actor], tenant)
    assert not authority.may_end(people["owner"], ending)
    with pytest.raises(ProtectedState) as refused:
        authority.require_may_end(people["owner"], ending)
    assert refused.value.attribute == ("active" if ending is Ending.DEACTIVATE else None)


@pytest.mark.parametrize("actor", ["owner", "clerk"])
def test_nobody_deactivates_themselves(acme, actor):
    tenant, people = acme
    with pytest.raises(ProtectedState, match="you cannot deactivate your own account"):
        Authority.of(people[actor], tenant).require_may_end(people[actor])


def test_the_owner_ends_rights_holders_and_a_clerk_only_plain_practitioners(acme):
    tenant, people = acme
    owner, clerk = Authority.of(people["owner"], tenant), Authority.of(people["clerk"], tenant)
    assert owner.may_end(people["clerk"]) and owner.may_end(people["auditor"], Ending.DELETE)
    assert clerk.may_end(people["plain"], Ending.DELETE)
    assert not clerk.may_end(people["auditor"])


def test_another_tenants_practitioner_is_out_of_everyones_reach(world, acme):
    tenant, people = acme
    beta, beta_owner = world.open_tenant("beta")
    assert not Authority.of(beta_owner, beta).may_manage(people["plain"])


def test_only_the_owner_grants_rights_and_only_the_practitioners_right_provisions(acme):
    tenant, people = acme
    Authority.of(people["owner"], tenant).require_may_grant_rights()
    with pytest.raises(NotAllowed, match="only the account owner grants module rights"):
        Authority.of(people["clerk"], tenant).require_may_grant_rights()
    Authority.of(people["clerk"], tenant).require_may_provision()
    with pytest.raises(NotAllowed):
        Authority.of(people["auditor"], tenant).require_may_provision()


# --- the admin pages' service follows it ---------------------------------------------------


@pytest.mark.parametrize("target", ["owner", "auditor"])
def test_a_clerk_neither_deactivates_nor_reactivates_a_rights_holder_or_the_owner(world, acme, target):
    tenant, people = acme
    session = world.sessions.open_session(tenant.id, people[target].id)
    with pytest.raises(NotAllowed):
        world.directory.deactivate(people["clerk"], tenant, people[target].id)
    assert people[target].active and world.sessions.is_open(session)
    if target == "auditor":
        world.directory.deactivate(people["owner"], tenant, people["auditor"].id)
        with pytest.raises(NotAllowed):
            world.directory.reactivate(people["clerk"], tenant, people["auditor"].id)
        assert not people["auditor"].active


def test_a_clerk_deactivates_and_reactivates_plain_practitioners(world, acme):
    tenant, people = acme
    world.directory.deactivate(people["clerk"], tenant, people["plain"].id)
    assert not people["plain"].active
    world.directory.reactivate(people["clerk"], tenant, people["plain"].id)
    assert people["plain"].active


# --- a SCIM token acts for its creator -----------------------------------------------------


def test_only_holders_of_the_practitioners_right_make_tokens(world, acme):
    tenant, people = acme
    with pytest.raises(NotAllowed):
        world.provisioning_tokens.create(tenant, "Entra", people["auditor"])
    assert world.provisioning_tokens.tokens(tenant) == []


def test_a_token_records_its_creator_and_acts_with_their_authority(world, acme):
    tenant, people = acme
    token, by_clerk = token_authority(world, tenant, people["clerk"])
    assert token.created_by == people["clerk"].id
    assert by_clerk.practitioner_id == people["clerk"].id and by_clerk.name == "SCIM token 'Entra'"
    assert [n for n, p in people.items() if by_clerk.may_manage(p)] == ["plain"]
    _, by_owner = token_authority(world, tenant, people["owner"])
    assert all(by_owner.may_manage(p) for p in people.values())


@pytest.mark.parametrize(
    "change, reason",
    [
        ("deactivate", "is deactivated"),
        ("remove right", "no longer holds the Practitioners right"),
        ("delete", "no longer exists"),
    ],
)
def test_a_token_stops_working_when_its_creator_may_no_longer_act(world, acme, change, reason):
    tenant, people = acme
    token, _ = token_authority(world, tenant, people["clerk"])
    if change == "deactivate":
        world.directory.deactivate(people["owner"], tenant, people["clerk"].id)
    elif change == "remove right":
        world.directory.set_rights(people["owner"], tenant, people["clerk"].id, frozenset())
    else:
        world.practitioners.remove(people["clerk"])
    with pytest.raises(NotAllowed, match=reason):
        world.provisioning_tokens.authority_of(tenant, token)
    (listed,) = world.provisioning_tokens.listed(tenant)
    assert listed.authority is None and reason in listed.refusal


def test_a_token_works_again_when_its_creator_is_reactivated(world, acme):
    tenant, people = acme
    token, _ = token_authority(world, tenant, people["clerk"])
    world.directory.deactivate(people["owner"], tenant, people["clerk"].id)
    world.directory.reactivate(people["owner"], tenant, people["clerk"].id)
    assert world.provisioning_tokens.authority_of(tenant, token).practitioner_id == people["clerk"].id


def test_a_token_made_before_creators_were_recorded_reaches_plain_practitioners_only(world, acme):
    tenant, people = acme
    token, _ = token_authority(world, tenant, people["owner"])
    token.created_by = None  # as migration 0007 leaves the tokens that existed before it
    legacy = world.provisioning_tokens.authority_of(tenant, token)
    assert legacy.practitioner_id is None
    assert [n for n, p in people.items() if legacy.may_manage(p)] == ["plain"]


# --- SCIM writes follow it, and a refused one changes nothing ------------------------------


def snapshot(world, people):
    return (
        {n: (p.email, p.external_id, p.active, p.first_name) for n, p in people.items()},
        len(world.audit.events),
        dict(world.sessions.open),
    )


@pytest.mark.parametrize(
    "changes",
    [
        ScimUser(email="mine@evil.test"),
        ScimUser(external_id="an-identity-the-clerk-controls"),
        ScimUser(given_name="Renamed"),
        ScimUser(active=False),
    ],
)
@pytest.mark.parametrize("target", ["owner", "auditor", "clerk"])
def test_a_clerks_token_changes_no_rights_holder_and_a_refusal_changes_nothing(world, acme, changes, target):
    tenant, people = acme
    _, by_clerk = token_authority(world, tenant, people["clerk"])
    for person in people.values():
        world.sessions.open_session(tenant.id, person.id)
    before = snapshot(world, people)
    with pytest.raises(NotAllowed):
        world.provisioning.patch(tenant, by_clerk, people[target], changes, None)
    with pytest.raises(NotAllowed):
        world.provisioning.delete(tenant, by_clerk, people[target], None)
    assert snapshot(world, people) == before


def test_a_clerks_token_provisions_plain_practitioners(world, acme):
    tenant, people = acme
    _, by_clerk = token_authority(world, tenant, people["clerk"])
    world.provisioning.patch(tenant, by_clerk, people["plain"], ScimUser(email="p.l@acme.test", active=False), None)
    assert (people["plain"].email, people["plain"].active) == ("p.l@acme.test", False)
    world.provisioning.delete(tenant, by_clerk, people["plain"], None)
    assert world.practitioners.get(tenant.id, people["plain"].id) is None
    assert world.audit.events[-1].actor_id == people["clerk"].id


def test_the_owners_token_changes_the_owner_but_never_deactivates_or_deletes_them(world, acme):
    tenant, people = acme
    owner = people["owner"]
    _, by_owner = token_authority(world, tenant, owner)
    world.provisioning.patch(tenant, by_owner, owner, ScimUser(given_name="Olga"), None)
    assert owner.first_name == "Olga"
    with pytest.raises(ProtectedState) as refused:
        world.provisioning.patch(tenant, by_owner, owner, ScimUser(given_name="Other", active=False), None)
    assert refused.value.attribute == "active"
    with pytest.raises(ProtectedState):
        world.provisioning.replace(tenant, by_owner, owner, ScimUser(user_name=owner.email, active=False), None)
    with pytest.raises(ProtectedState):
        world.provisioning.delete(tenant, by_owner, owner, None)
    assert owner.active and owner.first_name == "Olga"
    assert world.practitioners.get(tenant.id, owner.id) is owner


def test_the_owners_token_deactivates_and_deletes_rights_holders(world, acme):
    tenant, people = acme
    _, by_owner = token_authority(world, tenant, people["owner"])
    world.provisioning.patch(tenant, by_owner, people["auditor"], ScimUser(active=False), None)
    world.provisioning.delete(tenant, by_owner, people["clerk"], None)
    assert not people["auditor"].active and world.practitioners.get(tenant.id, people["clerk"].id) is None
