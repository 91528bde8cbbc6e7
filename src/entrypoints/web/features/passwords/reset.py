"""Forgot-password and set-password pages (also the target of the admin's invitation)."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from domain.errors import N_, DomainError, InvalidResetToken, InvalidValue, NotAllowed
from domain.passwords.login import SSO_ONLY
from domain.passwords.new_password import PASSWORDS_DIFFER
from domain.passwords.reset import PasswordReset
from domain.tenancy.policy import TenantAuthPolicy
from entrypoints.web.forms import text


@view_config(route_name="password_forgot", request_method="GET", renderer="password_forgot.jinja2")
def forgot_form(request: Request) -> dict[str, Any]:
    if not TenantAuthPolicy.of(request.tenant).password_reset_allowed:
        request.response.status = 403
        return {"sent": None, "error": SSO_ONLY, "email": "", "refused": True}
    return {"sent": None, "error": None, "email": ""}


@view_config(route_name="password_forgot", request_method="POST", renderer="password_forgot.jinja2")
def forgot(request: Request) -> dict[str, Any]:
    try:
        email = text(request, "email", 320)
        request.find_service(PasswordReset).request_link(request.tenant, email)
    except NotAllowed as err:
        request.response.status = 403
        return {"sent": None, "error": str(err), "email": "", "refused": True}
    except InvalidValue as err:
        request.response.status = 400
        return {"sent": None, "error": err.message, "email": request.POST.get("email", "")}
    sent = N_(
        "If this email is registered with %(practice)s, a link to set a new password is on its way. "
        "It works once, for one hour.",
        practice=request.tenant.name,
    )
    return {"sent": sent, "error": None, "email": ""}


@view_config(route_name="password_reset", request_method="GET", renderer="password_reset.jinja2")
def reset_form(request: Request) -> dict[str, Any]:
    try:
        link = request.find_service(PasswordReset).open_link(request.tenant, request.matchdict["token"])
    except DomainError as err:
        request.response.status = 403 if isinstance(err, NotAllowed) else 404
        return {"invalid": str(err), "error": None, "purpose": None}
    return {"invalid": None, "error": None, "purpose": link.purpose}


@view_config(route_name="password_reset", request_method="POST", renderer="password_reset.jinja2")
def reset(request: Request) -> Any:
    service = request.find_service(PasswordReset)
    try:
        password, confirmation = text(request, "password"), text(request, "password_confirm")
        if password != confirmation:
            raise InvalidValue("password_confirm", PASSWORDS_DIFFER)
        service.complete(request.tenant, request.matchdict["token"], password)
    except InvalidValue as err:
        request.response.status = 400
        return {"invalid": None, "error": err.message, "purpose": None}
    except (InvalidResetToken, NotAllowed) as err:
        request.response.status = 403 if isinstance(err, NotAllowed) else 404
        return {"invalid": str(err), "error": None, "purpose": None}
    return HTTPSeeOther(request.route_path("login", _query={"password_set": "1"}))
