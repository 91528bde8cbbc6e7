"""Issue 11 part 1, the pseudo-SSO workflow exactly: the first sign-in confirmed by a one-time
password mirrors the profile, an email the provider does not mark verified never replaces the
registered one, the registration link the admin sets, and what /register offers under each policy."""

import json
from datetime import datetime

import pytest

from domain.audit import AuditKind
from domain.errors import InvalidForm
from domain.practitioners.profile import ProfileField as F
from domain.sso.mirror import ProfileMirror, ProviderProfile
from domain.sso.outcome import ConfirmLink
from domain.sso.pending import PendingLink
from domain.tenancy.login_policy import LoginPolicy, RegistrationOffer, registration_url_problem
from domain.tenancy.tenant import DEFAULT_CLAIM_MAPPINGS, ClaimMapping
from domain.tenancy.tenant import UnknownIdentityHandling as U, Workflow as W

REDIRECT = "https://acme.portal.test/process_sso"
ADDRESS = "192.0.2.10"
SIGNUP = "https://login.contoso.test/signup"


@pytest.fixture
def acme(world):
    """Acme with an enabled provider, in pseudo-SSO; Ann registered with her work email."""
    tenant, owner = world.open_tenant()
    provider = world.connect_provider(tenant)
    ann = world.practitioner(tenant, "ann@acme.test")
    tenant.auth = tenant.auth.but(workflow=W.PSEUDO_SSO)
    return tenant, provider, ann


def waiting_for_code(world, tenant, provider, **claims) -> PendingLink:
    """An unknown identity signs in: the callback ends at the one-time-password step."""
    world.signed_in_as("sub-ann", **claims)
    login, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT)
    outcome = world.sso.complete(tenant, login, {"state": login.state, "code": "c"}, REDIRECT)
    assert isinstance(outcome, ConfirmLink)
    return outcome.pending


def confirmed(world, tenant, pending: PendingLink):
    """The practitioner asks for the code by their registered email and types it in."""
    world.link_confirmation.request_code(tenant, pending, "ann@acme.test", ADDRESS)
    return world.link_confirmation.confirm(tenant, pending, world.token_source.issued[-2])


def through_the_session(pending: PendingLink) -> PendingLink:
    """As the browser session keeps it between two requests: JSON, on the server."""
    return PendingLink.from_dict(json.loads(json.dumps(pending.to_dict())))


def mirrored(world) -> list[str]:
    return [e.summary for e in world.audit.events if e.kind == AuditKind.PROFILE_MIRRORED]


# --- the first sign-in confirmed by a one-time password ----------------------------------


def test_the_first_sign_in_confirmed_by_code_mirrors_the_names_and_a_verified_email(world, acme):
    tenant, provider, ann = acme
    pending = waiting_for_code(
        world, tenant, provider, email="ann.smith@home.test", email_verified=True, given_name="Annie", family_name="Sm"
    )
    practitioner = confirmed(world, tenant, through_the_session(pending))
    assert practitioner is ann
    assert (ann.first_name, ann.last_name, ann.email, ann.email_proven) == ("Annie", "Sm", "ann.smith@home.test", True)
    assert mirrored(world) == ["ann.smith@home.test: first name, last name, email overwritten from the provider"]
    assert world.audit.kinds()[-2:] == [AuditKind.LINK_CONFIRMED, AuditKind.PROFILE_MIRRORED]


@pytest.mark.parametrize("verified", [False, "true", 1, None], ids=["false", "a string", "a number", "missing"])
def test_the_first_sign_in_keeps_the_registered_email_when_the_provider_does_not_mark_it_verified(
    world, acme, verified
):
    tenant, provider, ann = acme
    claims = dict(email="mallory@evil.test", given_name="Annie", family_name="Smith")
    if verified is not None:
        claims["email_verified"] = verified
    confirmed(world, tenant, waiting_for_code(world, tenant, provider, **claims))
    assert (ann.first_name, ann.email, ann.email_proven) == ("Annie", "ann@acme.test", True)
    assert mirrored(world) == [
        "ann@acme.test: email mallory@evil.test from the provider is not marked verified there; kept",
        "ann@acme.test: first name overwritten from the provider",
    ]


def test_the_standard_workflow_keeps_no_profile_and_mirrors_nothing_at_the_first_sign_in(world, acme):
    tenant, provider, ann = acme
    tenant.auth = tenant.auth.but(workflow=W.STANDARD)
    pending = waiting_for_code(world, tenant, provider, email="x@home.test", email_verified=True, given_name="Annie")
    assert pending.profile is None and pending.to_dict()["profile"] is None
    confirmed(world, tenant, pending)
    assert (ann.first_name, ann.email) == ("Ann", "ann@acme.test")
    assert mirrored(world) == []


