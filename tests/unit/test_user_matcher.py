"""UserMatcher, and the piece that handles each row of the matching order, in both workflows:
LinkedLogin, EmailLinking (with the pre-hijacking takeover), JitRegistration, ConfirmationStep;
ProfileMirror for pseudo-SSO. ``sign_in`` goes through SingleSignOn and Admission's dispatch."""

import pytest

from domain.errors import AccountDeactivated, SsoRefused
from domain.tenancy.tenant import ClaimMapping, DEFAULT_CLAIM_MAPPINGS
from domain.sso.admission import EmailLinking, JitRegistration
from domain.sso.matching import ConfirmByCode, LinkByVerifiedEmail, Linked, RegisterNew
from domain.sso.mirror import ProfileMirror, ProviderProfile
from domain.sso.outcome import ConfirmLink, LoggedIn, VerifiedSignIn
from domain.audit import AuditKind
from domain.sso.identity import IdentityLink
from domain.practitioners.profile import ProfileField as F
from domain.tenancy.tenant import UnknownIdentityHandling as U, Workflow as W

REDIRECT = "https://acme.portal.test/process_sso"
ANN = dict(email="ann@acme.test", email_verified=True, given_name="Ann", family_name="Smith")


@pytest.fixture
def acme(world):
    tenant, owner = world.open_tenant()
    provider = world.connect_provider(tenant)
    return tenant, provider


def policy(world, tenant, workflow=W.STANDARD, unknown=U.CONFIRM_BY_OTP, mappings=DEFAULT_CLAIM_MAPPINGS):
    tenant.auth = tenant.auth.but(workflow=workflow, unknown_identity=unknown, claim_mappings=mappings)


def sign_in(world, tenant, provider):
    pending, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT)
    return world.sso.complete(tenant, pending, {"state": pending.state, "code": "c"}, REDIRECT)


def match(world, tenant, provider):
    return world.matcher.match(tenant, provider, world.idp.identity)


def verified(world, tenant, provider) -> VerifiedSignIn:
    """A callback of the identity the provider will vouch for, past every check."""
    pending, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT)
    return VerifiedSignIn(tenant, provider, pending, world.idp.identity)


def mirror(world, tenant, practitioner):
    world.build(ProfileMirror).mirror(tenant, practitioner, ProviderProfile.of(tenant, world.idp.identity))


BOTH = pytest.mark.parametrize("workflow", list(W))


@BOTH
@pytest.mark.parametrize("unknown", list(U))
def test_1_a_linked_identity_logs_in_whatever_the_policy(world, acme, workflow, unknown):
    tenant, provider = acme
    ann = world.practitioner(tenant)
    world.links.add(
        IdentityLink(tenant.id, ann.id, provider.id, "https://login.contoso.test", "sub-ann", world.clock.now())
    )
    policy(world, tenant, workflow, unknown)
    world.signed_in_as("sub-ann", **ANN)
    assert isinstance(match(world, tenant, provider), Linked)


@BOTH
@pytest.mark.parametrize("unknown", [U.LINK_VERIFIED_EMAIL, U.REGISTER])
def test_2_a_verified_email_links_the_registered_practitioner_when_the_policy_allows(world, acme, workflow, unknown):
    tenant, provider = acme
    ann = world.practitioner(tenant)
    policy(world, tenant, workflow, unknown)
    world.signed_in_as("sub-ann", **ANN)
    assert match(world, tenant, provider) == LinkByVerifiedEmail(ann)
    outcome = sign_in(world, tenant, provider)
    assert outcome == LoggedIn(ann, "/")
    assert world.links.find(tenant.id, provider.id, "https://login.contoso.test", "sub-ann").practitioner_id == ann.id


@BOTH
@pytest.mark.parametrize("verified", [False, "true", 1, None])
def test_an_unverified_email_never_links_an_account(world, acme, workflow, verified):
    tenant, provider = acme
    world.practitioner(tenant)
    policy(world, tenant, workflow, U.LINK_VERIFIED_EMAIL)
    world.signed_in_as("sub-ann", **{**ANN, "email_verified": verified})
    assert isinstance(match(world, tenant, provider), ConfirmByCode)
    assert isinstance(sign_in(world, tenant, provider), ConfirmLink)
    assert world.links.links == []


@BOTH
def test_confirm_by_otp_never_links_by_email_even_when_verified(world, acme, workflow):
    tenant, provider = acme
    world.practitioner(tenant)
    policy(world, tenant, workflow, U.CONFIRM_BY_OTP)
    world.signed_in_as("sub-ann", **ANN)
    assert isinstance(match(world, tenant, provider), ConfirmByCode)


