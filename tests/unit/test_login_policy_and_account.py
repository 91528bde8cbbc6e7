"""LoginPolicyAdministration, AccountSettings, provider management and SelfRegistration."""

import pytest

from domain.errors import InvalidForm, InvalidValue, NotAllowed, UnknownLink
from domain.tenancy.login_policy import LoginPolicy
from domain.tenancy.tenant import ClaimMapping, DEFAULT_CLAIM_MAPPINGS
from domain.tenancy.policy import TenantAuthPolicy
from domain.audit import AuditKind
from domain.sso.identity import IdentityLink
from domain.practitioners.practitioner import LoginMethod
from domain.practitioners.profile import ProfileField as F
from domain.tenancy.tenant import UnknownIdentityHandling as U, Workflow as W
from tests.unit.conftest import provider_settings


def a_policy(workflow=W.STANDARD, unknown=U.CONFIRM_BY_OTP, self_registration=False, mappings=DEFAULT_CLAIM_MAPPINGS):
    return LoginPolicy(workflow, unknown, self_registration, mappings)


@pytest.fixture
def acme(world):
    return world.open_tenant()


def test_saving_the_policy_changes_the_tenant_and_is_audited(world, acme):
    tenant, owner = acme
    world.connect_provider(tenant)
    changed = world.login_policy.save(owner, tenant, a_policy(W.PSEUDO_SSO, U.REGISTER, True))
    assert changed == ["workflow pseudo_sso", "unknown identities register", "self-registration on"]
    assert TenantAuthPolicy.of(tenant).is_pseudo_sso and TenantAuthPolicy.of(tenant).jit_registration_allowed
    assert "login policy: workflow pseudo_sso" in world.audit.events[-1].summary


def test_pseudo_sso_without_an_enabled_provider_is_refused(world, acme):
    tenant, owner = acme
    with pytest.raises(InvalidForm) as err:
        world.login_policy.save(owner, tenant, a_policy(W.PSEUDO_SSO))
    assert "workflow" in err.value.errors
    assert not TenantAuthPolicy.of(tenant).is_pseudo_sso


def test_invalid_mappings_are_refused_and_nothing_changes(world, acme):
    tenant, owner = acme
    bad = DEFAULT_CLAIM_MAPPINGS + (ClaimMapping(F.PHONE, "no spaces allowed"),)
    with pytest.raises(InvalidForm):
        world.login_policy.save(owner, tenant, a_policy(unknown=U.REGISTER, mappings=bad))
    assert tenant.auth.unknown_identity is U.CONFIRM_BY_OTP and tenant.auth.claim_mappings == DEFAULT_CLAIM_MAPPINGS


def test_mappings_can_be_previewed_against_sample_claims(world):
    mappings = DEFAULT_CLAIM_MAPPINGS + (ClaimMapping(F.SALUTATION, "salutation", (("Herr", "male"),)),)
    preview = world.login_policy.preview(mappings, '{"given_name": "Bo", "salutation": "Herr", "email": "x"}')
    assert preview == {F.FIRST_NAME: "Bo", F.LAST_NAME: None, F.EMAIL: None, F.SALUTATION: "male"}
    with pytest.raises(InvalidForm):
        world.login_policy.preview(mappings, "not json")


def test_a_practitioner_edits_personal_data_in_the_standard_workflow(world, acme):
    tenant, _ = acme
    ann = world.practitioner(tenant)
    changed = world.account.update_profile(
        tenant, ann, {F.FIRST_NAME: " Annie ", F.PHONE: "+31 6 1", F.EMAIL: "evil@x.test"}
    )
    assert changed == [F.FIRST_NAME, F.PHONE]
    assert (ann.first_name, ann.phone, ann.email) == ("Annie", "+31 6 1", "ann@acme.test")
    with pytest.raises(InvalidValue):
        world.account.update_profile(tenant, ann, {F.LAST_NAME: " "})


def test_pseudo_sso_locks_personal_data_and_linked_accounts(world, acme):
    tenant, owner = acme
    world.connect_provider(tenant)
    ann = world.practitioner(tenant)
    world.login_policy.save(owner, tenant, a_policy(W.PSEUDO_SSO))
    with pytest.raises(NotAllowed):
        world.account.update_profile(tenant, ann, {F.FIRST_NAME: "Annie"})
    with pytest.raises(NotAllowed):
        world.account.linked_accounts(tenant, ann)
    assert ann.first_name == "Ann"


def link(world, tenant, practitioner, provider, subject):
    world.links.add(
        IdentityLink(tenant.id, practitioner.id, provider.id, provider.settings.issuer, subject, world.clock.now())
    )
    return world.links.links[-1]


def test_a_link_can_be_removed_when_a_password_still_logs_in(world, acme):
    tenant, _ = acme
    provider = world.connect_provider(tenant)
    ann = world.practitioner(tenant)
    only = link(world, tenant, ann, provider, "sub-ann")
    world.account.unlink(tenant, ann, only.id)
    assert world.links.links == [] and world.audit.kinds()[-1] == AuditKind.LINK_REMOVED


def test_the_last_way_to_log_in_is_never_unlinked(world, acme):
    tenant, owner = acme
    provider = world.connect_provider(tenant)
    ann = world.directory.add(owner, tenant, "ann@acme.test", "Ann", "Smith")  # no password
    only = link(world, tenant, ann, provider, "sub-ann")
    with pytest.raises(NotAllowed, match="last way to log in"):
        world.account.unlink(tenant, ann, only.id)
    second = world.connect_provider(tenant, "Okta", "https://okta.test")
    link(world, tenant, ann, second, "sub-okta")
    world.account.unlink(tenant, ann, only.id)


