import pytest

from domain.model import AuthSettings
from domain.policy import TenantAuthPolicy
from domain.values import UnknownIdentityHandling, Workflow


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
