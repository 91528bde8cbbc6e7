"""Provisioning and its tokens: the rules of SCIM in domain terms (the wire format is tested e2e)."""

import pytest

from domain.errors import InvalidValue, NotUnique, UnknownPractitioner, VersionMismatch
from domain.provisioning.scim_user import ScimQuery, ScimUser
from domain.provisioning.version import etag, require_version


@pytest.fixture
def acme(world):
    """Acme, the authority of a token its owner made, and that token."""
    tenant, owner = world.open_tenant()
    token, secret = world.provisioning_tokens.create(tenant, "Entra", owner)
    return tenant, world.provisioning_tokens.authority_of(tenant, token), secret


def user(**values):
    return ScimUser(**{"user_name": "ann@acme.test", "given_name": "Ann", "family_name": "Lee", **values})


def test_a_token_authenticates_only_on_its_own_tenant_until_revoked(world, acme):
    tenant, _, secret = acme
    (token,) = world.provisioning_tokens.tokens(tenant)
    beta, _ = world.open_tenant("beta")
    assert world.provisioning_tokens.authenticate(tenant, secret) is token
    assert world.provisioning_tokens.authenticate(beta, secret) is None
    assert world.provisioning_tokens.authenticate(tenant, secret + "x") is None
    world.provisioning_tokens.revoke(tenant, token.id)
    assert world.provisioning_tokens.authenticate(tenant, secret) is None


def test_a_token_is_stored_only_as_a_digest(world, acme):
    tenant, _, secret = acme
    (token,) = world.provisioning_tokens.tokens(tenant)
    assert secret not in token.token_digest and secret.startswith("ppscim_")


def test_the_registered_email_is_the_sent_email_else_the_user_name(world, acme):
    tenant, token, _ = acme
    by_email = world.provisioning.create(tenant, token, user(user_name="a.lee", email="Ann.Lee@acme.test"))
    by_name = world.provisioning.create(tenant, token, user(user_name="Bob@Acme.test", email=None))
    assert (by_email.email, by_email.user_name) == ("ann.lee@acme.test", "a.lee")
    assert (by_name.email, by_name.user_name) == ("bob@acme.test", "Bob@Acme.test")


def test_a_user_without_any_email_is_refused(world, acme):
    tenant, token, _ = acme
    with pytest.raises(InvalidValue):
        world.provisioning.create(tenant, token, user(user_name="no-email", email=None))


@pytest.mark.parametrize(
    "clash", [dict(user_name="ANN@acme.test", email="other@acme.test"), dict(user_name="other", email="ann@acme.test")]
)
def test_user_name_and_email_are_unique_ignoring_case(world, acme, clash):
    tenant, token, _ = acme
    world.provisioning.create(tenant, token, user())
    with pytest.raises(NotUnique):
        world.provisioning.create(tenant, token, user(**clash))


def test_a_refused_update_changes_nothing(world, acme):
    tenant, token, _ = acme
    world.provisioning.create(tenant, token, user(user_name="bob@acme.test"))
    ann = world.provisioning.create(tenant, token, user())
    with pytest.raises(NotUnique):
        world.provisioning.replace(tenant, token, ann, user(email="bob@acme.test", given_name="Changed"), None)
    assert (ann.email, ann.first_name) == ("ann@acme.test", "Ann")


def test_deactivation_ends_sessions_and_keeps_the_account(world, acme):
    tenant, token, _ = acme
    ann = world.provisioning.create(tenant, token, user())
    session = world.sessions.open_session(tenant.id, ann.id)
    world.provisioning.patch(tenant, token, ann, ScimUser(active=False), None)
    assert not ann.active and not world.sessions.is_open(session)
    assert world.provisioning.patch(tenant, token, ann, ScimUser(active=True), None).active


def test_patch_changes_only_what_it_names(world, acme):
    tenant, token, _ = acme
    ann = world.provisioning.create(tenant, token, user(external_id="e-1", title="Physio"))
    world.provisioning.patch(tenant, token, ann, ScimUser(family_name="Smith"), None)
    assert (ann.first_name, ann.last_name, ann.external_id, ann.job_title) == ("Ann", "Smith", "e-1", "Physio")


def test_put_clears_what_it_leaves_out(world, acme):
    tenant, token, _ = acme
    ann = world.provisioning.create(tenant, token, user(external_id="e-1", title="Physio"))
    world.provisioning.replace(tenant, token, ann, user(), None)
    assert ann.external_id is None and ann.job_title is None


def test_if_match_must_name_the_current_version(world, acme):
    tenant, token, _ = acme
    ann = world.provisioning.create(tenant, token, user())
    with pytest.raises(VersionMismatch):
        world.provisioning.patch(tenant, token, ann, ScimUser(active=False), 'W/"999"')
    world.provisioning.patch(tenant, token, ann, ScimUser(active=False), etag(ann))


@pytest.mark.parametrize("if_match", [None, "*", "{tag}", "{strong}", 'W/"999", {tag}', ' W/"999" , * '])
def test_if_match_is_a_list_of_tags_compared_weakly_or_the_star(world, acme, if_match):
    tenant, token, _ = acme
    ann = world.provisioning.create(tenant, token, user())
    tag = etag(ann)
    require_version(ann, None if if_match is None else if_match.format(tag=tag, strong=tag.removeprefix("W/")))


