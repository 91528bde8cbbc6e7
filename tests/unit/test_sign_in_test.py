"""SignInTest: an admin's test sign-in reports each check and what a real sign-in would do,
logs nobody in, links nothing, and is audited once."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from domain.audit import AuditKind
from domain.errors import NotAllowed, ProviderUnavailable, SsoRefused
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.rights import ModuleRight
from domain.sso.checks import AT_PROVIDER, CLAIMS, TOKEN, Status
from domain.sso.diagnosis import SignInTest, SignInTestResult
from domain.sso.identity import IdentityLink
from domain.sso.pending import PendingLogin
from domain.sso.provider import IdentityProvider
from domain.tenancy.tenant import Tenant
from tests.unit.conftest import World

REDIRECT_URI = "https://acme.portal.test/process_sso"


def started(world: World, admin: Practitioner, provider: IdentityProvider, tenant: Tenant) -> PendingLogin:
    pending, _url = world.sso.begin_test(tenant, admin, provider.id, REDIRECT_URI)
    return pending


def answered(pending: PendingLogin, **extra: str) -> Mapping[str, str]:
    return {"state": pending.state, "code": "the-code", **extra}


def run(
    world: World, tenant: Tenant, admin: Practitioner | None, pending: PendingLogin | None, **extra: str
) -> SignInTestResult:
    callback = answered(pending, **extra) if pending else {}
    return world.build(SignInTest).run(tenant, admin, pending, callback, REDIRECT_URI)


@pytest.fixture
def acme(world: World) -> tuple[Tenant, Practitioner, IdentityProvider]:
    tenant, owner = world.open_tenant()
    return tenant, owner, world.connect_provider(tenant)


def test_a_good_sign_in_passes_and_says_what_a_real_one_would_do_without_writing_anything(world: World, acme):
    tenant, owner, provider = acme
    ann = world.practitioner(tenant)
    world.signed_in_as("ann-sub", email="ann@acme.test", email_verified=True, given_name="Ann", family_name="Smith")
    pending = started(world, owner, provider, tenant)
    links, ann_before, events = len(world.links.links), dict(vars(ann)), len(world.audit.events)
    result = run(world, tenant, owner, pending)
    assert result.passed and all(check.status is Status.PASSED for check in result.checks)
    assert result.profile is not None and result.profile.email_verified
    assert result.verdict is not None and "one-time password" in result.verdict  # no email linking by default
    assert (len(world.links.links), dict(vars(ann))) == (links, ann_before)  # no link, no last use, no proof
    assert [e.kind for e in world.audit.events[events:]] == [AuditKind.PROVIDER_TEST_SIGN_IN]
    assert world.audit.events[-1].actor_id == owner.id


def test_a_disabled_provider_can_be_tested(world: World, acme):
    tenant, owner, provider = acme
    world.provider_admin.set_enabled(owner, tenant, provider.id, False)
    world.signed_in_as("ann-sub", email="ann@home.example", given_name="Ann", family_name="Smith")
    result = run(world, tenant, owner, started(world, owner, provider, tenant))
    assert result.passed and result.provider.settings.enabled is False


def test_a_provider_failure_is_reported_at_its_step_and_audited_as_failed(world: World, acme):
    tenant, owner, provider = acme
    world.idp.failure = ProviderUnavailable("the token endpoint answered HTTP 500")
    result = run(world, tenant, owner, started(world, owner, provider, tenant))
    assert not result.passed and result.failed_step == TOKEN and result.identity is None
    assert world.audit.events[-1].summary == "Test sign-in with Contoso failed at Token"


def test_the_providers_error_on_the_callback_is_explained_and_no_code_is_redeemed(world: World, acme):
    tenant, owner, provider = acme
    result = run(world, tenant, owner, started(world, owner, provider, tenant), error="invalid_scope")
    assert result.checks[0].step == AT_PROVIDER and result.checks[0].status is Status.FAILED
    assert "refused the scopes" in result.checks[0].explanation
    assert world.idp.redeemed == []


def test_a_missing_email_fails_the_claims_check_with_the_scope_to_add(world: World, acme):
    tenant, owner, provider = acme
    world.signed_in_as("bob-sub", given_name="Bob", family_name="Jones")
    result = run(world, tenant, owner, started(world, owner, provider, tenant))
    claims = next(check for check in result.checks if check.step == CLAIMS)
    assert claims.status is Status.FAILED and "add the scope email" in claims.explanation


def test_only_an_admin_of_the_authentication_module_can_start_a_test(world: World, acme):
    tenant, _owner, provider = acme
    pat = world.practitioner(tenant, "pat@acme.test")
    with pytest.raises(NotAllowed):
        world.sso.begin_test(tenant, pat, provider.id, REDIRECT_URI)


def test_the_callback_answers_only_the_admin_who_started_the_test(world: World, acme):
    tenant, owner, provider = acme
    other = world.directory.add(
        owner,
        tenant,
        "auditor@acme.test",
        "Aud",
        "Itor",
        password="x" * 12,
        rights=frozenset({ModuleRight.AUTHENTICATION}),
    )
    pending = started(world, owner, provider, tenant)
    with pytest.raises(NotAllowed):
        run(world, tenant, other, pending)
    with pytest.raises(NotAllowed):
        run(world, tenant, None, pending)
    assert world.idp.redeemed == []


def test_a_test_callback_never_completes_a_login_and_a_login_callback_is_no_test(world: World, acme):
    tenant, owner, provider = acme
    world.signed_in_as("ann-sub", email="ann@acme.test", email_verified=True)
    pending = started(world, owner, provider, tenant)
    with pytest.raises(SsoRefused):
        world.sso.complete(tenant, pending, answered(pending), REDIRECT_URI)
    login, _url = world.sso.begin(tenant, provider.id, "/", REDIRECT_URI)
    with pytest.raises(SsoRefused):
        run(world, tenant, owner, login)


def test_a_session_from_before_tests_reads_as_a_login(world: World, acme):
    tenant, owner, provider = acme
    login, _url = world.sso.begin(tenant, provider.id, "/", REDIRECT_URI)
    stored = {name: value for name, value in login.to_dict().items() if name != "tested_by"}
    assert PendingLogin.from_dict(stored).is_test is False


def test_a_linked_identity_is_shown_as_who_would_sign_in_and_its_link_is_not_used(world: World, acme):
    tenant, owner, provider = acme
    link = IdentityLink(tenant.id, owner.id, provider.id, "https://login.contoso.test", "owner-sub", world.clock.now())
    world.links.add(link)
    world.signed_in_as("owner-sub", email="owner@acme.test", given_name="Olga", family_name="Owner")
    result = run(world, tenant, owner, started(world, owner, provider, tenant))
    assert result.verdict is not None and owner.email in result.verdict
    assert result.verdict.startswith("With this identity, it signs in as")
    assert link.last_used_at is None
