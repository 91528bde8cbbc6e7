from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.security import forget, remember
from pyramid.view import view_config

from domain.errors import AccountDeactivated, DomainError, LoginFailed, LoginThrottled, NotAllowed
from domain.passwords.login import PasswordLogin
from domain.tenancy.policy import TenantAuthPolicy
from domain.sso.logout import ProviderLogout
from domain.sso.sign_in import SingleSignOn
from domain.practitioners.practitioner import LoginMethod
from entrypoints.web.features.sso.session_keys import LOGOUT_KEY
from entrypoints.web.forms import safe_next, text
from entrypoints.web.links import RequestLinks

# How each refusal is reported: the status a client can act on, the words come from the domain.
STATUS = {LoginFailed: 401, LoginThrottled: 429, AccountDeactivated: 403, NotAllowed: 403}


def _page(request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "policy": TenantAuthPolicy.of(request.tenant),
        "providers": request.find_service(SingleSignOn).enabled_providers(request.tenant),
        "email": "",
        "error": None,
        "next": safe_next(request.params.get("next")),
        **extra,
    }


@view_config(route_name="login", request_method="GET", renderer="login.jinja2")
def login_form(request: Request) -> Any:
    if request.identity is not None:
        return HTTPSeeOther(safe_next(request.params.get("next")))
    return _page(request)


@view_config(route_name="login", request_method="POST", renderer="login.jinja2")
def login(request: Request) -> Any:
    email = request.POST.get("email", "")
    try:
        practitioner = request.find_service(PasswordLogin).log_in(
            request.tenant,
            text(request, "email", 320),
            text(request, "password"),
            # REMOTE_ADDR, which the server sets from a trusted proxy (waitress trusted_proxy; under
            # gunicorn the middleware gunicorn.conf.py installs); never client_addr, which any client forges.
            request.remote_addr or "unknown",
        )
    except DomainError as err:
        request.response.status = STATUS.get(type(err), 400)
        return _page(request, email=email if isinstance(email, str) else "", error=str(err))
    remember(request, practitioner.id, method=LoginMethod.PASSWORD)
    return HTTPSeeOther(safe_next(request.POST.get("next")))


@view_config(route_name="logout", request_method="POST")
def logout(request: Request) -> Any:
    at_provider = None
    if request.identity is not None:  # a browser whose session already ended has nobody to log out
        at_provider = request.find_service(ProviderLogout).log_out(
            request.tenant,
            request.identity,
            request.session.provider_session(),  # read before the session ends
            RequestLinks(request).post_logout_redirect_uri(),
        )
    forget(request)
    if at_provider is None:
        return HTTPSeeOther(request.route_path("login", _query={"logged_out": "1"}))
    # in a new session without anybody in it, which the provider's redirect back brings the state to
    request.session[LOGOUT_KEY] = at_provider.to_dict()
    return HTTPSeeOther(at_provider.url)
