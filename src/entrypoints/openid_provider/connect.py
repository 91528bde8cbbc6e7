"""``practice-portal CONFIG demo-provider connect SLUG``: a tenant signs in with the demo provider.

Saves the demo provider (demo.py) as the tenant's identity provider, as an admin would on the
Authentication page: its client, endpoints and secret, logout at the provider on. Run again, it
changes nothing. Refused unless the configuration turns the demo provider on (development only).
"""

from __future__ import annotations

from typing import Any

from domain.errors import UnknownTenant
from domain.sso.administration import ProviderAdministration
from domain.sso.provider import DiscoveredConfiguration, ProviderSettings
from domain.tenancy.onboarding import TenantOnboarding
from entrypoints.openid_provider.core import AUTHORIZATION, END_SESSION, JWKS, TOKEN, USERINFO
from entrypoints.openid_provider.demo import DEMO_USERS, client_id, client_secret, demo_issuer
from entrypoints.settings import PortalSettings, SettingsError

DISPLAY_NAME = "Demo identity provider"


def _discovered(issuer: str) -> DiscoveredConfiguration:
    """What the demo provider's discovery document says (the provider runs only inside the server)."""
    return DiscoveredConfiguration(
        issuer=issuer,
        authorization_endpoint=issuer + AUTHORIZATION,
        token_endpoint=issuer + TOKEN,
        jwks_uri=issuer + JWKS,
        userinfo_endpoint=issuer + USERINFO,
        token_endpoint_auth_methods_supported=("client_secret_basic", "client_secret_post"),
        end_session_endpoint=issuer + END_SESSION,
        backchannel_logout_supported=True,
    )


def connect_demo_provider(request: Any, slug: str) -> list[str]:
    settings: PortalSettings = request.registry.portal_settings
    if not settings.sso_demo_provider:
        raise SettingsError("the demo provider is off: set sso.demo_provider = true (development only)")
    onboarding = request.find_service(TenantOnboarding)
    tenant = onboarding.tenant(slug)
    if tenant is None:
        raise UnknownTenant(slug)
    found = _discovered(demo_issuer(settings))
    entered = ProviderSettings(DISPLAY_NAME, client_id(tenant.slug), "", "", "", "", "", logout_at_provider=True)
    wanted = entered.filled_from(found).normalized()
    administration = request.find_service(ProviderAdministration)
    existing = next((p for p in administration.providers(tenant) if p.settings.issuer == found.issuer), None)
    changed = existing is None or existing.settings != wanted
    if changed:
        administration.save(
            onboarding.owner_of(tenant),
            tenant,
            existing.id if existing else None,
            wanted,
            client_secret(settings, wanted.client_id),
            restrict_to_sso=tenant.auth.restrict_to_sso,
            acknowledge_relink=True,
            discovered=found,
        )
    return _what_to_click(settings, tenant.slug, changed)


def _what_to_click(settings: PortalSettings, slug: str, saved: bool) -> list[str]:
    issuer = demo_issuer(settings)
    users = [f"    {user.name} <{user.claims['email']}>: {user.note}" for user in DEMO_USERS]
    return [
        f"{'connected' if saved else 'already connected'}: {slug} signs in with the {DISPLAY_NAME} at {issuer}",
        "Try Single Sign On:",
        f"  1. open {settings.tenant_url(slug, '/login')} and click '{DISPLAY_NAME}'",
        "  2. at the provider, sign in as one of:",
        *users,
        "  3. log out in the portal: you are signed out at the provider too, and come back",
        f"  4. or sign in again, open {issuer}/ and press 'Sign out': the portal session ends at once",
        "     (back-channel logout)",
    ]
