"""SingleSignOn and UserMatcher on fakes: the rules of the callback, not the protocol bytes."""

import pytest

from domain.errors import (
    AccountDeactivated,
    IdentityRejected,
    ProviderUnavailable,
    SsoRefused,
    UnknownProvider,
)
from domain.single_sign_on import AlreadyLinked, ConfirmLink, LoggedIn
from domain.sso import AuditKind, IdentityLink, pkce_challenge

REDIRECT = "https://acme.portal.test/process_sso"


@pytest.fixture
def acme(world):
    tenant, owner = world.open_tenant()
    provider = world.connect_provider(tenant)
    return tenant, owner, provider


def start(world, tenant, provider, next_path="/"):
    return world.sso.begin(tenant, provider.id, next_path, REDIRECT)


def callback(pending, **params):
    return {"state": pending.state, "code": "the-code", **params}


def link(world, tenant, practitioner, provider, subject="sub-ann", issuer="https://login.contoso.test"):
    world.links.add(IdentityLink(tenant.id, practitioner.id, provider.id, issuer, subject, world.clock.now()))


def test_begin_sends_fresh_state_nonce_and_an_s256_pkce_challenge(world, acme):
    tenant, _, provider = acme
    first, url = start(world, tenant, provider)
    second, _ = start(world, tenant, provider)
    assert first.state != second.state and first.nonce != second.nonce
    assert f"code_challenge={pkce_challenge(first.code_verifier)}" in url
    assert first.code_verifier not in url


def test_a_linked_identity_logs_its_practitioner_in(world, acme):
    tenant, _, provider = acme
    ann = world.practitioner(tenant)
    link(world, tenant, ann, provider)
    world.signed_in_as("sub-ann", email="someone-else@acme.test")
    pending, _ = start(world, tenant, provider, "/admin/practitioners")
    outcome = world.sso.complete(tenant, pending, callback(pending), REDIRECT)
    assert outcome == LoggedIn(ann, "/admin/practitioners")
    assert world.links.links[0].last_used_at == world.clock.now()
    assert world.audit.kinds()[-1] == AuditKind.SSO_LOGIN_SUCCEEDED


def test_the_code_is_redeemed_with_our_verifier_nonce_and_the_unsealed_secret(world, acme):
    tenant, _, provider = acme
    world.signed_in_as("sub-x")
    pending, _ = start(world, tenant, provider)
    world.sso.complete(tenant, pending, callback(pending), REDIRECT)
    (redeemed,) = world.idp.redeemed
    assert redeemed == dict(code="the-code", code_verifier=pending.code_verifier, client_secret="s3cret", nonce=pending.nonce)


def test_an_unknown_identity_goes_to_link_confirmation_even_when_the_email_matches(world, acme):
    tenant, _, provider = acme
    world.practitioner(tenant, "ann@acme.test")
    world.signed_in_as("sub-new", email="ann@acme.test", email_verified=True)
    pending, _ = start(world, tenant, provider, "/next")
    outcome = world.sso.complete(tenant, pending, callback(pending), REDIRECT)
    assert isinstance(outcome, ConfirmLink) and not outcome.code_sent
    assert (outcome.pending.subject, outcome.pending.next_path) == ("sub-new", "/next")
    assert world.mailer.sent == []


def test_the_same_subject_from_another_issuer_is_another_identity(world, acme):
    tenant, _, provider = acme
    ann = world.practitioner(tenant)
    link(world, tenant, ann, provider, issuer="https://other-issuer.test")
    world.signed_in_as("sub-ann")
    pending, _ = start(world, tenant, provider)
    assert isinstance(world.sso.complete(tenant, pending, callback(pending), REDIRECT), ConfirmLink)


def test_a_deactivated_practitioner_is_refused_with_a_clear_message(world, acme):
    tenant, owner, provider = acme
    ann = world.practitioner(tenant)
    link(world, tenant, ann, provider)
    world.directory.deactivate(owner, tenant, ann.id)
    world.signed_in_as("sub-ann")
    pending, _ = start(world, tenant, provider)
    with pytest.raises(AccountDeactivated):
        world.sso.complete(tenant, pending, callback(pending), REDIRECT)
    assert world.audit.kinds()[-1] == AuditKind.SSO_LOGIN_FAILED


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: {"state": "forged", "code": "c"},
        lambda p: {"code": "c"},
        lambda p: {"state": p.state + "x", "code": "c"},
    ],
    ids=["forged state", "missing state", "altered state"],
)
def test_a_callback_whose_state_is_not_ours_is_refused_before_the_code_is_redeemed(world, acme, tamper):
    tenant, _, provider = acme
    pending, _ = start(world, tenant, provider)
    with pytest.raises(SsoRefused):
        world.sso.complete(tenant, pending, tamper(pending), REDIRECT)
    assert world.idp.redeemed == []


def test_a_callback_without_a_login_in_progress_is_refused(world, acme):
    tenant, _, provider = acme
    with pytest.raises(SsoRefused):
        world.sso.complete(tenant, None, {"state": "s", "code": "c"}, REDIRECT)


def test_a_login_started_ten_minutes_ago_has_expired(world, acme):
    tenant, _, provider = acme
    pending, _ = start(world, tenant, provider)
    world.clock.advance(minutes=10)
    with pytest.raises(SsoRefused, match="expired"):
        world.sso.complete(tenant, pending, callback(pending), REDIRECT)


