"""The owner's recovery link (domain.passwords.recovery), on the fakes."""

from __future__ import annotations

from typing import Any

import pytest

from domain.audit import AuditKind
from domain.errors import InvalidResetToken, InvalidValue, LoginFailed, LoginThrottled, NotAllowed
from domain.passwords.login import FAILED_LOGINS_PER_ACCOUNT
from domain.passwords.recovery import OwnerRecovery, RecoveryNotice
from domain.passwords.reset_token import PasswordResetToken, ResetPurpose
from domain.practitioners.practitioner import LoginMethod
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Workflow
from tests.unit.conftest import World

OWNER_PASSWORD = "owner-password-1"
NEW_PASSWORD = "a brand new passphrase"
ADDRESS = "192.0.2.7"


def recovery(world: World) -> OwnerRecovery:
    return world.build(OwnerRecovery)


def restricted(world: World, **settings: Any) -> Any:
    """Acme with Ann, its provider connected and login restricted to it (or another policy given)."""
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    world.connect_provider(tenant)
    tenant.auth = tenant.auth.but(**{"restrict_to_sso": True, **settings})
    return tenant


def sent_token(world: World) -> str:
    return world.token_source.issued[-1]


# --- the link -----------------------------------------------------------------------------


def test_the_link_is_mailed_to_the_owner_and_only_its_digest_is_kept(world):
    tenant = restricted(world)
    owner = recovery(world).send_link(tenant)
    mail = world.mailer.sent[-1]
    token = sent_token(world)
    assert mail.to == owner.email == "owner@acme.test"
    assert f"https://acme.portal.test/recover/{token}" in mail.text and token in mail.html
    assert "expires in 30 minutes" in mail.text
    (stored,) = [t for t in world.reset_tokens.tokens if t.purpose == ResetPurpose.RECOVERY]
    assert stored.practitioner_id == owner.id and token not in stored.token_digest


def test_the_link_lives_thirty_minutes(world):
    tenant = restricted(world)
    recovery(world).send_link(tenant)
    token = sent_token(world)
    world.clock.advance(minutes=29)
    assert recovery(world).open_link(tenant, token).owner.is_owner
    world.clock.advance(minutes=1)
    with pytest.raises(InvalidResetToken):
        recovery(world).open_link(tenant, token)
    with pytest.raises(InvalidResetToken):
        recovery(world).sign_in(tenant, token, OWNER_PASSWORD, ADDRESS)


def test_a_new_link_makes_the_owners_older_unused_link_unusable(world):
    tenant = restricted(world)
    recovery(world).send_link(tenant)
    older = sent_token(world)
    recovery(world).send_link(tenant)
    with pytest.raises(InvalidResetToken):
        recovery(world).open_link(tenant, older)
    assert recovery(world).open_link(tenant, sent_token(world))


def test_the_link_goes_to_the_owner_whoever_else_the_practice_has(world):
    tenant = restricted(world)
    assert recovery(world).send_link(tenant).is_owner
    assert [mail.to for mail in world.mailer.sent] == ["owner@acme.test"]


def test_sending_is_audited_with_no_practitioner_as_actor(world):
    tenant = restricted(world)
    recovery(world).send_link(tenant)
    (event,) = [e for e in world.audit.events if e.kind == AuditKind.RECOVERY_LINK_SENT]
    assert event.actor_id is None and event.subject_id == world.onboarding.owner_of(tenant).id
    assert "owner@acme.test" in event.summary and "operator" in event.summary


# --- using it -----------------------------------------------------------------------------


def test_the_owner_signs_in_once_with_their_password(world):
    tenant = restricted(world)
    recovery(world).send_link(tenant)
    token = sent_token(world)
    owner = recovery(world).sign_in(tenant, token, OWNER_PASSWORD, ADDRESS)
    assert owner.is_owner
    with pytest.raises(InvalidResetToken):
        recovery(world).sign_in(tenant, token, OWNER_PASSWORD, ADDRESS)
    (event,) = [e for e in world.audit.events if e.kind == AuditKind.RECOVERY_SIGNED_IN]
    assert event.actor_id == event.subject_id == owner.id


def test_a_wrong_password_is_refused_and_leaves_the_link_usable(world):
    tenant = restricted(world)
    recovery(world).send_link(tenant)
    token = sent_token(world)
    with pytest.raises(LoginFailed):
        recovery(world).sign_in(tenant, token, "not the password", ADDRESS)
    assert recovery(world).sign_in(tenant, token, OWNER_PASSWORD, ADDRESS).is_owner


def test_guesses_share_the_login_forms_throttle(world):
    tenant = restricted(world)
    recovery(world).send_link(tenant)
    token = sent_token(world)
    for _ in range(FAILED_LOGINS_PER_ACCOUNT.max_uses):
        with pytest.raises(LoginFailed):
            recovery(world).sign_in(tenant, token, "a wrong guess", ADDRESS)
    with pytest.raises(LoginThrottled):  # even the right password, as on the login form
        recovery(world).sign_in(tenant, token, OWNER_PASSWORD, "198.51.100.1")
    world.clock.advance(minutes=FAILED_LOGINS_PER_ACCOUNT.minutes)
    assert recovery(world).sign_in(tenant, token, OWNER_PASSWORD, ADDRESS).is_owner


