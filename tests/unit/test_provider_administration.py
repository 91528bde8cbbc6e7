"""ProviderAdministration: connecting a tenant's OpenID Connect provider."""

import pytest

from domain.errors import InvalidForm, ProviderUnavailable
from domain.audit import AuditKind
from domain.sso.provider import DiscoveredConfiguration
from domain.practitioners.practitioner import LoginMethod
from tests.unit.conftest import provider_settings


@pytest.fixture
def acme(world):
    return world.open_tenant()


def test_a_valid_form_creates_the_provider_with_its_secret_sealed(world, acme):
    tenant, owner = acme
    provider = world.provider_admin.save(owner, tenant, None, provider_settings(), "s3cret", False)
    assert world.providers.list(tenant.id) == [provider]
    assert provider.sealed_client_secret != "s3cret"
    assert world.secret_box.open(provider.sealed_client_secret) == "s3cret"


def test_saving_is_audited_with_what_changed_and_never_the_secret(world, acme):
    tenant, owner = acme
    provider = world.provider_admin.save(owner, tenant, None, provider_settings(), "s3cret", False)
    world.provider_admin.save(
        owner, tenant, provider.id, provider_settings(client_id="new-id"), "n3w-secret", True, acknowledge_relink=True
    )
    event = world.audit.events[-1]
    assert event.kind == AuditKind.SETTINGS_CHANGED and event.actor_id == owner.id
    assert "client id changed" in event.summary and "client secret replaced" in event.summary
    assert "restrict to SSO on" in event.summary
    assert all("s3cret" not in e.summary and "n3w-secret" not in e.summary for e in world.audit.events)


def test_an_empty_secret_on_edit_keeps_the_stored_one(world, acme):
    tenant, owner = acme
    provider = world.provider_admin.save(owner, tenant, None, provider_settings(), "s3cret", False)
    world.provider_admin.save(owner, tenant, provider.id, provider_settings(display_name="Contoso ID"), "", False)
    assert world.secret_box.open(provider.sealed_client_secret) == "s3cret"
    assert provider.display_name == "Contoso ID"


def test_a_new_provider_needs_a_secret(world, acme):
    tenant, owner = acme
    with pytest.raises(InvalidForm) as err:
        world.provider_admin.save(owner, tenant, None, provider_settings(), "", False)
    assert set(err.value.errors) == {"client_secret"}
    assert world.providers.list(tenant.id) == []


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("issuer", "", "required"),
        ("issuer", "http://login.contoso.test", "https://"),
        ("token_endpoint", "login.contoso.test/token", "full URL"),
        ("jwks_uri", "https://user:pw@login.contoso.test/jwks", "user name or password"),
        ("userinfo_endpoint", "https://login contoso/userinfo", "without spaces"),
        ("issuer", "https://login.contoso.test?tenant=x", "no ?query"),
        ("client_id", "  ", "required"),
        ("token_endpoint_auth_method", "private_key_jwt", "client_secret_basic"),
    ],
)
def test_every_field_error_is_named_and_nothing_is_saved(world, acme, field, value, message):
    tenant, owner = acme
    events = list(world.audit.events)
    with pytest.raises(InvalidForm) as err:
        world.provider_admin.save(owner, tenant, None, provider_settings(**{field: value}), "s3cret", False)
    assert message in err.value.errors[field]
    assert world.providers.list(tenant.id) == [] and world.audit.events == events


def test_an_endpoint_on_a_private_address_is_refused_at_save_time(world, acme):
    tenant, owner = acme
    world.url_safety.unsafe_hosts.add("10.0.0.5")
    with pytest.raises(InvalidForm) as err:
        world.provider_admin.save(owner, tenant, None, provider_settings(jwks_uri="https://10.0.0.5/jwks"), "s", False)
    assert err.value.errors == {"jwks_uri": "10.0.0.5 is a private address"}


def test_plain_http_to_a_local_host_is_allowed_only_in_development(world, acme):
    tenant, _ = acme
    settings = provider_settings(issuer="http://127.0.0.1:9000")
    assert "issuer" in settings.problems(development=False)
    assert "issuer" not in settings.problems(development=True)
    assert "issuer" in provider_settings(issuer="http://login.contoso.test").problems(development=True)


def test_restricting_login_to_sso_needs_an_enabled_provider(world, acme):
    tenant, owner = acme
    with pytest.raises(InvalidForm) as err:
        world.provider_admin.save(owner, tenant, None, provider_settings(enabled=False), "s", True)
    assert "restrict_to_sso" in err.value.errors
    assert not tenant.auth.restrict_to_sso


