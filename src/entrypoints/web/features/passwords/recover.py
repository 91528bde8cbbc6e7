"""The owner's recovery link, /recover/{token}: one sign-in past the login policy (domain.passwords.recovery)."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.security import remember
from pyramid.view import view_config

from domain.errors import DomainError, InvalidResetToken, InvalidValue, LoginFailed, LoginThrottled
from domain.passwords.new_password import PASSWORDS_DIFFER
from domain.passwords.recovery import RECOVERY_SESSION_LIFETIME, OwnerRecovery, RecoveryLink, RecoveryNotice
from domain.practitioners.practitioner import LoginMethod, Practitioner
from entrypoints.web.forms import text

STATUS = {LoginFailed: 401, LoginThrottled: 429}


def recovery_notice(request: Request) -> RecoveryNotice | None:
    """``request.recovery_notice``, read by the admin pages' notice (recovery_notice.jinja2)."""
    service: OwnerRecovery = request.find_service(OwnerRecovery)
    return service.notice(request.tenant)


def _page(link: RecoveryLink, error: str | None = None) -> dict[str, Any]:
    return {"invalid": None, "email": link.owner.email, "needs_password": link.needs_password, "error": error}


def _refused(request: Request, err: InvalidResetToken) -> dict[str, Any]:
    request.response.status = 404
    return {"invalid": str(err), "email": None, "needs_password": False, "error": None}


@view_config(route_name="recover", request_method="GET", renderer="recover.jinja2")
def recover_form(request: Request) -> dict[str, Any]:
    try:
        return _page(request.find_service(OwnerRecovery).open_link(request.tenant, request.matchdict["token"]))
    except InvalidResetToken as err:
        return _refused(request, err)


def _sign_in(request: Request, service: OwnerRecovery, link: RecoveryLink) -> Practitioner:
    token, password = request.matchdict["token"], text(request, "password")
    if not link.needs_password:
        # REMOTE_ADDR, as the login form counts it (see features/passwords/login.py).
        return service.sign_in(request.tenant, token, password, request.remote_addr or "unknown")
    if password != text(request, "password_confirm"):
        raise InvalidValue("password_confirm", PASSWORDS_DIFFER)
    return service.choose_password(request.tenant, token, password)


@view_config(route_name="recover", request_method="POST", renderer="recover.jinja2")
def recover(request: Request) -> Any:
    service = request.find_service(OwnerRecovery)
    try:
        link = service.open_link(request.tenant, request.matchdict["token"])
    except InvalidResetToken as err:
        return _refused(request, err)
    try:
        owner = _sign_in(request, service, link)
    except InvalidResetToken as err:  # used meanwhile, by a request that got there first
        return _refused(request, err)
    except DomainError as err:
        request.response.status = STATUS.get(type(err), 400)
        return _page(link, err.message if isinstance(err, InvalidValue) else str(err))
    remember(request, owner.id, method=LoginMethod.RECOVERY)
    request.session.shorten(RECOVERY_SESSION_LIFETIME)
    # Where the owner repairs the provider that locked everyone out.
    return HTTPSeeOther(request.route_path("admin_authentication"))
