"""/admin/practitioners/{id}: one practitioner, their linked identities, and their email.

The admin removes a wrong Single Sign On link (a removal that leaves no way in needs the
``confirm_last_way_in`` box) and changes the registered email, which takes effect once the
practitioner follows the link mailed to the new address (/email/confirm/{token}).
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config, view_defaults

from domain.errors import N_, DomainError, InvalidValue, NotAllowed, UnknownLink, UnknownPractitioner
from domain.practitioners.email_change import LINK_DAYS, EmailChange
from domain.practitioners.linked_identities import LinkedIdentities, after_removal
from domain.practitioners.rights import rights_listed
from domain.tenancy.policy import TenantAuthPolicy
from entrypoints.web.forms import checked, sentence, text


@view_defaults(route_name="admin_practitioner", permission="manage_practitioners", renderer="admin_practitioner.jinja2")
class PractitionerAdminViews:
    def __init__(self, context: Any, request: Request) -> None:
        self.request = request
        self.practitioner_id = request.matchdict["id"]

    def _page(self, **extra: Any) -> dict[str, Any]:
        request = self.request
        try:
            record = request.find_service(LinkedIdentities).record(
                request.identity, request.tenant, self.practitioner_id
            )
        except UnknownPractitioner:
            raise HTTPNotFound() from None
        return {
            "record": record,
            "p": record.practitioner,
            "rights_held": rights_listed(record.practitioner.rights),
            "policy": TenantAuthPolicy.of(request.tenant),
            # said here: the template puts it into a translated sentence, where no Message is translated
            "after_removal": request.say(sentence(after_removal(request.tenant, record.practitioner))),
            "link_days": LINK_DAYS,
            "form": {},
            "errors": {},
            "notice": request.session.pop_flash(),
            **extra,
        }

    @view_config(request_method="GET")
    def show(self) -> dict[str, Any]:
        return self._page()

    @view_config(request_method="POST", request_param="action=unlink")
    def unlink(self) -> Any:
        request = self.request
        try:
            practitioner, removed = request.find_service(LinkedIdentities).remove(
                request.identity,
                request.tenant,
                self.practitioner_id,
                text(request, "link_id", 64),
                last_way_in_confirmed=checked(request, "confirm_last_way_in"),
            )
        except DomainError as err:
            return self._refuse("unlink", err)
        removal = N_(
            "The link to %(provider)s was removed. %(name)s can no longer log in with it until it is linked again.",
            provider=removed.provider_name,
            name=practitioner.full_name,
        )
        request.session.flash(request.say(removal))
        return HTTPSeeOther(request.route_path("admin_practitioner", id=self.practitioner_id))

    @view_config(request_method="POST", request_param="action=email")
    def change_email(self) -> Any:
        request = self.request
        try:
            practitioner = request.find_service(EmailChange).request(
                request.identity, request.tenant, self.practitioner_id, text(request, "email", 320)
            )
        except DomainError as err:
            return self._refuse("email", err, form={"email": request.POST.get("email", "")})
        mailed = N_(
            "A link to confirm %(new_email)s was mailed to that address. Until it is followed, %(name)s keeps %(email)s.",
            new_email=practitioner.pending_email,
            name=practitioner.full_name,
            email=practitioner.email,
        )
        request.session.flash(request.say(mailed))
        return HTTPSeeOther(request.route_path("admin_practitioner", id=self.practitioner_id))

    @view_config(request_method="POST")
    def unknown_action(self) -> dict[str, Any]:
        self.request.response.status = 400
        return self._page(errors={"action": N_("That action is not known. Reload the page and try again.")})

    def _refuse(self, field: str, err: DomainError, form: dict[str, Any] | None = None) -> dict[str, Any]:
        if isinstance(err, UnknownPractitioner):
            raise HTTPNotFound()
        # 403: the rule or the policy refuses; 404: no such link; 400: the input (or a missing confirmation).
        self.request.response.status = (
            403 if isinstance(err, NotAllowed) else 404 if isinstance(err, UnknownLink) else 400
        )
        message = err.message if isinstance(err, InvalidValue) else str(err)
        form = {k: v if isinstance(v, str) else "" for k, v in (form or {}).items()}
        return self._page(errors={field: sentence(message)}, form=form)