@BOTH
def test_3_registration_creates_a_practitioner_without_a_password_from_the_token(world, acme, workflow):
    tenant, provider = acme
    policy(world, tenant, workflow, U.REGISTER, DEFAULT_CLAIM_MAPPINGS + (ClaimMapping(F.JOB_TITLE, "title"),))
    world.signed_in_as(
        "sub-new", email="New@acme.test", email_verified=True, given_name="Nia", family_name="Neu", title="Therapist"
    )
    found = match(world, tenant, provider)
    assert isinstance(found, RegisterNew)
    outcome = world.build(JitRegistration).handle(verified(world, tenant, provider), found)
    assert isinstance(outcome, LoggedIn)
    nia = outcome.practitioner
    assert world.practitioners.get_by_email(tenant.id, "new@acme.test") is nia
    assert world.links.find(tenant.id, provider.id, "https://login.contoso.test", "sub-new").practitioner_id == nia.id
    assert (nia.email, nia.first_name, nia.last_name, nia.job_title) == ("new@acme.test", "Nia", "Neu", "Therapist")
    assert not nia.has_usable_password and nia.email_proven and not nia.is_owner and not nia.rights
    assert AuditKind.REGISTERED in world.audit.kinds()


@pytest.mark.parametrize("drop", ["email", "given_name", "family_name"])
def test_registration_refuses_a_token_without_email_or_names_and_creates_nothing(world, acme, drop):
    tenant, provider = acme
    policy(world, tenant, unknown=U.REGISTER)
    claims = {k: v for k, v in dict(email="new@acme.test", given_name="Nia", family_name="Neu").items() if k != drop}
    world.signed_in_as("sub-new", **claims)
    with pytest.raises(SsoRefused, match="ask your practice's administrator"):
        sign_in(world, tenant, provider)
    assert world.practitioners.get_by_email(tenant.id, "new@acme.test") is None


def test_registration_with_an_unverified_email_of_an_existing_account_goes_to_the_code(world, acme):
    tenant, provider = acme
    world.practitioner(tenant)
    policy(world, tenant, unknown=U.REGISTER)
    world.signed_in_as("sub-x", **{**ANN, "email_verified": False})
    assert isinstance(match(world, tenant, provider), ConfirmByCode)


@BOTH
def test_4_everything_else_goes_to_the_one_time_password(world, acme, workflow):
    tenant, provider = acme
    policy(world, tenant, workflow, U.LINK_VERIFIED_EMAIL)
    world.signed_in_as("sub-stranger", email="stranger@else.test", email_verified=True)
    assert isinstance(sign_in(world, tenant, provider), ConfirmLink)


def test_a_deactivated_practitioner_found_by_verified_email_is_refused(world, acme):
    tenant, provider = acme
    owner = world.onboarding.owner_of(tenant)
    ann = world.practitioner(tenant)
    world.directory.deactivate(owner, tenant, ann.id)
    policy(world, tenant, unknown=U.LINK_VERIFIED_EMAIL)
    world.signed_in_as("sub-ann", **ANN)
    with pytest.raises(AccountDeactivated):
        match(world, tenant, provider)


def test_linking_by_email_into_an_unproven_account_kills_its_password_and_sessions(world, acme):
    """Pre-hijacking: someone set up the account before its owner ever proved the email."""
    tenant, provider = acme
    ann = world.practitioner(tenant)  # created by an admin with a password: email never proven
    squatters = world.sessions.open_session(tenant.id, ann.id)
    policy(world, tenant, unknown=U.LINK_VERIFIED_EMAIL)
    world.signed_in_as("sub-ann", **ANN)
    world.build(EmailLinking).handle(verified(world, tenant, provider), LinkByVerifiedEmail(ann))
    assert not ann.has_usable_password and ann.email_proven
    assert not world.sessions.is_open(squatters)


def test_linking_by_email_into_a_proven_account_keeps_its_password(world, acme):
    tenant, provider = acme
    ann = world.practitioner(tenant)
    ann.email_proven = True
    anns = world.sessions.open_session(tenant.id, ann.id)
    policy(world, tenant, unknown=U.LINK_VERIFIED_EMAIL)
    world.signed_in_as("sub-ann", **ANN)
    world.build(EmailLinking).handle(verified(world, tenant, provider), LinkByVerifiedEmail(ann))
    assert ann.has_usable_password and world.sessions.is_open(anns)
    assert AuditKind.LINK_CONFIRMED in world.audit.kinds()


def test_a_link_waiting_for_reconfirmation_goes_through_the_code_again(world, acme):
    tenant, provider = acme
    ann = world.practitioner(tenant)
    world.links.add(
        IdentityLink(
            tenant.id,
            ann.id,
            provider.id,
            "https://login.contoso.test",
            "sub-ann",
            world.clock.now(),
            needs_reconfirmation=True,
        )
    )
    world.signed_in_as("sub-ann", **ANN)
    outcome = sign_in(world, tenant, provider)
    assert isinstance(outcome, ConfirmLink)
    world.link_confirmation.request_code(tenant, outcome.pending, "ann@acme.test", "192.0.2.10")
    world.link_confirmation.confirm(tenant, outcome.pending, world.token_source.issued[-2])
    (link,) = world.links.links
    assert not link.needs_reconfirmation
    assert isinstance(sign_in(world, tenant, provider), LoggedIn)