def test_discovery_reads_the_endpoints_when_the_issuer_matches_exactly(world):
    issuer = "https://login.contoso.test"
    world.idp.documents[issuer] = DiscoveredConfiguration(
        issuer, f"{issuer}/a", f"{issuer}/t", f"{issuer}/k", f"{issuer}/u", ("client_secret_post",)
    )
    found = world.provider_admin.discover(f" {issuer} ")
    assert found.token_endpoint == f"{issuer}/t"
    assert found.preferred_auth_method == "client_secret_post"


def test_discovery_refuses_a_document_naming_another_issuer(world):
    world.idp.documents["https://login.contoso.test"] = DiscoveredConfiguration(
        "https://login.contoso.test/", "a", "t", "k", "u"
    )
    with pytest.raises(
        ProviderUnavailable,
        match="the document's issuer is https://login.contoso.test/, not https://login.contoso.test",
    ):
        world.provider_admin.discover("https://login.contoso.test")


def test_discovery_explains_an_unreachable_issuer(world):
    with pytest.raises(ProviderUnavailable, match="404"):
        world.provider_admin.discover("https://nowhere.test")


def test_restricting_login_to_sso_ends_the_password_sessions_and_only_those(world, acme):
    tenant, owner = acme
    by_password = world.sessions.open_session(tenant.id, owner.id, LoginMethod.PASSWORD)
    by_sso = world.sessions.open_session(tenant.id, owner.id, LoginMethod.SSO)
    provider = world.provider_admin.save(owner, tenant, None, provider_settings(), "s3cret", False)
    assert world.sessions.is_open(by_password) and world.sessions.is_open(by_sso)
    world.provider_admin.save(owner, tenant, provider.id, provider_settings(), "", True)
    assert not world.sessions.is_open(by_password) and world.sessions.is_open(by_sso)
    by_password = world.sessions.open_session(tenant.id, owner.id, LoginMethod.PASSWORD)
    world.provider_admin.save(owner, tenant, provider.id, provider_settings(), "", False)
    assert world.sessions.is_open(by_password) and world.sessions.is_open(by_sso)


@pytest.mark.parametrize(
    "field, moved, trust_changed",
    [
        ("token_endpoint", "https://elsewhere.test/token", True),
        ("jwks_uri", "https://login.contoso.test:8443/keys", True),
        ("jwks_uri", "https://LOGIN.contoso.test./other/keys", False),
        ("token_endpoint", "https://login.contoso.test/v2/token", False),
        ("userinfo_endpoint", "https://elsewhere.test/userinfo", False),
        ("authorization_endpoint", "https://elsewhere.test/authorize", False),
    ],
)
def test_moving_the_token_endpoint_or_keys_to_another_host_needs_the_relink_acknowledgement(
    world, acme, field, moved, trust_changed
):
    tenant, owner = acme
    provider = world.provider_admin.save(owner, tenant, None, provider_settings(), "s3cret", False)
    if trust_changed:
        with pytest.raises(InvalidForm) as err:
            world.provider_admin.save(owner, tenant, provider.id, provider_settings(**{field: moved}), "", False)
        assert "confirms their link again" in err.value.errors["acknowledge_relink"]
        assert getattr(provider.settings, field) != moved
        world.provider_admin.save(
            owner, tenant, provider.id, provider_settings(**{field: moved}), "", False, acknowledge_relink=True
        )
    else:
        world.provider_admin.save(owner, tenant, provider.id, provider_settings(**{field: moved}), "", False)
    assert getattr(provider.settings, field) == moved


def test_a_change_of_trust_leaves_the_providers_sessions_open_but_no_longer_following_it(world, acme):
    """Another issuer or client is another party: the old ID token must not go to its logout, nor
    its logout tokens end sessions the old one opened. Other providers' sessions still follow theirs."""
    from domain.sso.identity import ProviderSession

    tenant, owner = acme
    provider = world.provider_admin.save(owner, tenant, None, provider_settings(), "s3cret", False)
    other = world.provider_admin.save(owner, tenant, None, provider_settings(display_name="Other ID"), "s3cret", False)
    through_it = world.sessions.open_session(tenant.id, owner.id, LoginMethod.SSO, ProviderSession(provider.id, "s"))
    through_other = world.sessions.open_session(tenant.id, owner.id, LoginMethod.SSO, ProviderSession(other.id, "s"))
    world.provider_admin.save(owner, tenant, provider.id, provider_settings(display_name="Renamed"), "", False)
    assert world.sessions.open[through_it].through is not None  # a new name is the same party
    world.provider_admin.save(
        owner,
        tenant,
        provider.id,
        provider_settings(issuer="https://new.contoso.test"),
        "",
        False,
        acknowledge_relink=True,
    )
    assert world.sessions.is_open(through_it) and world.sessions.open[through_it].through is None
    assert world.sessions.open[through_other].through == ProviderSession(other.id, "s")
