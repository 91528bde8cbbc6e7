"""/admin/practitioners: list, search, add, deactivate, reactivate, grant rights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config, view_defaults

from domain.practitioners.authority import Authority
from domain.errors import (
    N_,
    DomainError,
    EmailAlreadyRegistered,
    InvalidValue,
    Message,
    NotAllowed,
    UnknownPractitioner,
)
from domain.tenancy.policy import TenantAuthPolicy
from domain.practitioners.directory import PAGE_SIZE, PractitionerDirectory
from domain.practitioners.rights import RIGHT_NAMES, ModuleRight
from entrypoints.web.forms import checked, page_number, query_text, text


def _rights(request: Request) -> frozenset[ModuleRight]:
    chosen = set(request.POST.getall("rights"))
    return frozenset(r for r in ModuleRight if r.value in chosen)


@view_defaults(
    route_name="admin_practitioners", permission="manage_practitioners", renderer="admin_practitioners.jinja2"
)
class PractitionersAdminViews:
    def __init__(self, context: Any, request: Request) -> None:
        self.request = request
        self.directory: PractitionerDirectory = request.find_service(PractitionerDirectory)

    def _listing(self, **extra: Any) -> dict[str, Any]:
        query = query_text(self.request, "q")[:200]
        page = page_number(self.request)
        found = self.directory.search(self.request.tenant, query, page)
        return {
            "query": query,
            "found": found,
            "page": page,
            "pages": max(1, -(-found.total // PAGE_SIZE)),
            "rights": list(ModuleRight),
            "right_names": RIGHT_NAMES,
            "policy": TenantAuthPolicy.of(self.request.tenant),
            "authority": Authority.of(self.request.identity, self.request.tenant),  # which buttons each row offers
            "form": {},
            "errors": {},
            "notice": self.request.session.pop_flash(),
            **extra,
        }

    @view_config(request_method="GET")
    def list(self) -> dict[str, Any]:
        return self._listing()

    @view_config(request_method="POST", request_param="action=add")
    def add(self) -> Any:
        request = self.request
        form = {name: request.POST.get(name, "") for name in ("email", "first_name", "last_name")}
        try:
            practitioner = self.directory.add(
                request.identity,
                request.tenant,
                text(request, "email", 320),
                text(request, "first_name", 200),
                text(request, "last_name", 200),
                password=text(request, "password"),
                send_password_link=checked(request, "send_password_link"),
                rights=_rights(request),
            )
        except InvalidValue as err:
            return self._refuse_add(form, err.field, err.message, 400)
        except EmailAlreadyRegistered as err:
            return self._refuse_add(form, "email", str(err), 400)
        except NotAllowed as err:
            return self._refuse_add(form, "rights", str(err), 403)
        added = N_("%(name)s (%(email)s) was added.", name=practitioner.full_name, email=practitioner.email)
        request.session.flash(request.say(added))
        return HTTPSeeOther(request.route_path("admin_practitioners"))

    def _refuse_add(self, form: dict[str, str], field: str, message: str, status: int) -> dict[str, Any]:
        self.request.response.status = status
        return self._listing(form=form, errors={field: message})

    @view_config(request_method="POST", request_param="action=deactivate")
    def deactivate(self) -> Any:
        return self._act(
            self.directory.deactivate, lambda name: N_("%(name)s was deactivated and logged out.", name=name)
        )

    @view_config(request_method="POST", request_param="action=reactivate")
    def reactivate(self) -> Any:
        return self._act(self.directory.reactivate, lambda name: N_("%(name)s was reactivated.", name=name))

    @view_config(request_method="POST", request_param="action=rights")
    def set_rights(self) -> Any:
        rights = _rights(self.request)
        return self._act(
            lambda actor, tenant, pid: self.directory.set_rights(actor, tenant, pid, rights),
            lambda name: N_("The rights of %(name)s were saved.", name=name),
        )

    @view_config(request_method="POST")
    def unknown_action(self) -> dict[str, Any]:
        self.request.response.status = 400
        return self._listing(errors={"action": N_("That action is not known. Reload the page and try again.")})

    def _act(self, action: Any, done: Callable[[str], Message]) -> Any:
        request = self.request
        try:
            practitioner = action(request.identity, request.tenant, text(request, "practitioner_id", 64))
        except UnknownPractitioner as err:
            request.response.status = 404
            return self._listing(errors={"action": str(err)})
        except DomainError as err:
            request.response.status = 403 if isinstance(err, NotAllowed) else 400
            return self._listing(errors={"action": str(err)})
        request.session.flash(request.say(done(practitioner.full_name)))
        return HTTPSeeOther(request.route_path("admin_practitioners", _query=self._return_query()))

    def _return_query(self) -> dict[str, str]:
        """The list's search and page the button was pressed on, read as the list reads them."""
        query, page = query_text(self.request, "q")[:200], page_number(self.request)
        return {k: v for k, v in (("q", query), ("page", str(page) if page > 1 else "")) if v}
