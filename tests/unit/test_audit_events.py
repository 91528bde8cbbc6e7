"""What is recorded: every login and logout, every change to practitioners and their rights by
any path, SCIM tokens; each event with who acted, whom it is about and where it came from."""

from __future__ import annotations

import pytest

from domain.audit import (
    CLI_ADDRESS,
    KNOWN_KINDS,
    AuditEvent,
    AuditKind,
    AuditTrail,
    RequestOrigin,
    kind_choices,
    kind_label,
    kinds_like,
)
from domain.errors import AccountDeactivated, LoginFailed, LoginThrottled, NotAllowed
from domain.passwords.login import FAILED_LOGINS_PER_ACCOUNT
from domain.sso.logout import ProviderLogout
from domain.practitioners.rights import ModuleRight
from domain.provisioning.bearer_token import ProvisioningKind
from domain.provisioning.scim_user import ScimUser

PASSWORD = "correct horse battery"


def last(world, count: int = 1) -> list[AuditEvent]:
    return world.audit.events[-count:]


def about(event: AuditEvent) -> tuple[str, str | None, str | None]:
    return event.kind, event.actor_id, event.subject_id


# --- the trail stamps where the request came from --------------------------------------------


def test_an_event_carries_the_requests_address_user_agent_and_token(world):
    tenant, owner = world.open_tenant()
    origin = RequestOrigin("192.0.2.7", "Mozilla/5.0", token_id="token-1")
    AuditTrail(world.audit, world.clock, origin).record(
        tenant, AuditKind.SETTINGS_CHANGED, "x", owner.id, subject_id="s"
    )
    event = world.audit.events[-1]
    assert (event.client_address, event.user_agent, event.actor_token_id) == ("192.0.2.7", "Mozilla/5.0", "token-1")
    assert (event.actor_id, event.subject_id) == (owner.id, "s")


def test_a_user_agent_is_cut_to_255_characters_of_one_line_text(world):
    tenant, _ = world.open_tenant()
    origin = RequestOrigin("192.0.2.7", "Bad\x00\r\nAgent" + "x" * 400)
    AuditTrail(world.audit, world.clock, origin).record(tenant, AuditKind.SETTINGS_CHANGED, "x")
    assert world.audit.events[-1].user_agent == "Bad???Agent" + "x" * 244


def test_the_command_line_is_recorded_as_cli_without_a_user_agent(world):
    tenant, _ = world.open_tenant()
    AuditTrail(world.audit, world.clock, RequestOrigin.command_line()).record(tenant, AuditKind.SETTINGS_CHANGED, "x")
    event = world.audit.events[-1]
    assert (event.client_address, event.user_agent, event.actor_token_id) == (CLI_ADDRESS, None, None)


# --- password logins and logouts --------------------------------------------------------------


def test_a_password_login_is_recorded_as_the_practitioners_own_doing(world):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    world.login.log_in(tenant, "ann@acme.test", PASSWORD, "10.0.0.1")
    (event,) = last(world)
    assert about(event) == (AuditKind.PASSWORD_LOGIN_SUCCEEDED, ann.id, ann.id)
    assert event.summary == "ann@acme.test logged in with a password"


def test_a_wrong_password_is_recorded_about_the_account_and_never_the_password(world):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    with pytest.raises(LoginFailed):
        world.login.log_in(tenant, "ann@acme.test", "my-secret-guess", "10.0.0.1")
    (event,) = last(world)
    assert about(event) == (AuditKind.PASSWORD_LOGIN_FAILED, None, ann.id)
    assert event.summary == "password login failed for ann@acme.test"
    assert "my-secret-guess" not in repr(world.audit.events)


def test_an_unknown_email_is_recorded_alike_and_creates_nothing(world):
    tenant, _ = world.open_tenant()
    people = world.practitioners.search(tenant.id, "", 0, 100).total
    with pytest.raises(LoginFailed):
        world.login.log_in(tenant, "Nobody@acme.test", PASSWORD, "10.0.0.1")
    (event,) = last(world)
    assert about(event) == (AuditKind.PASSWORD_LOGIN_FAILED, None, None)
    assert event.summary == "password login failed for nobody@acme.test"
    assert world.practitioners.search(tenant.id, "", 0, 100).total == people


def test_an_email_that_is_no_email_is_recorded_as_typed_on_one_line(world):
    tenant, _ = world.open_tenant()
    with pytest.raises(LoginFailed):
        world.login.log_in(tenant, "not\nan email", PASSWORD, "10.0.0.1")
    assert last(world)[0].summary == "password login failed for not?an email"


