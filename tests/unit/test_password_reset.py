import pytest

from domain.errors import InvalidResetToken, InvalidValue, LoginFailed, NotAllowed

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"


def last_token(world) -> str:
    return world.token_source.issued[-1]


def test_reset_link_is_mailed_to_the_registered_email(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    world.password_reset.request_link(tenant, "ANN@acme.test")
    (mail,) = world.mailer.sent
    assert mail.to == "ann@acme.test"
    assert last_token(world) in mail.text and last_token(world) in mail.html
    assert "expires in 1 hour" in mail.text


def test_unknown_email_gets_no_mail_and_no_error(world):
    tenant, _ = world.open_tenant()
    world.password_reset.request_link(tenant, "nobody@acme.test")
    assert world.mailer.sent == []


def test_reset_token_is_stored_only_as_a_digest(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    world.password_reset.request_link(tenant, "ann@acme.test")
    (stored,) = world.reset_tokens.tokens
    assert last_token(world) not in stored.token_digest


def test_reset_link_sets_a_new_password_once(world):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    world.password_reset.request_link(tenant, "ann@acme.test")
    token = last_token(world)
    world.password_reset.complete(tenant, token, NEW_PASSWORD)
    assert world.login.log_in(tenant, "ann@acme.test", NEW_PASSWORD, "10.0.0.1") is ann
    with pytest.raises(LoginFailed):
        world.login.log_in(tenant, "ann@acme.test", PASSWORD, "10.0.0.1")
    with pytest.raises(InvalidResetToken):
        world.password_reset.complete(tenant, token, "yet another passphrase")


def test_completing_a_reset_ends_the_practitioners_other_sessions(world):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    other = world.sessions.open_session(tenant.id, ann.id)
    world.password_reset.request_link(tenant, "ann@acme.test")
    world.password_reset.complete(tenant, last_token(world), NEW_PASSWORD)
    assert not world.sessions.is_open(other)


def test_reset_link_expires_after_an_hour(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    world.password_reset.request_link(tenant, "ann@acme.test")
    world.clock.advance(minutes=61)
    with pytest.raises(InvalidResetToken):
        world.password_reset.complete(tenant, last_token(world), NEW_PASSWORD)


def test_a_newer_link_supersedes_the_older_one(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    world.password_reset.request_link(tenant, "ann@acme.test")
    first = last_token(world)
    world.password_reset.request_link(tenant, "ann@acme.test")
    with pytest.raises(InvalidResetToken):
        world.password_reset.open_link(tenant, first)
    world.password_reset.open_link(tenant, last_token(world))


def test_reset_link_of_one_tenant_is_invalid_on_another(world):
    acme, _ = world.open_tenant("acme")
    beta, _ = world.open_tenant("beta")
    world.practitioner(acme)
    world.password_reset.request_link(acme, "ann@acme.test")
    with pytest.raises(InvalidResetToken):
        world.password_reset.complete(beta, last_token(world), NEW_PASSWORD)


def test_short_new_password_is_refused_and_the_link_stays_usable(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    world.password_reset.request_link(tenant, "ann@acme.test")
    with pytest.raises(InvalidValue):
        world.password_reset.complete(tenant, last_token(world), "short")
    world.password_reset.open_link(tenant, last_token(world))


def test_reset_mails_per_account_are_limited(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    for _ in range(10):
        world.password_reset.request_link(tenant, "ann@acme.test")
    assert len(world.mailer.sent) == 3


def test_restrict_to_sso_refuses_password_reset(world):
    tenant, _ = world.open_tenant()
    world.practitioner(tenant)
    tenant.auth = tenant.auth.but(restrict_to_sso=True)
    with pytest.raises(NotAllowed):
        world.password_reset.request_link(tenant, "ann@acme.test")
    assert world.mailer.sent == []


def test_deactivated_practitioner_gets_no_reset_link(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    world.directory.deactivate(owner, tenant, ann.id)
    world.password_reset.request_link(tenant, "ann@acme.test")
    assert world.mailer.sent == []


def test_provisioned_practitioner_gets_a_set_password_invitation_valid_three_days(world):
    tenant, owner = world.open_tenant()
    ann = world.directory.add(owner, tenant, "ann@acme.test", "Ann", "S", send_password_link=True)
    (mail,) = world.mailer.sent
    assert "An account has been created for you" in mail.text
    assert "expires in 3 days" in mail.text
    world.clock.advance(days=2)
    world.password_reset.complete(tenant, last_token(world), NEW_PASSWORD)
    assert world.login.log_in(tenant, "ann@acme.test", NEW_PASSWORD, "10.0.0.1") is ann
