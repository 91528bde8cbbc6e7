"""The callback on fakes: the pending login accepts it, the provider's answer gives the code,
SingleSignOn redeems it once and hands the verified sign-in on. Rules, not protocol bytes."""

from collections import Counter
from dataclasses import replace

import pytest

from domain.audit import AuditKind
from domain.errors import (
    AccountDeactivated,
    IdentityRejected,
    NotAllowed,
    ProviderUnavailable,
    SsoRefused,
    UnknownProvider,
)
from domain.sso.admission import AccountLinking
from domain.sso.identity import IdentityLink
from domain.sso.matching import RegisterNew
from domain.sso.outcome import AlreadyLinked, ConfirmLink, LoggedIn, VerifiedSignIn
from domain.sso.pending import ProviderAnswer, pkce_challenge
from domain.sso.redemption import CodeRedemption
from domain.practitioners.profile import ProfileField
from domain.tenancy.tenant import DEFAULT_CLAIM_MAPPINGS, ClaimMapping, UnknownIdentityHandling, Workflow
from tests.unit.conftest import provider_settings

REDIRECT = "https://acme.portal.test/process_sso"


@pytest.fixture
def acme(world):
    tenant, owner = world.open_tenant()
    provider = world.connect_provider(tenant)
    return tenant, owner, provider


def start(world, tenant, provider, next_path="/", linking_practitioner=None):
    return world.sso.begin(tenant, provider.id, next_path, REDIRECT, linking_practitioner)


def callback(pending, **params):
    return {"state": pending.state, "code": "the-code", **params}


def link(world, tenant, practitioner, provider, subject="sub-ann", issuer="https://login.contoso.test"):
    world.links.add(IdentityLink(tenant.id, practitioner.id, provider.id, issuer, subject, world.clock.now()))


def counting(monkeypatch, repository, *methods: str) -> Counter:
    """How often each of the repository's methods is called from now on."""
    calls: Counter = Counter()
    for name in methods:

        def counted(*args, _name=name, _method=getattr(repository, name), **kwargs):
            calls[_name] += 1
            return _method(*args, **kwargs)

        monkeypatch.setattr(repository, name, counted)
    return calls


def test_begin_sends_fresh_state_nonce_and_an_s256_pkce_challenge(world, acme):
    tenant, _, provider = acme
    first, url = start(world, tenant, provider)
    second, _ = start(world, tenant, provider)
    assert first.state != second.state and first.nonce != second.nonce
    assert f"code_challenge={pkce_challenge(first.code_verifier)}" in url
    assert first.code_verifier not in url


# The pending login accepts or refuses a callback.


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: {"state": "forged", "code": "c"},
        lambda p: {"code": "c"},
        lambda p: {"state": p.state + "x", "code": "c"},
    ],
    ids=["forged state", "missing state", "altered state"],
)
def test_a_callback_whose_state_is_not_ours_is_refused(world, acme, tamper):
    tenant, _, provider = acme
    pending, _ = start(world, tenant, provider)
    with pytest.raises(SsoRefused, match="not started in this browser"):
        pending.accept(tamper(pending), tenant.id, world.clock.now())


def test_a_login_started_on_another_tenant_is_refused(world, acme):
    tenant, _, provider = acme
    beta, _ = world.open_tenant("beta")
    pending, _ = start(world, tenant, provider)
    with pytest.raises(SsoRefused, match="not started in this browser"):
        pending.accept(callback(pending), beta.id, world.clock.now())


def test_a_login_started_ten_minutes_ago_has_expired(world, acme):
    tenant, _, provider = acme
    pending, _ = start(world, tenant, provider)
    world.clock.advance(minutes=9, seconds=59)
    assert pending.accept(callback(pending), tenant.id, world.clock.now()).code_for(provider) == "the-code"
    world.clock.advance(seconds=1)
    with pytest.raises(SsoRefused, match="expired"):
        pending.accept(callback(pending), tenant.id, world.clock.now())


# The provider's answer, checked against the provider the login went to.


def test_the_providers_error_answer_is_shown_in_words(world, acme):
    _, _, provider = acme
    answer = ProviderAnswer({"error": "access_denied", "error_description": "user cancelled", "code": "c"})
    with pytest.raises(SsoRefused, match="Contoso did not sign you in: user cancelled"):
        answer.code_for(provider)
    with pytest.raises(SsoRefused, match="Contoso did not sign you in: access_denied"):
        ProviderAnswer({"error": "access_denied"}).code_for(provider)


def test_an_iss_parameter_naming_another_issuer_is_refused(world, acme):
    _, _, provider = acme
    with pytest.raises(SsoRefused, match="another identity provider"):
        ProviderAnswer({"code": "c", "iss": "https://evil.test"}).code_for(provider)
    assert ProviderAnswer({"code": "c", "iss": provider.settings.issuer}).code_for(provider) == "c"