def test_a_workflow_changed_while_the_code_is_typed_is_obeyed_at_confirmation(world, acme):
    tenant, provider, ann = acme
    pending = waiting_for_code(world, tenant, provider, email_verified=True, given_name="Annie", family_name="Smith")
    tenant.auth = tenant.auth.but(workflow=W.STANDARD)
    confirmed(world, tenant, pending)
    assert ann.first_name == "Ann" and mirrored(world) == []


def test_a_link_that_waited_without_a_profile_is_mirrored_at_the_next_sign_in_instead(world, acme):
    tenant, provider, ann = acme
    tenant.auth = tenant.auth.but(workflow=W.STANDARD)
    pending = waiting_for_code(world, tenant, provider, email="ann@acme.test", given_name="Annie", family_name="Smith")
    tenant.auth = tenant.auth.but(workflow=W.PSEUDO_SSO)
    confirmed(world, tenant, pending)
    assert ann.first_name == "Ann"
    waiting = world.sso.begin(tenant, provider.id, "/", REDIRECT)[0]
    world.sso.complete(tenant, waiting, {"state": waiting.state, "code": "c"}, REDIRECT)
    assert ann.first_name == "Annie"


def test_the_session_keeps_only_the_mapped_values_never_the_claims(world, acme):
    tenant, provider, _ = acme
    tenant.auth = tenant.auth.but(claim_mappings=DEFAULT_CLAIM_MAPPINGS + (ClaimMapping(F.JOB_TITLE, "jobTitle"),))
    pending = waiting_for_code(
        world,
        tenant,
        provider,
        email="Ann@Acme.test",
        email_verified=True,
        given_name="Annie",
        jobTitle="x" * 101,  # longer than a job title may be: left unset, not kept
        groups=["a" * 1000] * 50,
    )
    assert pending.to_dict()["profile"] == {
        "values": {"first_name": "Annie", "email": "ann@acme.test"},
        "email_verified": True,
    }
    assert through_the_session(pending) == pending


@pytest.mark.parametrize(
    "profile",
    [
        {"values": {"password": "x"}, "email_verified": True},
        {"values": {"first_name": 3}, "email_verified": True},
        {"values": ["first_name"], "email_verified": True},
        {"email_verified": True},
        7,
    ],
)
def test_a_profile_the_portal_did_not_write_is_refused_as_a_broken_session(profile):
    data = PendingLink("t", "p", "iss", "sub", "b", "/", datetime(2026, 1, 1)).to_dict()
    with pytest.raises((ValueError, TypeError, KeyError)):
        PendingLink.from_dict({**data, "profile": profile})


# --- the email: only what the provider marks verified -----------------------------------


def test_a_verified_email_claim_vouches_only_for_the_same_address_mapped_from_another_claim(world, acme):
    tenant, _, _ = acme
    upn = DEFAULT_CLAIM_MAPPINGS[:2] + (ClaimMapping(F.EMAIL, "upn"),)
    tenant.auth = tenant.auth.but(claim_mappings=upn)
    world.signed_in_as("sub-ann", email="ann@home.test", email_verified=True, upn="ann.s@acme.test")
    assert not ProviderProfile.of(tenant, world.idp.identity).email_verified
    world.signed_in_as("sub-ann", email="ANN.S@acme.test", email_verified=True, upn="ann.s@acme.test")
    assert ProviderProfile.of(tenant, world.idp.identity).email_verified


def test_later_sign_ins_never_take_an_unverified_email_either(world, acme):
    tenant, provider, ann = acme
    confirmed(world, tenant, waiting_for_code(world, tenant, provider, email_verified=True, given_name="Ann"))
    world.signed_in_as("sub-ann", email="ann.new@acme.test", email_verified=False, given_name="Ann", family_name="S")
    login, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT)
    world.sso.complete(tenant, login, {"state": login.state, "code": "c"}, REDIRECT)
    assert (ann.email, ann.last_name) == ("ann@acme.test", "S")
    assert "ann@acme.test: email ann.new@acme.test from the provider is not marked verified there; kept" in mirrored(
        world
    )


def test_an_unverified_email_of_another_practitioner_is_kept_out_as_unverified(world, acme):
    tenant, _, ann = acme
    world.practitioner(tenant, "bob@acme.test", password="")
    profile = ProviderProfile({F.EMAIL: "bob@acme.test"}, email_verified=False)
    world.build(ProfileMirror).mirror(tenant, ann, profile)
    assert ann.email == "ann@acme.test"
    assert mirrored(world) == [
        "ann@acme.test: email bob@acme.test from the provider is not marked verified there; kept"
    ]


# --- the registration link --------------------------------------------------------------


