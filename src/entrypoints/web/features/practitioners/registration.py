"""/register: what a practice offers newcomers (RegistrationOffer). In the standard workflow the
portal's form and a button per provider; in pseudo-SSO a link to the provider's own registration
page, which the admin sets.

The form's answer is the same whether or not the email is already registered (its owner gets a
mail either way), so the page tells nobody which addresses have an account here.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from domain.errors import N_, InvalidValue, NotAllowed
from domain.practitioners.registration import RegistrationsThrottled, SelfRegistration
from domain.sso.sign_in import SingleSignOn
from domain.tenancy.login_policy import RegistrationOffer
from entrypoints.web.forms import sentence, text

FIELDS = ("email", "first_name", "last_name")


def _closed(request: Request, message: str) -> dict[str, Any]:
    request.override_renderer = "error.jinja2"
    request.response.status = 404
    return {"title": N_("No registration here"), "message": sentence(message)}


def _offer(request: Request) -> RegistrationOffer:
    return RegistrationOffer.of(request.tenant, request.find_service(SingleSignOn).enabled_providers(request.tenant))


def _page(offer: RegistrationOffer | None, **extra: Any) -> dict[str, Any]:
    return {"offer": offer, "form": dict.fromkeys(FIELDS, ""), "errors": {}, "sent": None, **extra}


@view_config(route_name="register", request_method="GET", renderer="register.jinja2")
def register_form(request: Request) -> dict[str, Any]:
    offer = _offer(request)
    if offer.closed_because is not None:
        return _closed(request, offer.closed_because)
    return _page(offer)


@view_config(route_name="register", request_method="POST", renderer="register.jinja2")
def register(request: Request) -> dict[str, Any]:
    """The portal's form; SelfRegistration refuses it wherever the offer holds no form."""
    form = {name: value if isinstance(value := request.POST.get(name, ""), str) else "" for name in FIELDS}
    try:
        email, first_name, last_name = (text(request, name, 320) for name in FIELDS)
        request.find_service(SelfRegistration).register(request.tenant, email, first_name, last_name)
    except NotAllowed as err:
        return _closed(request, _offer(request).closed_because or str(err))
    except RegistrationsThrottled as err:
        request.override_renderer = "error.jinja2"
        request.response.status = 429
        return {"title": N_("Too many registrations"), "message": str(err)}  # a whole sentence already
    except InvalidValue as err:
        request.response.status = 400
        return _page(_offer(request), form=form, errors={err.field: sentence(err.message)})
    sent = N_(
        "Check your mail. A link to choose your password is on its way to %(email)s; it works once. "
        "If this address already has an account at %(practice)s, the mail helps you into that account instead.",
        email=email.strip(),
        practice=request.tenant.name,
    )
    return _page(None, sent=sent)  # nothing else is shown
