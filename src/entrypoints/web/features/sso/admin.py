"""/admin/authentication: the practice's identity providers (list, add, edit, enable, disable,
remove); /admin/audit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config, view_defaults

from domain.audit import AuditLog
from domain.errors import DomainError, InvalidForm, InvalidValue, UnknownProvider
from domain.ports import PractitionerRepository
from domain.sso.administration import ProviderAdministration
from domain.sso.provider import IdentityProvider, PROVIDER_URL_FIELDS, ProviderSettings, USERINFO_FIELD_NAMES
from entrypoints.web.links import RequestLinks
from entrypoints.web.forms import checked, page_number, query_text, text

AUDIT_PAGE_SIZE = 25
TEXT_FIELDS = ("display_name", "client_id", *PROVIDER_URL_FIELDS, "token_endpoint_auth_method")
EMPTY = ProviderSettings("Single Sign On", "", "", "", "", "", "")
# Fields a request may leave out (a form from before they existed): they read as the default.
DEFAULTED_FIELDS = {name: getattr(EMPTY, name) for name in ("protocol", *USERINFO_FIELD_NAMES)}
NEW = "new"  # ?provider=new: the empty form that adds a provider


@view_defaults(
    route_name="admin_authentication", permission="manage_authentication", renderer="admin_authentication.jinja2"
)
class AuthenticationViews:
    def __init__(self, context: Any, request: Request) -> None:
        self.request = request
        self.admin: ProviderAdministration = request.find_service(ProviderAdministration)
        wanted = query_text(request, "provider")
        self.creating = wanted == NEW
        try:
            providers = self.admin.providers(request.tenant)
            self.provider: IdentityProvider | None = (
                None
                if self.creating
                else self.admin.provider(request.tenant, wanted)
                if wanted
                else providers[0]
                if providers
                else None
            )
        except UnknownProvider:
            raise HTTPNotFound() from None

    def _page(self, form: ProviderSettings, **extra: Any) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "providers": self.admin.providers(self.request.tenant),
            "form": asdict(form),
            "restrict_to_sso": self.request.tenant.auth.restrict_to_sso,
            "redirect_uri": RequestLinks(self.request).redirect_uri(),
            "errors": {},
            "notice": self.request.session.pop_flash(),
            "discovered": False,
            "acknowledged": False,
            **extra,
        }

    def _submitted(self) -> ProviderSettings:
        values = {name: text(self.request, name, 2000).strip() for name in TEXT_FIELDS}
        for name, default in DEFAULTED_FIELDS.items():
            values[name] = text(self.request, name, 200).strip() if name in self.request.POST else default
        return ProviderSettings(**values, enabled=checked(self.request, "enabled"))

    def _as_typed(self) -> ProviderSettings:
        """What the admin typed, as far as it can be shown again, after an unreadable field."""
        values = {name: query_text(self.request, name)[:2000] for name in TEXT_FIELDS}
        for name, default in DEFAULTED_FIELDS.items():
            values[name] = query_text(self.request, name, default)[:200]
        return ProviderSettings(**values, enabled=checked(self.request, "enabled"))

    def _refuse(self, form: ProviderSettings, errors: dict[str, str]) -> dict[str, Any]:
        self.request.response.status = 400
        return self._page(
            form,
            errors=errors,
            restrict_to_sso=checked(self.request, "restrict_to_sso"),
            acknowledged=checked(self.request, "acknowledge_relink"),
        )

    @view_config(request_method="GET")
    def show(self) -> Any:
        return self._page(self.provider.settings if self.provider else EMPTY)

    @view_config(request_method="POST", request_param="action=discover")
    def discover(self) -> Any:
        try:
            form = self._submitted()
            found = self.admin.discover(form.issuer)
        except InvalidValue as err:
            return self._refuse(self._as_typed(), {err.field: err.message})
        except InvalidForm as err:
            return self._refuse(form, err.errors)
        except DomainError as err:  # unreachable, unsafe or mismatching issuer
            return self._refuse(form, {"issuer": f"discovery failed: {err}"})
        filled = replace(
            form,
            issuer=found.issuer,
            authorization_endpoint=found.authorization_endpoint,
            token_endpoint=found.token_endpoint,
            jwks_uri=found.jwks_uri,
            userinfo_endpoint=found.userinfo_endpoint,
            token_endpoint_auth_method=found.preferred_auth_method,
        )
        return self._page(filled, discovered=True, restrict_to_sso=checked(self.request, "restrict_to_sso"))

    @view_config(request_method="POST", request_param="action=save")
    def save(self) -> Any:
        request = self.request
        try:
            form = self._submitted()
            saved = self.admin.save(
                request.identity,
                request.tenant,
                self.provider.id if self.provider else None,
                form,
                text(request, "client_secret", 1000),
                checked(request, "restrict_to_sso"),
                acknowledge_relink=checked(request, "acknowledge_relink"),
            )
        except InvalidValue as err:
            return self._refuse(self._as_typed(), {err.field: err.message})
        except InvalidForm as err:
            return self._refuse(form, err.errors)
        request.session.flash(f"{saved.display_name} is saved.")
        return HTTPSeeOther(request.route_path("admin_authentication", _query={"provider": saved.id}))

    @view_config(request_method="POST", request_param="action=enable")
    def enable(self) -> Any:
        return self._on_listed(lambda provider_id: self._switch(provider_id, True))

    @view_config(request_method="POST", request_param="action=disable")
    def disable(self) -> Any:
        return self._on_listed(lambda provider_id: self._switch(provider_id, False))

    @view_config(request_method="POST", request_param="action=remove")
    def remove(self) -> Any:
        def removed(provider_id: str) -> str:
            provider = self.admin.remove(self.request.identity, self.request.tenant, provider_id)
            self.request.session.flash(f"{provider.display_name} is removed, and with it every account linked to it.")
            listing: str = self.request.route_path("admin_authentication")
            return listing

        return self._on_listed(removed)

    def _switch(self, provider_id: str, enabled: bool) -> str:
        provider = self.admin.set_enabled(self.request.identity, self.request.tenant, provider_id, enabled)
        self.request.session.flash(f"{provider.display_name} is {'enabled' if enabled else 'disabled'}.")
        shown: str = self.request.route_path("admin_authentication", _query={"provider": provider.id})
        return shown

    def _on_listed(self, change: Callable[[str], str]) -> Any:
        """A button of the provider list: ``provider_id`` names one of this tenant's providers."""
        try:
            provider_id = text(self.request, "provider_id", 64)
        except InvalidValue:  # a file, or a character no id has
            raise HTTPNotFound() from None
        if not provider_id:
            raise HTTPNotFound()
        try:
            target = change(provider_id)
        except UnknownProvider:
            raise HTTPNotFound() from None
        except InvalidForm as err:  # it would lock everybody out: refused, nothing changed
            self.request.response.status = 400
            return self._page(self.provider.settings if self.provider else EMPTY, errors=err.errors)
        return HTTPSeeOther(target)

    @view_config(request_method="POST")
    def unknown_action(self) -> Any:
        return self._refuse(EMPTY, {"form": "That action is not known. Reload the page and try again."})


@view_config(
    route_name="admin_audit", request_method="GET", permission="manage_authentication", renderer="admin_audit.jinja2"
)
def audit(request: Request) -> dict[str, Any]:
    page = page_number(request)
    events, total = request.find_service(AuditLog).newest(
        request.tenant.id, (page - 1) * AUDIT_PAGE_SIZE, AUDIT_PAGE_SIZE
    )
    actor_ids = {e.actor_id for e in events if e.actor_id}
    who = {p.id: p.email for p in request.find_service(PractitionerRepository).get_many(request.tenant.id, actor_ids)}
    return {"events": events, "who": who, "page": page, "pages": max(1, -(-total // AUDIT_PAGE_SIZE)), "total": total}
