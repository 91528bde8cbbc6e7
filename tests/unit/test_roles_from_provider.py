"""Issue 11 part 5, roles from the provider, on the fakes: the policy says when roles apply, every
Single Sign On login sets a practitioner's module rights from the roles claim and audits each
change as the provider's doing, the owner is left alone, and the policy page refuses bad input."""

import json

import pytest

from domain.audit import AuditKind
from domain.errors import InvalidForm
from domain.practitioners.rights import ModuleRight as R
from domain.sso.identity import IdentityLink
from domain.sso.outcome import LoggedIn
from domain.sso.pending import PendingLink
from domain.tenancy.login_policy import LoginPolicy
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import DEFAULT_CLAIM_MAPPINGS, AuthSettings, RoleMapping, UnknownIdentityHandling as U
from domain.tenancy.tenant import Workflow as W

REDIRECT = "https://acme.portal.test/process_sso"
ISSUER = "https://login.contoso.test"
MAPPINGS = (RoleMapping("portal-admins", R.PRACTITIONERS), RoleMapping("it", R.AUTHENTICATION))


@pytest.fixture
def acme(world):
    """Acme with a provider, roles from its ``groups`` claim applied; Ann linked to it."""
    tenant, owner = world.open_tenant()
    provider = world.connect_provider(tenant)
    ann = world.practitioner(tenant, "ann@acme.test")
    world.links.add(IdentityLink(tenant.id, ann.id, provider.id, ISSUER, "sub-ann", world.clock.now()))
    tenant.auth = tenant.auth.but(roles_claim="groups", role_mappings=MAPPINGS, roles_from_provider=True)
    return tenant, owner, provider, ann


def sign_in(world, tenant, provider, subject="sub-ann", **claims):
    world.signed_in_as(subject, **claims)
    pending, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT)
    outcome = world.sso.complete(tenant, pending, {"state": pending.state, "code": "c"}, REDIRECT)
    assert isinstance(outcome, LoggedIn)
    return outcome.practitioner


def rights_events(world):
    return [
        (e.kind, e.summary, e.actor_id, e.subject_id)
        for e in world.audit.events
        if e.kind in (AuditKind.RIGHTS_GRANTED, AuditKind.RIGHTS_REVOKED)
    ]


# --- when roles apply ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, applied",
    [
        (AuthSettings(roles_claim="groups", role_mappings=MAPPINGS, roles_from_provider=True), True),
        (AuthSettings(roles_claim="groups", role_mappings=MAPPINGS), False),
        (AuthSettings(roles_claim="groups", role_mappings=MAPPINGS, workflow=W.PSEUDO_SSO), True),
        (AuthSettings(roles_claim="", role_mappings=MAPPINGS, workflow=W.PSEUDO_SSO), False),
        (AuthSettings(roles_claim="groups", roles_from_provider=True), False),
    ],
    ids=["switched on", "switched off", "pseudo-SSO without the switch", "no claim", "no mapping"],
)
def test_roles_apply_with_a_claim_and_a_mapping_when_switched_on_or_in_pseudo_sso(settings, applied):
    assert TenantAuthPolicy(settings).roles_applied is applied


# --- at every login ------------------------------------------------------------------------


def test_a_login_grants_the_mapped_rights_and_audits_them_as_the_providers_doing(world, acme):
    tenant, _, provider, ann = acme
    sign_in(world, tenant, provider, groups=["portal-admins", "it", "staff"])
    assert ann.rights == {R.PRACTITIONERS, R.AUTHENTICATION}
    assert rights_events(world) == [
        (
            AuditKind.RIGHTS_GRANTED,
            "ann@acme.test: Authentication and Practitioners rights granted by the roles from Contoso",
            None,
            ann.id,
        )
    ]


def test_a_later_login_revokes_a_right_the_roles_no_longer_give(world, acme):
    tenant, _, provider, ann = acme
    sign_in(world, tenant, provider, groups=["portal-admins", "it"])
    sign_in(world, tenant, provider, groups=["it"])
    assert ann.rights == {R.AUTHENTICATION}
    assert rights_events(world)[-1][:2] == (
        AuditKind.RIGHTS_REVOKED,
        "ann@acme.test: Practitioners right revoked by the roles from Contoso",
    )


def test_a_login_that_changes_no_right_records_no_rights_event(world, acme):
    tenant, _, provider, ann = acme
    sign_in(world, tenant, provider, groups=["it"])
    sign_in(world, tenant, provider, groups=["it", "staff"])
    assert len(rights_events(world)) == 1


@pytest.mark.parametrize(
    "claims, rights",
    [
        ({"groups": "it"}, {R.AUTHENTICATION}),
        ({"groups": ["it"]}, {R.AUTHENTICATION}),
        ({"groups": ["IT", "Portal-Admins"]}, set()),  # compared exactly, as the provider names them
        ({"groups": ["it", 7]}, set()),  # a list holding anything but text is no roles
        ({"groups": {"it": True}}, set()),
        ({"groups": 7}, set()),
        ({}, set()),
    ],
    ids=["a string", "a list", "unknown values", "a mixed list", "an object", "a number", "no claim"],
)
def test_the_claim_gives_rights_only_as_text_or_a_list_of_texts_that_the_mapping_names(world, acme, claims, rights):
    tenant, _, provider, ann = acme
    ann.rights = frozenset({R.PRACTITIONERS})
    sign_in(world, tenant, provider, **claims)
    assert ann.rights == rights