def test_an_answer_without_a_code_is_refused(world, acme):
    _, _, provider = acme
    with pytest.raises(SsoRefused, match="Contoso sent no authorization code"):
        ProviderAnswer({"state": "s", "code": ""}).code_for(provider)


# SingleSignOn: the callback from the browser to a verified sign-in, refusals audited.


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
    assert redeemed == CodeRedemption("the-code", "s3cret", pending.code_verifier, REDIRECT, pending.nonce)


@pytest.mark.parametrize(
    "answer",
    [
        lambda p: {"state": "forged", "code": "c"},
        lambda p: {"state": p.state, "error": "access_denied"},
        lambda p: {"state": p.state, "code": "c", "iss": "https://evil.test"},
    ],
    ids=["not our state", "an error answer", "another issuer"],
)
def test_a_refused_callback_redeems_no_code_and_is_audited(world, acme, answer):
    tenant, _, provider = acme
    pending, _ = start(world, tenant, provider)
    with pytest.raises(SsoRefused) as refused:
        world.sso.complete(tenant, pending, answer(pending), REDIRECT)
    assert world.idp.redeemed == []
    assert world.audit.events[-1].kind == AuditKind.SSO_LOGIN_FAILED
    assert world.audit.events[-1].summary == f"Single Sign On refused: {refused.value}"


def test_a_callback_without_a_login_in_progress_is_refused(world, acme):
    tenant, _, provider = acme
    with pytest.raises(SsoRefused, match="not started in this browser"):
        world.sso.complete(tenant, None, {"state": "s", "code": "c"}, REDIRECT)
    assert world.audit.kinds()[-1] == AuditKind.SSO_LOGIN_FAILED


def test_an_expired_login_is_refused_before_its_provider_is_looked_up(world, acme):
    tenant, _, provider = acme
    pending, _ = start(world, tenant, provider)
    provider.disable()
    world.clock.advance(minutes=10)
    with pytest.raises(SsoRefused, match="expired"):
        world.sso.complete(tenant, pending, callback(pending), REDIRECT)


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


@pytest.mark.parametrize(
    "failure", [IdentityRejected("bad signature"), ProviderUnavailable("the token endpoint answered HTTP 500")]
)
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
    provider.disable()
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


def test_an_oauth2_provider_has_no_issuer_to_compare_an_iss_parameter_with(world):
    tenant, owner = world.open_tenant()
    settings = replace(provider_settings("Plain", "https://oauth.test"), protocol="oauth2", issuer="", jwks_uri="")
    provider = world.provider_admin.save(owner, tenant, None, settings, "s3cret", False)
    assert ProviderAnswer({"code": "c", "iss": "https://oauth.test"}).code_for(provider) == "c"
    world.signed_in_as("sub-x", issuer=f"oauth2:{provider.id}")
    pending, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT)
    outcome = world.sso.complete(tenant, pending, callback(pending, iss="https://oauth.test"), REDIRECT)
    assert isinstance(outcome, ConfirmLink)


# Linking from account settings (AccountLinking): the logged-in practitioner gets the code.


def test_linking_from_account_settings_mails_the_code_to_the_logged_in_practitioner(world, acme):
    tenant, _, provider = acme
    ann = world.practitioner(tenant, "ann@acme.test")
    world.signed_in_as("sub-ann", email="other@example.test")
    pending, _ = start(world, tenant, provider, "/account/linked", linking_practitioner=ann)
    outcome = world.sso.complete(tenant, pending, callback(pending), REDIRECT)
    assert isinstance(outcome, ConfirmLink) and outcome.code_sent
    assert outcome.pending.practitioner_id == ann.id
    assert [m.to for m in world.mailer.sent] == ["ann@acme.test"]


def verified(world, tenant, provider, pending) -> VerifiedSignIn:
    return VerifiedSignIn(tenant, provider, pending, world.idp.identity)


def test_linking_an_identity_already_linked_to_someone_else_is_refused(world, acme):
    tenant, owner, provider = acme
    ann = world.practitioner(tenant, "ann@acme.test")
    link(world, tenant, owner, provider, subject="sub-shared")
    world.signed_in_as("sub-shared")
    pending, _ = start(world, tenant, provider, linking_practitioner=ann)
    with pytest.raises(SsoRefused, match="another practitioner"):
        world.build(AccountLinking).handle(verified(world, tenant, provider, pending), ann.id)


def test_linking_an_identity_already_linked_to_oneself_says_so(world, acme):
    tenant, _, provider = acme
    ann = world.practitioner(tenant, "ann@acme.test")
    link(world, tenant, ann, provider)
    world.signed_in_as("sub-ann")
    pending, _ = start(world, tenant, provider, linking_practitioner=ann)
    assert world.build(AccountLinking).handle(verified(world, tenant, provider, pending), ann.id) == AlreadyLinked(ann)
    assert world.mailer.sent == []


