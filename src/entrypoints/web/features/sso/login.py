"""The Single Sign On flow: the button, the provider's callback, the one-time-password step."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPSeeOther
from pyramid.request import Request
from pyramid.security import remember
from pyramid.view import view_config

from domain.errors import (
    N_,
    AccountDeactivated,
    CodeRequestsThrottled,
    DomainError,
    InvalidValue,
    LinkCodeRefused,
    ProviderUnavailable,
    UnknownProvider,
)
from domain.sso.confirmation import LinkConfirmation
from domain.sso.outcome import AlreadyLinked, ConfirmLink, LoggedIn, Outcome
from domain.sso.pending import PendingLink, PendingLogin
from domain.sso.sign_in import SingleSignOn
from domain.practitioners.practitioner import LoginMethod
from entrypoints.web.features.sso.test_sign_in import test_sign_in_report
from entrypoints.web.links import RequestLinks
from entrypoints.web.features.sso.session_keys import CODE_ASKED_KEY, LINK_KEY, LOGIN_KEY
from entrypoints.web.forms import query_text, safe_next, sentence, text

CALLBACK_PARAMETERS = ("state", "code", "error", "error_description", "iss")


# How each refusal is reported: the status a client can act on; anything else is 400.
STATUS = {UnknownProvider: 404, AccountDeactivated: 403, CodeRequestsThrottled: 429}


def refusal(request: Request, err: DomainError) -> dict[str, Any]:
    """How a failed sign-in is shown: 502 when the provider failed us, 4xx when it said no."""
    if isinstance(err, ProviderUnavailable):
        request.response.status = 502
        return {
            "title": N_("The identity provider did not answer properly"),
            "message": N_(
                "%(problem)s. Try again in a moment; if it keeps happening, tell your practice's administrator.",
                problem=str(err),
            ),
        }
    request.response.status = STATUS.get(type(err), 400)
    return {"title": N_("Single Sign On did not work"), "message": sentence(str(err))}


def _pending(request: Request, key: str, kind: type[Any]) -> Any:
    raw = request.session.get(key)
    try:
        return kind.from_dict(raw) if isinstance(raw, dict) else None
    except (TypeError, ValueError, KeyError):  # a session written by an older version
        return None


@view_config(route_name="sso_start", request_method="POST", renderer="error.jinja2")
def start(request: Request) -> Any:
    linking = request.POST.get("purpose") == "link"
    if linking and request.identity is None:
        raise HTTPForbidden()
    try:
        pending, url = request.find_service(SingleSignOn).begin(
            request.tenant,
            request.matchdict["provider"],
            safe_next(request.POST.get("next")),
            RequestLinks(request).redirect_uri(),
            request.identity if linking else None,
            # the email typed on the login page (a field), or ?login_hint= of a link to this button;
            # only hint, so anything odd is simply not passed on
            typed_email=query_text(request, "login_hint")[:320],
            language=request.locale_name,
        )
    except DomainError as err:
        return refusal(request, err)
    request.session[LOGIN_KEY] = pending.to_dict()
    return HTTPSeeOther(url)


@view_config(route_name="process_sso", request_method="GET", renderer="error.jinja2")
def process_sso(request: Request) -> Any:
    pending = _pending(request, LOGIN_KEY, PendingLogin)
    request.session.pop(LOGIN_KEY, None)  # single use, whatever happens next
    callback = {k: v[:4096] for k in CALLBACK_PARAMETERS if isinstance(v := request.GET.get(k), str)}
    if pending is not None and pending.is_test:  # an admin's test sign-in: a report; nobody logs in
        return test_sign_in_report(request, pending, callback)
    try:
        outcome = request.find_service(SingleSignOn).complete(
            request.tenant, pending, callback, RequestLinks(request).redirect_uri()
        )
    except DomainError as err:
        return refusal(request, err)
    return _redirect_after(request, outcome)


def _redirect_after(request: Request, outcome: Outcome) -> HTTPSeeOther:
    """Where each outcome of the callback sends the browser."""
    match outcome:
        case LoggedIn(practitioner, next_path, through):
            remember(request, practitioner.id, method=LoginMethod.SSO, through=through)
            return HTTPSeeOther(safe_next(next_path))
        case AlreadyLinked():
            request.session.flash(request.say(N_("This account at the provider is already linked to you.")))
            return HTTPSeeOther(request.route_path("account_linked"))
        case ConfirmLink(pending, code_sent):
            request.session[LINK_KEY] = pending.to_dict()
            request.session[CODE_ASKED_KEY] = code_sent
            return HTTPSeeOther(request.route_path("sso_link"))


def _link_page(request: Request, pending: PendingLink | None, **extra: Any) -> dict[str, Any]:
    return {
        "pending": pending,
        "code_asked": bool(request.session.get(CODE_ASKED_KEY)),
        "error": None,
        "notice": None,
        "email": "",
        **extra,
    }


@view_config(route_name="sso_link", request_method="GET", renderer="sso_link.jinja2")
def link_form(request: Request) -> dict[str, Any]:
    pending = _pending(request, LINK_KEY, PendingLink)
    if pending is None:
        request.response.status = 400
    return _link_page(request, pending)


@view_config(route_name="sso_link", request_method="POST", renderer="sso_link.jinja2")
def link(request: Request) -> Any:
    pending = _pending(request, LINK_KEY, PendingLink)
    if pending is None:
        request.response.status = 400
        return _link_page(request, None)
    confirmation = request.find_service(LinkConfirmation)
    try:
        if "code" in request.POST:
            practitioner = confirmation.confirm(request.tenant, pending, text(request, "code", 32))
        else:
            # REMOTE_ADDR, as for the login throttle: never a forgeable X-Forwarded-For.
            confirmation.request_code(
                request.tenant, pending, text(request, "email", 320), request.remote_addr or "unknown"
            )
            request.session[CODE_ASKED_KEY] = True
            return _link_page(
                request,
                pending,
                notice=N_("If this email is registered here, a code is on its way to it. It is valid for 10 minutes."),
            )
    except InvalidValue as err:
        request.response.status = 400
        return _link_page(request, pending, error=err.message, email=request.POST.get("email", ""))
    except LinkCodeRefused as err:
        request.response.status = STATUS.get(type(err), 400)
        return _link_page(request, pending, error=sentence(str(err)), email=request.POST.get("email", ""))
    except DomainError as err:
        for key in (LINK_KEY, CODE_ASKED_KEY):
            request.session.pop(key, None)
        return _link_page(request, None, **refusal(request, err))
    if pending.practitioner_id is None:
        # also ends the pending link: a new session, opened through the provider
        remember(request, practitioner.id, method=LoginMethod.SSO, through=pending.provider_session())
        return HTTPSeeOther(safe_next(pending.next_path))
    for key in (LINK_KEY, CODE_ASKED_KEY):
        request.session.pop(key, None)
    request.session.flash(request.say(N_("Single Sign On is linked to your account.")))
    return HTTPSeeOther(request.route_path("account_linked"))