@pytest.mark.parametrize(
    "url, problem",
    [
        (SIGNUP, None),
        ("HTTPS://login.contoso.test/signup?tenant=acme#start", None),
        ("http://login.contoso.test/signup", "starts with https://"),
        ("javascript:alert(1)", "starts with https://"),
        ("https://", "starts with https://"),
        ("login.contoso.test/signup", "starts with https://"),
        ("https://[::1", "starts with https://"),
        ("https://" + "a" * 2000, "is longer than 2000 characters"),
        ("https://login.contoso.test/sign up", "has spaces or control characters"),
        ("https://login.contoso.test/\x1b[31m", "has spaces or control characters"),
        ("https://login.contoso.test/\u2028", "has spaces or control characters"),
        ("https://user:pw@login.contoso.test/", "user name or password"),
    ],
)
def test_the_registration_link_must_be_one_https_address(url, problem):
    found = registration_url_problem(url)
    assert (found is None) if problem is None else (problem in found)


def a_policy(tenant, registration_url: str) -> LoginPolicy:
    auth = tenant.auth
    return LoginPolicy(
        auth.workflow, auth.unknown_identity, auth.self_registration, auth.claim_mappings, registration_url
    )


def test_the_registration_link_is_saved_changed_removed_and_audited_as_a_settings_change(world, acme):
    tenant, _, _ = acme
    owner = world.onboarding.owner_of(tenant)
    assert world.login_policy.save(owner, tenant, a_policy(tenant, f"  {SIGNUP} ")) == [f"registration link {SIGNUP}"]
    assert tenant.auth.registration_url == SIGNUP
    assert world.audit.events[-1].kind == AuditKind.SETTINGS_CHANGED
    assert world.audit.events[-1].summary == f"login policy: registration link {SIGNUP}"
    assert world.audit.events[-1].actor_id == owner.id
    assert world.login_policy.save(owner, tenant, a_policy(tenant, SIGNUP)) == []
    assert world.login_policy.save(owner, tenant, a_policy(tenant, " ")) == ["registration link removed"]
    assert tenant.auth.registration_url is None


def test_a_bad_registration_link_is_refused_beside_its_field_and_nothing_is_saved(world, acme):
    tenant, _, _ = acme
    owner = world.onboarding.owner_of(tenant)
    before, events = tenant.auth, len(world.audit.events)
    with pytest.raises(InvalidForm) as refused:
        world.login_policy.save(owner, tenant, a_policy(tenant, "http://login.contoso.test/signup"))
    assert list(refused.value.errors) == ["registration_url"]
    assert tenant.auth == before and len(world.audit.events) == events


# --- what /register offers --------------------------------------------------------------


def offer(world, tenant) -> RegistrationOffer:
    return RegistrationOffer.of(tenant, world.sso.enabled_providers(tenant))


def test_pseudo_sso_offers_only_the_admins_link_and_is_closed_without_one(world, acme):
    tenant, _, _ = acme
    tenant.auth = tenant.auth.but(self_registration=True, unknown_identity=U.REGISTER)
    closed = offer(world, tenant)
    assert closed.closed_because is not None and "identity provider" in closed.closed_because
    assert (closed.form, closed.providers, closed.provider_page) == (False, (), None)
    tenant.auth = tenant.auth.but(registration_url=SIGNUP)
    assert offer(world, tenant) == RegistrationOffer(provider_page=SIGNUP)


@pytest.mark.parametrize("unknown", list(U))
def test_the_standard_workflow_offers_the_form_and_a_button_per_enabled_provider(world, acme, unknown):
    tenant, provider, _ = acme
    world.connect_provider(tenant, "Fabrikam", "https://login.fabrikam.test")
    tenant.auth = tenant.auth.but(workflow=W.STANDARD, self_registration=True, unknown_identity=unknown)
    found = offer(world, tenant)
    assert found.form and found.closed_because is None
    assert [p.settings.display_name for p in found.providers] == ["Contoso", "Fabrikam"]
    assert found.providers_register is (unknown is U.REGISTER)


def test_without_self_registration_the_standard_page_is_closed_even_with_providers(world, acme):
    tenant, _, _ = acme
    tenant.auth = tenant.auth.but(workflow=W.STANDARD, unknown_identity=U.REGISTER, registration_url=SIGNUP)
    assert "does not take registrations" in offer(world, tenant).closed_because


@pytest.mark.parametrize("unknown, open_", [(U.REGISTER, True), (U.LINK_VERIFIED_EMAIL, False)])
def test_restricted_to_sso_the_page_offers_the_providers_only_where_they_register_newcomers(
    world, acme, unknown, open_
):
    tenant, _, _ = acme
    tenant.auth = tenant.auth.but(
        workflow=W.STANDARD, restrict_to_sso=True, self_registration=True, unknown_identity=unknown
    )
    found = offer(world, tenant)
    assert (found.closed_because is None) is open_
    assert not found.form
