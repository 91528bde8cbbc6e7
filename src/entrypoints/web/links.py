"""The Links port on the web: absolute links into the instance a request came to."""

from __future__ import annotations

from pyramid.request import Request

from entrypoints.settings import PortalSettings


class RequestLinks:
    """Links into the instance the request came to, built from settings (never from its Host)."""

    def __init__(self, request: Request) -> None:
        self._request = request

    def _absolute(self, path: str) -> str:
        settings: PortalSettings = self._request.registry.portal_settings
        return settings.tenant_url(self._request.tenant.slug, path)

    def password_link(self, token: str) -> str:
        return self._absolute(self._request.route_path("password_reset", token=token))

    def redirect_uri(self) -> str:
        """The one redirect URI of the instance, registered at its identity providers."""
        return self._absolute(self._request.route_path("process_sso"))
