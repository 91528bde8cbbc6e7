"""What every IdentityProviderClient puts in the authorization request for a provider's extra
scopes, domain hint and login hint (the fake included), and that a provider still signs in."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

from domain.sso.provider import IdentityProvider
from tests.contract.test_identity_provider_client_contract import (  # noqa: F401 (fixtures)
    REDIRECT_URI,
    Provider,
    configured,
    idp,
    loopback,
    sign_in,
)


def with_settings(provider: IdentityProvider, **changes: object) -> IdentityProvider:
    settings = replace(provider.settings, **changes).normalized()  # type: ignore[arg-type]
    return IdentityProvider(provider.tenant_id, settings, provider.sealed_client_secret, provider.id)


def asked(idp: Provider, provider: IdentityProvider, login_hint: str | None = None) -> dict[str, list[str]]:
    url = idp.client.authorization_url(provider, REDIRECT_URI, "s", "n", "c", login_hint=login_hint)
    return parse_qs(urlsplit(url).query)


def test_the_request_asks_for_the_base_scopes_and_the_extra_ones_and_sends_the_hints(idp: Provider) -> None:  # noqa: F811
    provider = with_settings(configured(idp), extra_scopes="offline_access api://portal/read", domain_hint="acme.test")
    query = asked(idp, provider, login_hint="ann@acme.test")
    assert query["scope"] == ["openid email profile offline_access api://portal/read"]
    assert query["domain_hint"] == ["acme.test"]
    assert query["login_hint"] == ["ann@acme.test"]


def test_without_hints_none_is_sent(idp: Provider) -> None:  # noqa: F811
    query = asked(idp, configured(idp))
    assert query["scope"] == ["openid email profile"]
    assert "domain_hint" not in query and "login_hint" not in query


def test_a_plain_oauth2_provider_is_asked_for_email_profile_and_its_extra_scopes(idp: Provider) -> None:  # noqa: F811
    query = asked(idp, with_settings(configured(idp, "oauth2"), extra_scopes="read:user"))
    assert query["scope"] == ["email profile read:user"]


def test_a_provider_signs_in_with_extra_scopes_and_a_domain_hint(idp: Provider) -> None:  # noqa: F811
    provider = with_settings(configured(idp), extra_scopes="phone address", domain_hint="acme.test")
    assert sign_in(idp, provider).subject == "ann-sub"


def test_the_request_asks_the_provider_to_speak_the_pages_language(idp: Provider) -> None:  # noqa: F811
    url = idp.client.authorization_url(configured(idp), REDIRECT_URI, "s", "n", "c", ui_locales="nl")
    assert parse_qs(urlsplit(url).query)["ui_locales"] == ["nl"]
    assert "ui_locales" not in asked(idp, configured(idp))