def test_an_owner_without_a_password_chooses_one_with_the_link_and_is_signed_in(world):
    tenant = restricted(world, workflow=Workflow.PSEUDO_SSO)
    owner = world.onboarding.owner_of(tenant)
    owner.password_hash = None
    recovery(world).send_link(tenant)
    token = sent_token(world)
    assert recovery(world).open_link(tenant, token).needs_password
    with pytest.raises(InvalidValue):
        recovery(world).choose_password(tenant, token, "short")
    assert recovery(world).choose_password(tenant, token, NEW_PASSWORD) is owner
    assert world.hasher.verify(owner.password_hash or "", NEW_PASSWORD)
    with pytest.raises(InvalidResetToken):
        recovery(world).choose_password(tenant, token, "yet another passphrase")


def test_an_owners_existing_password_is_never_replaced_through_the_link(world):
    tenant = restricted(world)
    recovery(world).send_link(tenant)
    with pytest.raises(InvalidResetToken):
        recovery(world).choose_password(tenant, sent_token(world), NEW_PASSWORD)


def test_only_the_owner_can_be_the_subject_of_a_recovery_link(world):
    tenant = restricted(world)
    ann = world.practitioners.get_by_email(tenant.id, "ann@acme.test")
    assert ann is not None
    # A recovery record for anyone else (none is ever made) opens nothing.
    world.reset_tokens.add(PasswordResetToken.issue(ann, "anns-token", ResetPurpose.RECOVERY, world.clock.now()))
    with pytest.raises(InvalidResetToken):
        recovery(world).open_link(tenant, "anns-token")
    with pytest.raises(InvalidResetToken):
        recovery(world).sign_in(tenant, "anns-token", "correct horse battery", ADDRESS)


def test_a_password_link_opens_no_recovery_and_a_recovery_link_sets_no_password(world):
    tenant, owner = world.open_tenant()
    world.password_reset.request_link(tenant, owner.email)
    reset_token = sent_token(world)
    with pytest.raises(InvalidResetToken):
        recovery(world).sign_in(tenant, reset_token, OWNER_PASSWORD, ADDRESS)
    recovery(world).send_link(tenant)
    with pytest.raises(InvalidResetToken):
        world.password_reset.open_link(tenant, sent_token(world))
    with pytest.raises(InvalidResetToken):
        world.password_reset.complete(tenant, sent_token(world), NEW_PASSWORD)


def test_a_link_of_one_practice_opens_nothing_in_another(world):
    acme = restricted(world)
    other, _ = world.open_tenant("beta")
    recovery(world).send_link(acme)
    with pytest.raises(InvalidResetToken):
        recovery(world).open_link(other, sent_token(world))


# --- what it opens and what stays closed ----------------------------------------------------


@pytest.mark.parametrize("settings", [{"restrict_to_sso": True}, {"workflow": Workflow.PSEUDO_SSO}])
def test_the_recovery_session_outlives_the_policy_and_nothing_else_opens(world, settings):
    tenant, _ = world.open_tenant()
    tenant.auth = tenant.auth.but(**settings)
    policy = TenantAuthPolicy.of(tenant)
    assert policy.allows_sessions_opened_by(LoginMethod.RECOVERY)
    assert not policy.allows_sessions_opened_by(LoginMethod.PASSWORD)
    recovery(world).send_link(tenant)
    recovery(world).sign_in(tenant, sent_token(world), OWNER_PASSWORD, ADDRESS)
    with pytest.raises(NotAllowed):
        world.login.log_in(tenant, "owner@acme.test", OWNER_PASSWORD, ADDRESS)
    with pytest.raises(NotAllowed):
        world.password_reset.request_link(tenant, "owner@acme.test")


def test_a_policy_change_never_ends_a_recovery_session(world):
    tenant = restricted(world)
    session = world.sessions.open_session(tenant.id, world.onboarding.owner_of(tenant).id, LoginMethod.RECOVERY)
    TenantAuthPolicy.of(tenant).end_closed_sessions(tenant.id, world.sessions)
    assert world.sessions.is_open(session)


# --- the admin pages' notice ---------------------------------------------------------------


def test_the_notice_shows_an_open_link_then_its_use_for_seven_days(world):
    tenant = restricted(world)
    assert recovery(world).notice(tenant) is None
    recovery(world).send_link(tenant)
    open_until = world.clock.now() + ResetPurpose.LIFETIME[ResetPurpose.RECOVERY]
    assert recovery(world).notice(tenant) == RecoveryNotice(open_until=open_until)
    world.clock.advance(minutes=5)
    recovery(world).sign_in(tenant, sent_token(world), OWNER_PASSWORD, ADDRESS)
    used_at = world.clock.now()
    world.clock.advance(days=6, hours=23)
    (signed_in,) = [e for e in world.audit.events if e.kind == AuditKind.RECOVERY_SIGNED_IN]
    assert recovery(world).notice(tenant) == RecoveryNotice(None, used_at, signed_in.client_address)
    world.clock.advance(hours=1, seconds=1)
    assert recovery(world).notice(tenant) is None


def test_a_new_link_after_a_recovery_sign_in_is_shown_beside_it(world):
    tenant = restricted(world)
    recovery(world).send_link(tenant)
    recovery(world).sign_in(tenant, sent_token(world), OWNER_PASSWORD, ADDRESS)
    used_at = world.clock.now()
    world.clock.advance(days=1)
    recovery(world).send_link(tenant)
    notice = recovery(world).notice(tenant)
    assert notice is not None and notice.signed_in_at == used_at and notice.open_until is not None


def test_the_notice_ends_when_an_unused_link_expires(world):
    tenant = restricted(world)
    recovery(world).send_link(tenant)
    world.clock.advance(minutes=30)
    assert recovery(world).notice(tenant) is None


def test_the_notice_is_about_this_practice_only(world):
    acme = restricted(world)
    beta, _ = world.open_tenant("beta")
    recovery(world).send_link(acme)
    assert recovery(world).notice(beta) is None