def test_pseudo_sso_overwrites_mapped_fields_at_every_login_and_audits_it(world, acme):
    tenant, provider = acme
    ann = world.practitioner(tenant)
    world.links.add(
        IdentityLink(tenant.id, ann.id, provider.id, "https://login.contoso.test", "sub-ann", world.clock.now())
    )
    policy(
        world,
        tenant,
        W.PSEUDO_SSO,
        mappings=DEFAULT_CLAIM_MAPPINGS + (ClaimMapping(F.SALUTATION, "salutation", (("Frau", "female"),)),),
    )
    world.signed_in_as(
        "sub-ann", email="ann@acme.test", given_name="Annette", family_name="Smith-Jones", salutation="Frau"
    )
    sign_in(world, tenant, provider)
    assert (ann.first_name, ann.last_name, ann.salutation) == ("Annette", "Smith-Jones", "female")
    assert world.audit.kinds().count(AuditKind.PROFILE_MIRRORED) == 1


def test_the_standard_workflow_fills_data_at_registration_only(world, acme):
    tenant, provider = acme
    ann = world.practitioner(tenant)
    world.links.add(
        IdentityLink(tenant.id, ann.id, provider.id, "https://login.contoso.test", "sub-ann", world.clock.now())
    )
    world.signed_in_as("sub-ann", email="ann@acme.test", given_name="Annette", family_name="Other")
    sign_in(world, tenant, provider)
    assert (ann.first_name, ann.last_name) == ("Ann", "Smith")


def test_pseudo_sso_keeps_the_email_when_the_tokens_email_belongs_to_someone_else(world, acme):
    tenant, provider = acme
    ann = world.practitioner(tenant)
    world.practitioner(tenant, "bob@acme.test")
    policy(world, tenant, W.PSEUDO_SSO)
    world.signed_in_as("sub-ann", email="bob@acme.test", email_verified=True, given_name="Ann", family_name="Smith")
    mirror(world, tenant, ann)
    assert ann.email == "ann@acme.test"
    assert world.audit.events[-1].summary == "ann@acme.test: email bob@acme.test from the provider is taken; kept"


def test_pseudo_sso_keeps_the_email_when_another_practitioner_holds_it_as_scim_user_name(world, acme):
    tenant, provider = acme
    ann = world.practitioner(tenant)
    world.practitioner(tenant, "kim.work@acme.test").user_name = "Kim@acme.test"
    policy(world, tenant, W.PSEUDO_SSO)
    world.signed_in_as("sub-ann", email="kim@acme.test", email_verified=True, given_name="Ann", family_name="Smith")
    mirror(world, tenant, ann)
    assert ann.email == "ann@acme.test"


def test_pseudo_sso_takes_a_free_verified_email_from_the_provider_as_proven(world, acme):
    tenant, _ = acme
    ann = world.practitioner(tenant)
    policy(world, tenant, W.PSEUDO_SSO)
    world.signed_in_as(
        "sub-ann", email="ann.smith@acme.test", email_verified=True, given_name="Ann", family_name="Smith"
    )
    mirror(world, tenant, ann)
    assert (ann.email, ann.email_proven) == ("ann.smith@acme.test", True)
    assert world.audit.events[-1].summary == "ann.smith@acme.test: email overwritten from the provider"


def test_pseudo_sso_audits_nothing_when_the_provider_changes_nothing(world, acme):
    tenant, _ = acme
    ann = world.practitioner(tenant)
    policy(world, tenant, W.PSEUDO_SSO)
    world.signed_in_as("sub-ann", email="ann@acme.test", given_name="Ann", family_name="Smith")
    mirror(world, tenant, ann)
    assert AuditKind.PROFILE_MIRRORED not in world.audit.kinds()


def test_taking_over_an_unproven_account_by_verified_email_ends_the_links_its_registrant_made(world):
    """Pre-hijacking with two providers: a JIT account registered from an UNVERIFIED email at provider A
    is taken over by the email's owner at provider B; A's link must not keep opening that account."""
    tenant, _ = world.open_tenant()
    lax = world.connect_provider(tenant, "Lax", "https://lax.test")
    strict = world.connect_provider(tenant, "Strict", "https://strict.test")
    policy(world, tenant, unknown=U.REGISTER)
    world.signed_in_as(
        "mallory",
        issuer="https://lax.test",
        email="vic@acme.test",
        email_verified=False,
        given_name="Vic",
        family_name="Tim",
    )
    squatted = sign_in(world, tenant, lax).practitioner
    assert not squatted.email_proven
    world.signed_in_as(
        "vic",
        issuer="https://strict.test",
        email="vic@acme.test",
        email_verified=True,
        given_name="Vic",
        family_name="Tim",
    )
    assert sign_in(world, tenant, strict) == LoggedIn(squatted, "/")  # linked by verified email
    world.signed_in_as(
        "mallory",
        issuer="https://lax.test",
        email="vic@acme.test",
        email_verified=False,
        given_name="Vic",
        family_name="Tim",
    )
    assert not isinstance(sign_in(world, tenant, lax), LoggedIn)