def test_a_login_started_on_another_tenant_is_refused(world, acme):
    tenant, _, provider = acme
    beta, _ = world.open_tenant("beta")
    pending, _ = start(world, tenant, provider)
    with pytest.raises(SsoRefused):
        world.sso.complete(beta, pending, callback(pending), REDIRECT)


def test_the_providers_error_answer_is_shown_in_words(world, acme):
    tenant, _, provider = acme
    pending, _ = start(world, tenant, provider)
    with pytest.raises(SsoRefused, match="Contoso did not sign you in: user cancelled"):
        world.sso.complete(tenant, pending, {"state": pending.state, "error": "access_denied", "error_description": "user cancelled"}, REDIRECT)
    assert world.idp.redeemed == []


def test_an_iss_parameter_naming_another_issuer_is_refused(world, acme):
    tenant, _, provider = acme
    world.signed_in_as("sub-x")
    pending, _ = start(world, tenant, provider)
    with pytest.raises(SsoRefused, match="another identity provider"):
        world.sso.complete(tenant, pending, callback(pending, iss="https://evil.test"), REDIRECT)
    pending, _ = start(world, tenant, provider)
    world.sso.complete(tenant, pending, callback(pending, iss=provider.issuer), REDIRECT)


@pytest.mark.parametrize("failure", [IdentityRejected("bad signature"), ProviderUnavailable("the token endpoint answered HTTP 500")])
def test_a_failing_provider_is_refused_and_audited_with_the_reason(world, acme, failure):
    tenant, _, provider = acme
    world.idp.failure = failure
    pending, _ = start(world, tenant, provider)
    with pytest.raises(type(failure)):
        world.sso.complete(tenant, pending, callback(pending), REDIRECT)
    assert str(failure) in world.audit.events[-1].summary


def test_a_disabled_provider_cannot_start_or_finish_a_login(world, acme):
    tenant, _, provider = acme
    pending, _ = start(world, tenant, provider)
    provider.enabled = False
    with pytest.raises(UnknownProvider):
        start(world, tenant, provider)
    with pytest.raises(UnknownProvider):
        world.sso.complete(tenant, pending, callback(pending), REDIRECT)
    assert world.sso.enabled_providers(tenant) == []


def test_another_tenants_provider_cannot_be_used(world, acme):
    _, _, provider = acme
    beta, _ = world.open_tenant("beta")
    with pytest.raises(UnknownProvider):
        world.sso.begin(beta, provider.id, "/", REDIRECT)


def test_linking_from_account_settings_mails_the_code_to_the_logged_in_practitioner(world, acme):
    tenant, _, provider = acme
    ann = world.practitioner(tenant, "ann@acme.test")
    world.signed_in_as("sub-ann", email="other@example.test")
    pending, _ = world.sso.begin(tenant, provider.id, "/account/linked", REDIRECT, linking_practitioner=ann)
    outcome = world.sso.complete(tenant, pending, callback(pending), REDIRECT)
    assert isinstance(outcome, ConfirmLink) and outcome.code_sent
    assert outcome.pending.practitioner_id == ann.id
    assert [m.to for m in world.mailer.sent] == ["ann@acme.test"]


def test_linking_an_identity_already_linked_to_someone_else_is_refused(world, acme):
    tenant, owner, provider = acme
    ann = world.practitioner(tenant, "ann@acme.test")
    link(world, tenant, owner, provider, subject="sub-shared")
    world.signed_in_as("sub-shared")
    pending, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT, linking_practitioner=ann)
    with pytest.raises(SsoRefused, match="another practitioner"):
        world.sso.complete(tenant, pending, callback(pending), REDIRECT)


def test_linking_an_identity_already_linked_to_oneself_says_so(world, acme):
    tenant, _, provider = acme
    ann = world.practitioner(tenant, "ann@acme.test")
    link(world, tenant, ann, provider)
    world.signed_in_as("sub-ann")
    pending, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT, linking_practitioner=ann)
    assert world.sso.complete(tenant, pending, callback(pending), REDIRECT) == AlreadyLinked(ann)


def test_linking_from_account_settings_is_refused_under_pseudo_sso(world, acme):
    from domain.errors import NotAllowed
    from domain.values import Workflow

    tenant, _, provider = acme
    ann = world.practitioner(tenant, "ann@acme.test")
    pending, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT, linking_practitioner=ann)
    tenant.auth = tenant.auth.but(workflow=Workflow.PSEUDO_SSO)
    world.signed_in_as("sub-ann")
    with pytest.raises(NotAllowed):
        world.sso.complete(tenant, pending, callback(pending), REDIRECT)
    with pytest.raises(NotAllowed):
        world.sso.begin(tenant, provider.id, "/", REDIRECT, linking_practitioner=ann)
    assert world.links.links == [] and world.mailer.sent == []


def test_an_oauth2_provider_has_no_issuer_to_compare_an_iss_parameter_with(world):
    from dataclasses import replace

    from tests.unit.conftest import provider_settings

    tenant, owner = world.open_tenant()
    settings = replace(provider_settings("Plain", "https://oauth.test"), protocol="oauth2", issuer="", jwks_uri="")
    provider = world.provider_admin.save(owner, tenant, None, settings, "s3cret", False)
    world.signed_in_as("sub-x", issuer=f"oauth2:{provider.id}")
    pending, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT)
    outcome = world.sso.complete(tenant, pending, callback(pending, iss="https://oauth.test"), REDIRECT)
    assert isinstance(outcome, ConfirmLink)