def test_the_right_password_of_a_deactivated_account_is_recorded_as_refused(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    world.directory.deactivate(owner, tenant, ann.id)
    with pytest.raises(AccountDeactivated):
        world.login.log_in(tenant, "ann@acme.test", PASSWORD, "10.0.0.1")
    (event,) = last(world)
    assert about(event) == (AuditKind.PASSWORD_LOGIN_FAILED, None, ann.id)
    assert event.summary.endswith(": the account is deactivated")


def test_attempts_refused_by_the_throttle_are_not_recorded(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    for _ in range(FAILED_LOGINS_PER_ACCOUNT.max_uses):
        with pytest.raises(LoginFailed):
            world.login.log_in(tenant, "ann@acme.test", "wrong", "10.0.0.1")
    recorded = len(world.audit.events)
    for _ in range(5):
        with pytest.raises(LoginThrottled):
            world.login.log_in(tenant, "ann@acme.test", "wrong", "10.0.0.1")
    assert len(world.audit.events) == recorded


def test_a_logout_is_recorded(world):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    world.build(ProviderLogout).log_out(tenant, ann, None, "https://acme.portal.test/sso/logged-out")
    assert about(last(world)[0]) == (AuditKind.LOGGED_OUT, ann.id, ann.id)


# --- the Practitioners page and the command line ------------------------------------------------


def test_adding_a_practitioner_with_a_right_records_both_by_the_admin_about_them(world):
    tenant, owner = world.open_tenant()
    clerk = world.directory.add(
        owner, tenant, "clerk@acme.test", "C", "L", rights=frozenset({ModuleRight.PRACTITIONERS})
    )
    added, granted = last(world, 2)
    assert about(added) == (AuditKind.PRACTITIONER_ADDED, owner.id, clerk.id)
    assert about(granted) == (AuditKind.RIGHTS_GRANTED, owner.id, clerk.id)
    assert granted.summary == "clerk@acme.test: Practitioners right granted"


def test_deactivating_and_reactivating_are_recorded(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    world.directory.deactivate(owner, tenant, ann.id)
    world.directory.reactivate(owner, tenant, ann.id)
    deactivated, reactivated = last(world, 2)
    assert about(deactivated) == (AuditKind.PRACTITIONER_DEACTIVATED, owner.id, ann.id)
    assert about(reactivated) == (AuditKind.PRACTITIONER_REACTIVATED, owner.id, ann.id)


def test_changing_rights_records_what_was_granted_and_what_was_revoked(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    world.directory.set_rights(owner, tenant, ann.id, frozenset({ModuleRight.AUTHENTICATION}))
    world.directory.set_rights(owner, tenant, ann.id, frozenset({ModuleRight.PRACTITIONERS}))
    granted, revoked = last(world, 2)
    assert (granted.kind, granted.summary) == (AuditKind.RIGHTS_GRANTED, "ann@acme.test: Practitioners right granted")
    assert (revoked.kind, revoked.summary) == (AuditKind.RIGHTS_REVOKED, "ann@acme.test: Authentication right revoked")
    before = len(world.audit.events)
    world.directory.set_rights(owner, tenant, ann.id, frozenset({ModuleRight.PRACTITIONERS}))
    assert len(world.audit.events) == before  # nothing changed, nothing recorded


def test_a_refused_change_records_nothing(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    before = len(world.audit.events)
    with pytest.raises(NotAllowed):
        world.directory.deactivate(ann, tenant, owner.id)
    assert len(world.audit.events) == before


# --- SCIM ------------------------------------------------------------------------------------


def test_scim_writes_are_recorded_for_the_tokens_creator_about_the_practitioner(world):
    tenant, owner = world.open_tenant()
    token, _ = world.provisioning_tokens.create(tenant, "Entra", owner)
    authority = world.provisioning_tokens.authority_of(tenant, token)
    ann = world.provisioning.create(
        tenant, authority, ScimUser(user_name="ann@acme.test", given_name="A", family_name="L")
    )
    world.provisioning.patch(tenant, authority, ann, ScimUser(active=False), None)
    world.provisioning.patch(tenant, authority, ann, ScimUser(active=True), None)
    world.provisioning.delete(tenant, authority, ann, None)
    kinds = [about(event) for event in last(world, 4)]
    assert kinds == [
        (ProvisioningKind.USER_CREATED, owner.id, ann.id),
        (ProvisioningKind.USER_DEACTIVATED, owner.id, ann.id),
        (AuditKind.PRACTITIONER_REACTIVATED, owner.id, ann.id),
        (ProvisioningKind.USER_DELETED, owner.id, ann.id),
    ]
    assert all("by SCIM token 'Entra'" in event.summary for event in last(world, 4))


def test_creating_and_revoking_a_token_are_recorded_with_who_did_it(world):
    tenant, owner = world.open_tenant()
    token, _ = world.provisioning_tokens.create(tenant, "Okta", owner)
    world.provisioning_tokens.revoke(tenant, token.id, owner.id)
    created, revoked = last(world, 2)
    assert (created.kind, created.actor_id, revoked.kind, revoked.actor_id) == (
        ProvisioningKind.TOKEN_CREATED,
        owner.id,
        ProvisioningKind.TOKEN_REVOKED,
        owner.id,
    )


# --- kinds and their labels ------------------------------------------------------------------


def test_a_scim_change_shares_the_label_and_filter_of_the_same_change_on_the_page():
    assert kind_label(ProvisioningKind.USER_CREATED) == kind_label(AuditKind.PRACTITIONER_ADDED) == "practitioner added"
    assert set(kinds_like(AuditKind.PRACTITIONER_DEACTIVATED)) == {
        AuditKind.PRACTITIONER_DEACTIVATED,
        ProvisioningKind.USER_DEACTIVATED,
    }
    assert kinds_like(AuditKind.LOGGED_OUT) == (AuditKind.LOGGED_OUT,)


def test_the_kind_filter_offers_each_label_once_and_every_kind_under_one():
    labels = [label for _, label in kind_choices()]
    assert len(labels) == len(set(labels)) and labels == sorted(labels)
    offered = {kind for value, _ in kind_choices() for kind in kinds_like(value)}
    assert offered == set(KNOWN_KINDS)