def test_a_dotted_claim_reads_a_nested_list(world, acme):
    tenant, _, provider, ann = acme
    tenant.auth = tenant.auth.but(roles_claim="realm_access.roles")
    sign_in(world, tenant, provider, realm_access={"roles": ["portal-admins"]})
    assert ann.rights == {R.PRACTITIONERS}


def test_roles_switched_off_leave_the_rights_an_admin_gave(world, acme):
    tenant, _, provider, ann = acme
    tenant.auth = tenant.auth.but(roles_from_provider=False)
    ann.rights = frozenset({R.PRACTITIONERS})
    sign_in(world, tenant, provider, groups=["it"])
    assert ann.rights == {R.PRACTITIONERS}
    assert rights_events(world) == []


def test_pseudo_sso_applies_the_roles_without_the_switch(world, acme):
    tenant, _, provider, ann = acme
    tenant.auth = tenant.auth.but(roles_from_provider=False, workflow=W.PSEUDO_SSO)
    sign_in(world, tenant, provider, groups="it", email="ann@acme.test", given_name="Ann", family_name="Smith")
    assert ann.rights == {R.AUTHENTICATION}


def test_the_owner_is_never_demoted_nor_audited(world, acme):
    tenant, owner, provider, _ = acme
    world.links.add(IdentityLink(tenant.id, owner.id, provider.id, ISSUER, "sub-owner", world.clock.now()))
    sign_in(world, tenant, provider, subject="sub-owner", groups=[])
    assert owner.is_owner and all(owner.holds(right) for right in R)
    assert rights_events(world) == []


def test_a_newcomer_registered_at_first_sign_in_gets_the_mapped_rights(world, acme):
    tenant, _, provider, _ = acme
    tenant.auth = tenant.auth.but(unknown_identity=U.REGISTER)
    newcomer = sign_in(
        world,
        tenant,
        provider,
        subject="sub-bob",
        email="bob@acme.test",
        email_verified=True,
        given_name="Bob",
        family_name="Jones",
        groups=["portal-admins"],
    )
    assert newcomer.email == "bob@acme.test" and newcomer.rights == {R.PRACTITIONERS}
    assert world.audit.kinds()[-3:] == [AuditKind.REGISTERED, AuditKind.RIGHTS_GRANTED, AuditKind.SSO_LOGIN_SUCCEEDED]


# --- the policy page -----------------------------------------------------------------------


def policy(**changes) -> LoginPolicy:
    values = dict(
        workflow=W.STANDARD,
        unknown_identity=U.CONFIRM_BY_OTP,
        self_registration=False,
        claim_mappings=DEFAULT_CLAIM_MAPPINGS,
        roles_claim="groups",
        role_mappings=MAPPINGS,
        roles_from_provider=True,
    )
    return LoginPolicy(**{**values, **changes})


def test_saving_the_roles_folds_repeated_pairs_and_audits_the_change(world):
    tenant, owner = world.open_tenant()
    repeated = (*MAPPINGS, RoleMapping(" it ", R.AUTHENTICATION), RoleMapping("it", R.PRACTITIONERS))
    changed = world.login_policy.save(owner, tenant, policy(role_mappings=repeated))
    assert tenant.auth.role_mappings == (*MAPPINGS, RoleMapping("it", R.PRACTITIONERS))
    assert (tenant.auth.roles_claim, tenant.auth.roles_from_provider) == ("groups", True)
    assert changed == [
        "roles claim groups",
        "roles from the provider on",
        "role mappings portal-admins = practitioners; it = authentication; it = practitioners",
    ]
    assert world.audit.events[-1].kind == AuditKind.SETTINGS_CHANGED


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (dict(roles_claim="my groups"), "roles_claim", "a claim name has 1 to 100 letters, digits or _ : . - /"),
        (dict(roles_claim=""), "roles_claim", "name the claim that holds the roles or groups"),
        (dict(role_mappings=()), "roles_from_provider", "to apply the provider's roles, name their claim and map"),
        (dict(role_mappings=(RoleMapping("a" * 256, R.PRACTITIONERS),)), "role_mappings", "at most 255 characters"),
        (dict(role_mappings=(RoleMapping("a\tb", R.PRACTITIONERS),)), "role_mappings", "one line"),
        (
            dict(role_mappings=tuple(RoleMapping(f"g{n}", R.PRACTITIONERS) for n in range(51))),
            "role_mappings",
            "map at most 50",
        ),
    ],
    ids=["a claim with a space", "mappings without a claim", "switched on without mappings", "long", "tab", "51"],
)
def test_the_policy_refuses_bad_roles_and_saves_nothing(world, changes, field, message):
    tenant, owner = world.open_tenant()
    with pytest.raises(InvalidForm) as refused:
        world.login_policy.save(owner, tenant, policy(**changes))
    assert message in refused.value.errors[field]
    assert tenant.auth == AuthSettings()


def test_the_first_sign_in_confirmed_by_code_applies_the_roles_the_provider_gave_at_the_callback(world, acme):
    tenant, _, provider, ann = acme
    world.signed_in_as("sub-new", groups=["it", "unmapped"], email="x@home.test")
    pending, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT)
    outcome = world.sso.complete(tenant, pending, {"state": pending.state, "code": "c"}, REDIRECT)
    link = PendingLink.from_dict(json.loads(json.dumps(outcome.pending.to_dict())))
    assert link.roles == ("it",)
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", "192.0.2.10")
    world.link_confirmation.confirm(tenant, link, world.token_source.issued[-2])
    assert ann.rights == {R.AUTHENTICATION}
    assert rights_events(world)[-1][:2] == (
        AuditKind.RIGHTS_GRANTED,
        "ann@acme.test: Authentication right granted by the roles from Contoso",
    )