@pytest.mark.parametrize("if_match", ["", 'W/"999"', '"999", W/"998"'])
def test_if_match_naming_no_current_tag_is_refused(world, acme, if_match):
    tenant, token, _ = acme
    ann = world.provisioning.create(tenant, token, user())
    with pytest.raises(VersionMismatch):
        require_version(ann, if_match)


def test_delete_removes_the_account_and_its_sessions(world, acme):
    tenant, token, _ = acme
    ann = world.provisioning.create(tenant, token, user())
    session = world.sessions.open_session(tenant.id, ann.id)
    world.provisioning.delete(tenant, token, ann, None)
    with pytest.raises(UnknownPractitioner):
        world.provisioning.get(tenant, ann.id)
    assert not world.sessions.is_open(session)


def test_another_tenants_user_is_unknown(world, acme):
    tenant, token, _ = acme
    beta, beta_owner = world.open_tenant("beta")
    beta_token, _ = world.provisioning_tokens.create(beta, "Okta", beta_owner)
    ann = world.provisioning.create(tenant, token, user())
    with pytest.raises(UnknownPractitioner):
        world.provisioning.patch(
            beta, world.provisioning_tokens.authority_of(beta, beta_token), ann, ScimUser(active=False), None
        )
    assert ann.active


def test_search_combines_criteria(world, acme):
    tenant, token, _ = acme
    world.provisioning.create(tenant, token, user(external_id="e-1"))
    bob = world.provisioning.create(tenant, token, user(user_name="bob@acme.test", external_id="e-2", active=False))
    found, total = world.provisioning.search(tenant, ScimQuery(external_id="e-2", active=False), 0, 10)
    assert found == [bob] and total == 1
    assert world.provisioning.search(tenant, ScimQuery(user_name="BOB@ACME.TEST"), 0, 10)[0] == [bob]


def test_every_write_is_audited_with_the_tokens_name(world, acme):
    tenant, token, _ = acme
    ann = world.provisioning.create(tenant, token, user())
    world.provisioning.patch(tenant, token, ann, ScimUser(active=False), None)
    assert all("SCIM token 'Entra'" in e.summary for e in world.audit.events[-2:])


def test_with_external_id_as_subject_a_provisioned_practitioner_signs_in_without_a_code(world, acme):
    from domain.sso.outcome import LoggedIn

    tenant, token, _ = acme
    provider = world.connect_provider(tenant)
    world.provisioning.use_external_id_as_subject_of(world.onboarding.owner_of(tenant), tenant, provider.id)
    ann = world.provisioning.create(tenant, token, user(external_id="entra-oid-1"))
    world.signed_in_as("entra-oid-1")
    pending, _ = world.sso.begin(tenant, provider.id, "/", "https://acme.portal.test/process_sso")
    outcome = world.sso.complete(
        tenant, pending, {"state": pending.state, "code": "c"}, "https://acme.portal.test/process_sso"
    )
    assert outcome == LoggedIn(ann, "/")


def test_a_changed_external_id_moves_the_link_and_a_taken_one_is_refused(world, acme):
    tenant, token, _ = acme
    provider = world.connect_provider(tenant)
    world.provisioning.use_external_id_as_subject_of(world.onboarding.owner_of(tenant), tenant, provider.id)
    ann = world.provisioning.create(tenant, token, user(external_id="oid-1"))
    bob = world.provisioning.create(tenant, token, user(user_name="bob@acme.test", external_id="oid-2"))
    world.provisioning.patch(tenant, token, ann, ScimUser(external_id="oid-3"), None)
    assert [link.subject for link in world.links.of_practitioner(tenant.id, ann.id)] == ["oid-3"]
    with pytest.raises(NotUnique):
        world.provisioning.patch(tenant, token, bob, ScimUser(external_id="oid-3"), None)
    assert bob.external_id == "oid-2"


def test_without_the_setting_an_external_id_links_nothing(world, acme):
    tenant, token, _ = acme
    world.connect_provider(tenant)
    world.provisioning.create(tenant, token, user(external_id="oid-1"))
    assert world.links.links == []


def test_the_subject_provider_must_be_one_of_the_tenants(world, acme):
    from domain.errors import UnknownProvider

    tenant, _, _ = acme
    beta, _ = world.open_tenant("beta")
    betas = world.connect_provider(beta)
    with pytest.raises(UnknownProvider):
        world.provisioning.use_external_id_as_subject_of(world.onboarding.owner_of(tenant), tenant, betas.id)


def test_only_the_authentication_right_decides_what_an_external_id_is(world, acme):
    from domain.errors import NotAllowed
    from domain.practitioners.practitioner import ModuleRight

    tenant, _, _ = acme
    provider = world.connect_provider(tenant)
    clerk = world.directory.add(
        world.onboarding.owner_of(tenant),
        tenant,
        "clerk@acme.test",
        "C",
        "L",
        rights=frozenset({ModuleRight.PRACTITIONERS}),
    )
    with pytest.raises(NotAllowed):
        world.provisioning.use_external_id_as_subject_of(clerk, tenant, provider.id)
    assert tenant.scim_subject_provider_id is None