def test_a_password_does_not_count_as_a_way_in_under_restrict_to_sso(world, acme):
    tenant, _ = acme
    provider = world.connect_provider(tenant)
    ann = world.practitioner(tenant)
    only = link(world, tenant, ann, provider, "sub-ann")
    tenant.auth = tenant.auth.but(restrict_to_sso=True)
    with pytest.raises(NotAllowed):
        world.account.unlink(tenant, ann, only.id)


def test_another_practitioners_link_cannot_be_removed(world, acme):
    tenant, _ = acme
    provider = world.connect_provider(tenant)
    ann, bob = world.practitioner(tenant), world.practitioner(tenant, "bob@acme.test")
    bobs = link(world, tenant, bob, provider, "sub-bob")
    with pytest.raises(UnknownLink):
        world.account.unlink(tenant, ann, bobs.id)


def test_changing_issuer_or_client_id_needs_acknowledging_and_makes_links_confirm_again(world, acme):
    tenant, owner = acme
    provider = world.connect_provider(tenant)
    ann = world.practitioner(tenant)
    link(world, tenant, ann, provider, "sub-ann")
    with pytest.raises(InvalidForm) as err:
        world.provider_admin.save(owner, tenant, provider.id, provider_settings(client_id="other"), "", False)
    assert "acknowledge_relink" in err.value.errors and provider.settings.client_id == "portal-client"
    world.provider_admin.save(
        owner, tenant, provider.id, provider_settings(client_id="other"), "", False, acknowledge_relink=True
    )
    assert world.links.links[0].needs_reconfirmation
    assert "1 linked account must confirm again" in world.audit.events[-1].summary


def test_a_second_provider_can_be_added_disabled_and_removed_with_its_links(world, acme):
    tenant, owner = acme
    world.connect_provider(tenant)
    okta = world.connect_provider(tenant, "Okta", "https://okta.test")
    ann = world.practitioner(tenant)
    link(world, tenant, ann, okta, "sub-okta")
    assert [p.display_name for p in world.sso.enabled_providers(tenant)] == ["Contoso", "Okta"]
    world.provider_admin.set_enabled(owner, tenant, okta.id, False)
    assert [p.display_name for p in world.sso.enabled_providers(tenant)] == ["Contoso"]
    world.provider_admin.remove(owner, tenant, okta.id)
    assert world.providers.list(tenant.id) != [] and world.links.links == []


def test_the_only_way_in_under_restrict_to_sso_can_be_neither_disabled_nor_removed(world, acme):
    tenant, owner = acme
    provider = world.connect_provider(tenant)
    tenant.auth = tenant.auth.but(restrict_to_sso=True)
    with pytest.raises(InvalidForm):
        world.provider_admin.set_enabled(owner, tenant, provider.id, False)
    with pytest.raises(InvalidForm):
        world.provider_admin.remove(owner, tenant, provider.id)
    assert provider.settings.enabled and world.providers.list(tenant.id) == [provider]


def test_self_registration_creates_an_account_without_password_and_mails_a_link(world, acme):
    tenant, _ = acme
    tenant.auth = tenant.auth.but(self_registration=True)
    world.self_registration.register(tenant, "New@acme.test", "Nia", "Neu")
    nia = world.practitioners.get_by_email(tenant.id, "new@acme.test")
    assert not nia.has_usable_password and not nia.email_proven and not nia.rights
    assert [m.to for m in world.mailer.sent] == ["new@acme.test"]


def test_self_registration_with_a_taken_email_creates_nothing_and_mails_its_owner(world, acme):
    tenant, _ = acme
    tenant.auth = tenant.auth.but(self_registration=True)
    ann = world.practitioner(tenant)
    world.self_registration.register(tenant, "ann@acme.test", "Fake", "Ann")
    assert ann.first_name == "Ann" and [m.to for m in world.mailer.sent] == ["ann@acme.test"]


@pytest.mark.parametrize(
    "settings",
    [
        dict(self_registration=False),
        dict(self_registration=True, workflow=W.PSEUDO_SSO),
        dict(self_registration=True, restrict_to_sso=True),
    ],
)
def test_self_registration_is_refused_unless_the_policy_shows_it(world, acme, settings):
    tenant, _ = acme
    tenant.auth = tenant.auth.but(**settings)
    with pytest.raises(NotAllowed):
        world.self_registration.register(tenant, "new@acme.test", "Nia", "Neu")


def test_switching_to_pseudo_sso_ends_the_password_sessions(world, acme):
    tenant, owner = acme
    world.connect_provider(tenant)
    by_password = world.sessions.open_session(tenant.id, owner.id, LoginMethod.PASSWORD)
    by_sso = world.sessions.open_session(tenant.id, owner.id, LoginMethod.SSO)
    world.login_policy.save(owner, tenant, a_policy(unknown=U.REGISTER))
    assert world.sessions.is_open(by_password) and world.sessions.is_open(by_sso)
    world.login_policy.save(owner, tenant, a_policy(W.PSEUDO_SSO))
    assert not world.sessions.is_open(by_password) and world.sessions.is_open(by_sso)
