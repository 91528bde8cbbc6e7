"""The Links port on the web: absolute links into the instance a request came to."""

from __future__ import annotations

from pyramid.request import Request

from domain.tenancy.tenant import Tenant
from entrypoints.settings import PortalSettings


def route_on_instance(request: Request, slug: str, route_name: str, **parts: str) -> str:
    """The absolute URL of a route on an instance, from settings alone. Not ``route_path``: that
    begins with the request's SCRIPT_NAME, which gunicorn takes from a request header when the
    proxy passes one on, and an instance is served from its root."""
    settings: PortalSettings = request.registry.portal_settings
    return request.route_url(route_name, _app_url=settings.tenant_url(slug), **parts)  # type: ignore[no-any-return]


class RequestLinks:
    """Links into the instance the request came to, built from settings (never from its Host)."""

    def __init__(self, request: Request) -> None:
        self._request = request

    def _absolute(self, route_name: str, **parts: str) -> str:
        return route_on_instance(self._request, self._request.tenant.slug, route_name, **parts)

    def password_link(self, token: str) -> str:
        return self._absolute("password_reset", token=token)

    def email_change_link(self, token: str) -> str:
        return self._absolute("email_confirm", token=token)

    def redirect_uri(self) -> str:
        """The one redirect URI of the instance, registered at its identity providers."""
        return self._absolute("process_sso")

    def post_logout_redirect_uri(self) -> str:
        """Where a provider sends the browser back after a logout there (RP-Initiated Logout)."""
        return self._absolute("sso_logged_out")

    def backchannel_logout_uri(self) -> str:
        """Where a provider posts its logout tokens (Back-Channel Logout)."""
        return self._absolute("sso_backchannel_logout")

    def initiate_login_uri(self) -> str:
        """Where a provider's app launcher starts a sign-in (OpenID Connect Core 4)."""
        return self._absolute("sso_initiate")

    def instance_origin(self) -> str:
        """The instance's own scheme, host and port, as every absolute link into it begins."""
        settings: PortalSettings = self._request.registry.portal_settings
        return settings.tenant_url(self._request.tenant.slug)


class SettingsRecoveryLinks:
    """The RecoveryLinks port: links built from settings for the tenant named, as the operator's
    command line has no request to the instance (and a request's Host never names a link)."""

    def __init__(self, request: Request) -> None:
        self._request = request

    def recovery_link(self, tenant: Tenant, token: str) -> str:
        return route_on_instance(self._request, tenant.slug, "recover", token=token)
