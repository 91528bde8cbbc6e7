"""/admin/provisioning: SCIM bearer tokens: create (shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config, view_defaults

from domain.errors import N_, InvalidValue, NotAllowed, UnknownProvider, UnknownToken
from domain.provisioning.tokens import ProvisioningTokens
from domain.provisioning.users import Provisioning
from domain.sso.sign_in import SingleSignOn
from domain.practitioners.rights import ModuleRight
from entrypoints.scim.rendering import base_url as scim_base_url
from entrypoints.web.forms import text


@view_defaults(route_name="admin_provisioning", permission="manage_practitioners", renderer="admin_provisioning.jinja2")
class ProvisioningAdminViews:
    def __init__(self, context: Any, request: Request) -> None:
        self.request = request
        self.tokens: ProvisioningTokens = request.find_service(ProvisioningTokens)

    def _page(self, **extra: Any) -> dict[str, Any]:
        request = self.request
        return {
            "scim_base_url": scim_base_url(request),
            "tokens": self.tokens.listed(request.tenant),
            "providers": request.find_service(SingleSignOn).enabled_providers(request.tenant),
            "subject_provider_id": request.tenant.scim_subject_provider_id,
            "may_set_subject": request.identity.holds(ModuleRight.AUTHENTICATION),
            "form": {},
            "errors": {},
            "new_token": None,
            "notice": request.session.pop_flash(),
            **extra,
        }

    def _refuse(self, status: int, **extra: Any) -> dict[str, Any]:
        self.request.response.status = status
        return self._page(**extra)

    @view_config(request_method="GET")
    def show(self) -> dict[str, Any]:
        return self._page()

    @view_config(request_method="POST", request_param="action=create")
    def create(self) -> dict[str, Any]:
        request = self.request
        raw = request.POST.get("name", "")
        form = {"name": raw if isinstance(raw, str) else ""}
        try:
            token, secret = self.tokens.create(request.tenant, text(request, "name", 200), request.identity)
        except InvalidValue as err:
            return self._refuse(400, form=form, errors={"name": err.message})
        except NotAllowed as err:
            return self._refuse(403, form=form, errors={"name": str(err)})
        # Rendered on this response only, never flashed: the session never holds the token,
        # and no cache may keep the page.
        request.response.cache_control = "no-store"
        return self._page(new_token=secret, created=token)

    @view_config(request_method="POST", request_param="action=subject")
    def subject_provider(self) -> Any:
        request = self.request
        try:
            chosen = text(request, "subject_provider_id", 64) or None
            request.find_service(Provisioning).use_external_id_as_subject_of(request.identity, request.tenant, chosen)
        except NotAllowed as err:
            return self._refuse(403, errors={"subject": str(err)})
        except (InvalidValue, UnknownProvider) as err:
            return self._refuse(400, errors={"subject": str(err)})
        request.session.flash(request.say(N_("The SCIM externalId setting is saved.")))
        return HTTPSeeOther(request.route_path("admin_provisioning"))

    @view_config(request_method="POST", request_param="action=revoke")
    def revoke(self) -> Any:
        request = self.request
        try:
            token_id = text(request, "token_id", 64)
        except InvalidValue as err:
            return self._refuse(400, errors={"action": err.message})
        try:
            token = self.tokens.revoke(request.tenant, token_id, request.identity.id)
        except UnknownToken as err:  # no such token in this practice: another's id reads the same
            return self._refuse(404, errors={"action": str(err)})
        revoked = N_("The token “%(name)s” was revoked; clients using it are refused from now on.", name=token.name)
        request.session.flash(request.say(revoked))
        return HTTPSeeOther(request.route_path("admin_provisioning"))

    @view_config(request_method="POST")
    def unknown_action(self) -> dict[str, Any]:
        return self._refuse(400, errors={"action": N_("That action is not known. Reload the page and try again.")})
