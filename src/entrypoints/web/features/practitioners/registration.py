"""/register: a practitioner creates their own account, when the practice takes registrations.

The answer is the same whether or not the email is already registered (its owner gets a mail
either way), so the page tells nobody which addresses have an account here.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from domain.errors import InvalidValue, NotAllowed
from domain.tenancy.policy import TenantAuthPolicy
from domain.practitioners.registration import SelfRegistration
from entrypoints.web.forms import sentence, text

FIELDS = ("email", "first_name", "last_name")
SENT = (
    "Check your mail. A link to choose your password is on its way to {email}; it works once. "
    "If this address already has an account at {practice}, the mail helps you into that account instead."
)
CLOSED = "this practice does not take registrations; ask its administrator for an account"


def _closed(request: Request, message: str = CLOSED) -> dict[str, Any]:
    request.override_renderer = "error.jinja2"
    request.response.status = 404
    return {"title": "No registration here", "message": sentence(message)}


def _page(**extra: Any) -> dict[str, Any]:
    return {"form": dict.fromkeys(FIELDS, ""), "errors": {}, "sent": None, **extra}


@view_config(route_name="register", request_method="GET", renderer="register.jinja2")
def register_form(request: Request) -> dict[str, Any]:
    if not TenantAuthPolicy.of(request.tenant).self_registration_allowed:
        return _closed(request)
    return _page()


@view_config(route_name="register", request_method="POST", renderer="register.jinja2")
def register(request: Request) -> dict[str, Any]:
    form = {name: value if isinstance(value := request.POST.get(name, ""), str) else "" for name in FIELDS}
    try:
        email, first_name, last_name = (text(request, name, 320) for name in FIELDS)
        request.find_service(SelfRegistration).register(request.tenant, email, first_name, last_name)
    except NotAllowed as err:
        return _closed(request, str(err))
    except InvalidValue as err:
        request.response.status = 400
        return _page(form=form, errors={err.field: sentence(err.message)})
    return _page(sent=SENT.format(email=email.strip(), practice=request.tenant.name))
