import pytest

from domain.errors import AccountDeactivated, LoginFailed, LoginThrottled, NotAllowed
from domain.passwords.login import FAILED_LOGINS_PER_ACCOUNT, FAILED_LOGINS_PER_ADDRESS
from tests.fakes import FakePasswordHasher

PASSWORD = "correct horse battery"


def test_right_password_logs_the_practitioner_in(world):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    assert world.login.log_in(tenant, " ANN@acme.test", PASSWORD, "10.0.0.1") is ann


def test_wrong_password_and_unknown_email_fail_with_the_same_message(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    with pytest.raises(LoginFailed) as wrong_password:
        world.login.log_in(tenant, "ann@acme.test", "wrong", "10.0.0.1")
    with pytest.raises(LoginFailed) as unknown_email:
        world.login.log_in(tenant, "nobody@acme.test", PASSWORD, "10.0.0.1")
    assert str(wrong_password.value) == str(unknown_email.value) == "email or password is wrong"


def test_unknown_email_still_spends_the_time_of_a_password_check(world):
    tenant, _ = world.open_tenant()
    with pytest.raises(LoginFailed):
        world.login.log_in(tenant, "nobody@acme.test", PASSWORD, "10.0.0.1")
    assert world.hasher.dummy_verifications == 1


def test_account_without_password_cannot_log_in_with_one(world):
    tenant, owner = world.open_tenant()
    world.directory.add(owner, tenant, "sso@acme.test", "S", "O")
    with pytest.raises(LoginFailed):
        world.login.log_in(tenant, "sso@acme.test", "", "10.0.0.1")


def test_a_practitioner_of_another_tenant_cannot_log_in_here(world):
    acme, _ = world.open_tenant("acme")
    beta, _ = world.open_tenant("beta")
    world.practitioner(acme)
    with pytest.raises(LoginFailed):
        world.login.log_in(beta, "ann@acme.test", PASSWORD, "10.0.0.1")


def test_deactivated_practitioner_cannot_log_in(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    world.directory.deactivate(owner, tenant, ann.id)
    with pytest.raises(AccountDeactivated):
        world.login.log_in(tenant, "ann@acme.test", PASSWORD, "10.0.0.1")


def test_deactivation_is_revealed_only_to_someone_who_knows_the_password(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    world.directory.deactivate(owner, tenant, ann.id)
    with pytest.raises(LoginFailed):
        world.login.log_in(tenant, "ann@acme.test", "wrong", "10.0.0.1")


def test_restrict_to_sso_refuses_password_login_even_with_the_right_password(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    tenant.auth = tenant.auth.but(restrict_to_sso=True)
    with pytest.raises(NotAllowed):
        world.login.log_in(tenant, "ann@acme.test", PASSWORD, "10.0.0.1")


def test_account_is_throttled_after_too_many_failures_even_with_the_right_password(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    for i in range(FAILED_LOGINS_PER_ACCOUNT.max_uses):
        with pytest.raises(LoginFailed):
            world.login.log_in(tenant, "ann@acme.test", "wrong", f"10.0.0.{i}")
    with pytest.raises(LoginThrottled) as err:
        world.login.log_in(tenant, "ann@acme.test", PASSWORD, "10.0.1.1")
    assert "wait 15 minutes" in str(err.value)


def test_throttle_lifts_when_the_window_has_passed(world):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    for _ in range(FAILED_LOGINS_PER_ACCOUNT.max_uses):
        with pytest.raises(LoginFailed):
            world.login.log_in(tenant, "ann@acme.test", "wrong", "10.0.0.1")
    world.clock.advance(minutes=16)
    assert world.login.log_in(tenant, "ann@acme.test", PASSWORD, "10.0.0.1") is ann


def test_success_clears_the_accounts_failures(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    for _ in range(FAILED_LOGINS_PER_ACCOUNT.max_uses - 1):
        with pytest.raises(LoginFailed):
            world.login.log_in(tenant, "ann@acme.test", "wrong", "10.0.0.1")
    world.login.log_in(tenant, "ann@acme.test", PASSWORD, "10.0.0.1")
    with pytest.raises(LoginFailed):
        world.login.log_in(tenant, "ann@acme.test", "wrong", "10.0.0.1")
    world.login.log_in(tenant, "ann@acme.test", PASSWORD, "10.0.0.1")


def test_client_address_is_throttled_across_many_accounts(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    for i in range(FAILED_LOGINS_PER_ADDRESS.max_uses):
        with pytest.raises(LoginFailed):
            world.login.log_in(tenant, f"guess{i}@acme.test", "wrong", "203.0.113.9")
    with pytest.raises(LoginThrottled):
        world.login.log_in(tenant, "ann@acme.test", PASSWORD, "203.0.113.9")
    world.login.log_in(tenant, "ann@acme.test", PASSWORD, "198.51.100.7")


def test_logins_with_the_right_password_use_up_nothing_of_the_address(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    for i in range(FAILED_LOGINS_PER_ADDRESS.max_uses - 1):
        with pytest.raises(LoginFailed):
            world.login.log_in(tenant, f"guess{i}@acme.test", "wrong", "203.0.113.9")
    for _ in range(5):
        world.login.log_in(tenant, "ann@acme.test", PASSWORD, "203.0.113.9")
    with pytest.raises(LoginFailed):
        world.login.log_in(tenant, "last.guess@acme.test", "wrong", "203.0.113.9")
    with pytest.raises(LoginThrottled):
        world.login.log_in(tenant, "ann@acme.test", PASSWORD, "203.0.113.9")


def test_a_throttled_attempt_counts_against_no_limit(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    for i in range(FAILED_LOGINS_PER_ADDRESS.max_uses):
        with pytest.raises(LoginFailed):
            world.login.log_in(tenant, f"guess{i}@acme.test", "wrong", "203.0.113.9")
    for _ in range(20):
        with pytest.raises(LoginThrottled):
            world.login.log_in(tenant, "ann@acme.test", "wrong", "203.0.113.9")
    for _ in range(FAILED_LOGINS_PER_ACCOUNT.max_uses):
        with pytest.raises(LoginFailed):
            world.login.log_in(tenant, "ann@acme.test", "wrong", "198.51.100.7")
    with pytest.raises(LoginThrottled):
        world.login.log_in(tenant, "ann@acme.test", PASSWORD, "198.51.100.7")


def test_password_is_rehashed_at_login_when_the_hash_parameters_changed(world):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    world.hasher = FakePasswordHasher(version=2)
    world.login.log_in(tenant, "ann@acme.test", PASSWORD, "10.0.0.1")
    assert ann.password_hash.startswith("v2$")
