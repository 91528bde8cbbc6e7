"""ProviderAdministration for plain OAuth 2.0 providers: no issuer, no JWKS, named userinfo fields."""

from dataclasses import replace

import pytest

from domain.errors import InvalidForm
from domain.sso.identity import IdentityLink
from tests.unit.conftest import provider_settings


@pytest.fixture
def acme(world):
    return world.open_tenant()


def oauth2_settings(**changes: object):
    """The endpoints at https://login.contoso.test, no issuer, no JWKS URI."""
    return replace(provider_settings(protocol="oauth2"), **{"issuer": "", "jwks_uri": "", **changes})  # type: ignore[arg-type]


def test_an_oauth2_provider_needs_no_issuer_and_no_jwks_uri(world, acme):
    tenant, owner = acme
    provider = world.provider_admin.save(owner, tenant, None, oauth2_settings(), "s3cret", False)
    assert (provider.settings.protocol, provider.settings.issuer, provider.settings.jwks_uri) == ("oauth2", "", "")


def test_an_issuer_and_jwks_uri_typed_for_an_oauth2_provider_are_neither_checked_nor_kept(world, acme):
    tenant, owner = acme
    world.url_safety.unsafe_hosts.add("10.0.0.5")
    settings = oauth2_settings(issuer="https://10.0.0.5/x?y=1", jwks_uri="not a url")
    provider = world.provider_admin.save(owner, tenant, None, settings, "s3cret", False)
    assert (provider.settings.issuer, provider.settings.jwks_uri) == ("", "")


def test_the_endpoints_of_an_oauth2_provider_are_checked_as_always(world, acme):
    tenant, owner = acme
    world.url_safety.unsafe_hosts.add("10.0.0.5")
    with pytest.raises(InvalidForm) as err:
        world.provider_admin.save(
            owner,
            tenant,
            None,
            oauth2_settings(userinfo_endpoint="https://10.0.0.5/me", token_endpoint=""),
            "s3cret",
            False,
        )
    assert err.value.errors == {
        "userinfo_endpoint": "10.0.0.5 is a private address",
        "token_endpoint": "this field is required",
    }
    assert world.providers.list(tenant.id) == []


@pytest.mark.parametrize("field", ["subject_field", "email_field", "given_name_field", "family_name_field"])
def test_an_oauth2_provider_names_every_userinfo_field(world, acme, field):
    tenant, owner = acme
    with pytest.raises(InvalidForm) as err:
        world.provider_admin.save(owner, tenant, None, oauth2_settings(**{field: " "}), "s3cret", False)
    assert err.value.errors == {field: "name the userinfo field"}
    with pytest.raises(InvalidForm) as err:
        world.provider_admin.save(owner, tenant, None, provider_settings(**{field: "f" * 101}), "s3cret", False)
    assert err.value.errors == {field: "a field name has at most 100 characters"}


def test_an_unknown_protocol_is_refused(world, acme):
    tenant, owner = acme
    with pytest.raises(InvalidForm) as err:
        world.provider_admin.save(owner, tenant, None, provider_settings(protocol="saml"), "s3cret", False)
    assert err.value.errors == {"protocol": "choose OpenID Connect or OAuth 2.0"}


def test_changing_the_foreign_id_field_of_an_oauth2_provider_makes_links_confirm_again(world, acme):
    tenant, owner = acme
    provider = world.provider_admin.save(owner, tenant, None, oauth2_settings(), "s3cret", False)
    ann = world.practitioner(tenant)
    world.links.add(IdentityLink(tenant.id, ann.id, provider.id, f"oauth2:{provider.id}", "42", world.clock.now()))
    world.provider_admin.save(
        owner, tenant, provider.id, oauth2_settings(display_name="Renamed", email_field="mail"), "", False
    )
    assert not world.links.links[0].needs_reconfirmation
    with pytest.raises(InvalidForm) as err:
        world.provider_admin.save(owner, tenant, provider.id, oauth2_settings(subject_field="id"), "", False)
    assert "foreign id field" in err.value.errors["acknowledge_relink"] and provider.settings.subject_field == "sub"
    world.provider_admin.save(
        owner, tenant, provider.id, oauth2_settings(subject_field="id"), "", False, acknowledge_relink=True
    )
    assert world.links.links[0].needs_reconfirmation and provider.settings.subject_field == "id"


def test_the_userinfo_fields_of_an_oidc_provider_are_no_reason_to_confirm_again(world, acme):
    tenant, owner = acme
    provider = world.connect_provider(tenant)
    world.provider_admin.save(owner, tenant, provider.id, provider_settings(subject_field="id"), "", False)
    assert provider.settings.subject_field == "id"