def test_linking_for_a_practitioner_deactivated_during_the_round_trip_is_refused(world, acme):
    tenant, owner, provider = acme
    ann = world.practitioner(tenant, "ann@acme.test")
    world.signed_in_as("sub-ann")
    pending, _ = start(world, tenant, provider, linking_practitioner=ann)
    world.directory.deactivate(owner, tenant, ann.id)
    with pytest.raises(AccountDeactivated):
        world.build(AccountLinking).handle(verified(world, tenant, provider, pending), ann.id)


def test_linking_from_account_settings_is_refused_under_pseudo_sso(world, acme):
    tenant, _, provider = acme
    ann = world.practitioner(tenant, "ann@acme.test")
    pending, _ = start(world, tenant, provider, linking_practitioner=ann)
    tenant.auth = tenant.auth.but(workflow=Workflow.PSEUDO_SSO)
    world.signed_in_as("sub-ann")
    with pytest.raises(NotAllowed):
        world.sso.complete(tenant, pending, callback(pending), REDIRECT)
    with pytest.raises(NotAllowed):
        start(world, tenant, provider, linking_practitioner=ann)
    assert world.links.links == [] and world.mailer.sent == []


# Each thing is looked up once per callback.


def test_linking_from_account_settings_reads_the_provider_and_the_link_once(world, acme, monkeypatch):
    tenant, _, provider = acme
    ann = world.practitioner(tenant, "ann@acme.test")
    world.signed_in_as("sub-ann")
    pending, _ = start(world, tenant, provider, linking_practitioner=ann)
    provider_reads = counting(monkeypatch, world.providers, "get")
    link_reads = counting(monkeypatch, world.links, "find", "of_practitioner")
    assert isinstance(world.sso.complete(tenant, pending, callback(pending), REDIRECT), ConfirmLink)
    assert provider_reads == {"get": 1} and link_reads == {"find": 1}


@pytest.mark.parametrize("proven", [False, True], ids=["unproven: taken over", "proven"])
def test_linking_by_verified_email_reads_the_link_and_the_practitioners_links_once(world, acme, monkeypatch, proven):
    tenant, _, provider = acme
    ann = world.practitioner(tenant)
    ann.email_proven = proven
    tenant.auth = tenant.auth.but(unknown_identity=UnknownIdentityHandling.LINK_VERIFIED_EMAIL)
    world.signed_in_as("sub-ann", email="ann@acme.test", email_verified=True)
    pending, _ = start(world, tenant, provider)
    provider_reads = counting(monkeypatch, world.providers, "get")
    link_reads = counting(monkeypatch, world.links, "find", "of_practitioner")
    assert world.sso.complete(tenant, pending, callback(pending), REDIRECT) == LoggedIn(ann, "/")
    assert provider_reads == {"get": 1} and link_reads == {"find": 1, "of_practitioner": 1}


def test_registering_at_first_sign_in_reads_the_link_once_and_the_email_once(world, acme, monkeypatch):
    tenant, _, provider = acme
    tenant.auth = tenant.auth.but(unknown_identity=UnknownIdentityHandling.REGISTER)
    world.signed_in_as("sub-nia", email="nia@acme.test", email_verified=True, given_name="Nia", family_name="Neu")
    email_reads = counting(monkeypatch, world.practitioners, "get_by_email")
    assert isinstance(world.matcher.match(tenant, provider, world.idp.identity), RegisterNew)
    assert email_reads == {"get_by_email": 1}  # the token's email is the one registration maps
    pending, _ = start(world, tenant, provider)
    link_reads = counting(monkeypatch, world.links, "find", "of_practitioner")
    assert isinstance(world.sso.complete(tenant, pending, callback(pending), REDIRECT), LoggedIn)
    assert link_reads == {"find": 1}  # a new practitioner holds no links to replace


@pytest.mark.parametrize(
    ("email_claim", "proven"), [("nia@acme.test", True), ("nia@home.test", False)], ids=["same address", "another"]
)
def test_registering_at_first_sign_in_proves_the_email_only_when_the_provider_vouches_for_that_address(
    world, acme, email_claim, proven
):
    tenant, _, provider = acme
    upn = DEFAULT_CLAIM_MAPPINGS[:2] + (ClaimMapping(ProfileField.EMAIL, "upn"),)
    tenant.auth = tenant.auth.but(unknown_identity=UnknownIdentityHandling.REGISTER, claim_mappings=upn)
    world.signed_in_as(
        "sub-nia", email=email_claim, email_verified=True, upn="nia@acme.test", given_name="Nia", family_name="Neu"
    )
    pending, _ = start(world, tenant, provider)
    outcome = world.sso.complete(tenant, pending, callback(pending), REDIRECT)
    assert isinstance(outcome, LoggedIn) and outcome.practitioner.email == "nia@acme.test"
    assert outcome.practitioner.email_proven is proven
