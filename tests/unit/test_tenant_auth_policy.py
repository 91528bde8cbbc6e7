import pytest

from domain.errors import NotAllowed

from domain.tenancy.tenant import AuthSettings
from domain.tenancy.policy import TenantAuthPolicy
from domain.practitioners.practitioner import LoginMethod
from domain.tenancy.tenant import UnknownIdentityHandling, Workflow


def policy(**settings: object) -> TenantAuthPolicy:
    return TenantAuthPolicy(AuthSettings().but(**settings))


def test_default_policy_allows_password_login_and_reset():
    p = policy()
    assert p.password_login_allowed
    assert p.password_reset_allowed


def test_restrict_to_sso_closes_password_login_and_reset():
    p = policy(restrict_to_sso=True)
    assert not p.password_login_allowed
    assert not p.password_reset_allowed


def test_standard_workflow_lets_practitioners_edit_profile_and_see_linked_accounts():
    p = policy(workflow=Workflow.STANDARD)
    assert p.profile_editable
    assert p.linked_accounts_shown


def test_pseudo_sso_locks_profile_hides_linked_accounts_and_password_paths():
    p = policy(workflow=Workflow.PSEUDO_SSO)
    assert not p.profile_editable
    assert not p.linked_accounts_shown
    assert not p.password_login_allowed
    assert not p.password_reset_allowed


@pytest.mark.parametrize("workflow", list(Workflow))
def test_self_registration_is_shown_only_when_enabled_and_not_pseudo_sso(workflow):
    assert not policy(workflow=workflow).self_registration_shown
    shown = policy(workflow=workflow, self_registration=True).self_registration_shown
    assert shown is (workflow is Workflow.STANDARD)


@pytest.mark.parametrize("handling", list(UnknownIdentityHandling))
def test_jit_registration_is_allowed_only_by_the_register_handling(handling):
    p = policy(unknown_identity=handling)
    assert p.unknown_identity is handling
    assert p.jit_registration_allowed is (handling is UnknownIdentityHandling.REGISTER)


def test_default_unknown_identity_handling_is_confirmation_by_one_time_password():
    assert policy().unknown_identity is UnknownIdentityHandling.CONFIRM_BY_OTP


@pytest.mark.parametrize("restrict", [False, True])
@pytest.mark.parametrize("self_registration", [False, True])
@pytest.mark.parametrize("unknown", list(UnknownIdentityHandling))
@pytest.mark.parametrize("workflow", list(Workflow))
def test_every_policy_combination_answers_every_question_consistently(workflow, unknown, self_registration, restrict):
    p = policy(
        workflow=workflow, unknown_identity=unknown, self_registration=self_registration, restrict_to_sso=restrict
    )
    pseudo = workflow is Workflow.PSEUDO_SSO
    passwords = not restrict and not pseudo
    assert p.password_login_allowed is passwords
    assert p.password_reset_allowed is passwords
    assert p.profile_editable is (not pseudo)
    assert p.linked_accounts_shown is (not pseudo)
    assert p.self_registration_shown is (self_registration and not pseudo)
    assert p.self_registration_allowed is (self_registration and passwords)
    assert p.email_linking_allowed is (unknown is not UnknownIdentityHandling.CONFIRM_BY_OTP)
    assert p.jit_registration_allowed is (unknown is UnknownIdentityHandling.REGISTER)


@pytest.mark.parametrize(
    "settings, password_sessions_live",
    [
        ({}, True),
        ({"restrict_to_sso": True}, False),
        ({"workflow": Workflow.PSEUDO_SSO}, False),
        ({"workflow": Workflow.PSEUDO_SSO, "restrict_to_sso": True}, False),
    ],
)
def test_a_password_session_lives_only_while_password_login_is_open(settings, password_sessions_live):
    p = policy(**settings)
    assert p.allows_sessions_opened_by(LoginMethod.PASSWORD) is password_sessions_live
    assert p.allows_sessions_opened_by(LoginMethod.SSO)


def test_a_way_in_remains_with_an_enabled_provider_whatever_the_policy():
    for p in (policy(), policy(restrict_to_sso=True), policy(workflow=Workflow.PSEUDO_SSO)):
        assert p.leaves_a_way_in(enabled_providers=1, usable_password=False)


def test_a_password_is_a_way_in_only_where_the_policy_allows_password_login():
    assert policy().leaves_a_way_in(enabled_providers=0)
    assert not policy(restrict_to_sso=True).leaves_a_way_in(enabled_providers=0)
    assert not policy(workflow=Workflow.PSEUDO_SSO).leaves_a_way_in(enabled_providers=0)


def test_a_practitioner_without_a_usable_password_needs_a_linked_provider():
    assert not policy().leaves_a_way_in(enabled_providers=0, usable_password=False)


def test_linked_accounts_are_refused_under_pseudo_sso():
    policy().require_linked_accounts_shown()
    with pytest.raises(NotAllowed):
        policy(workflow=Workflow.PSEUDO_SSO).require_linked_accounts_shown()
