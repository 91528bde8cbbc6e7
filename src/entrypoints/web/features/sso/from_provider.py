"""What the identity provider starts: its redirect back after a logout there (RP-Initiated Logout),
its logout tokens (Back-Channel Logout, server to server) and a sign-in its app launcher begins
(third-party initiated login, OpenID Connect Core 4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from domain.errors import DomainError, N_, ProviderUnavailable, UnknownProvider
from domain.sso.logout import BackChannelLogout, PendingLogout, ProviderLogout
from domain.sso.sign_in import SingleSignOn
from entrypoints.web.features.sso.login import refusal
from entrypoints.web.features.sso.session_keys import LOGIN_KEY, LOGOUT_KEY
from entrypoints.web.forms import query_text, safe_next
from entrypoints.web.links import RequestLinks
from entrypoints.web.readable import oauth_error

INITIATION_PARAMETERS = ("iss", "login_hint", "target_link_uri")  # OpenID Connect Core 4
MAX_LOGOUT_TOKEN_LENGTH = 20_000  # a signed JWT of a few claims is well under 2,000 characters


def _pending_logout(request: Request) -> PendingLogout | None:
    kept = request.session.pop(LOGOUT_KEY, None)  # single use, whatever happens next
    try:
        return PendingLogout.from_dict(kept) if isinstance(kept, dict) else None
    except (TypeError, ValueError, KeyError):
        return None


@view_config(route_name="sso_logged_out", request_method="GET", renderer="error.jinja2")
def logged_out(request: Request) -> Any:
    """The provider's redirect back after the logout there: only with the state this browser's
    logout was sent with, so nobody can send a browser here to show it a logout of theirs."""
    pending = _pending_logout(request)
    if not request.find_service(ProviderLogout).came_back(pending, query_text(request, "state")[:200]):
        request.response.status = 400
        return {
            "title": N_("This logout cannot be confirmed"),
            "message": N_(
                "The identity provider's answer does not belong to a logout started in this browser, "
                "or it came too late. You are logged out of the portal either way."
            ),
        }
    return HTTPSeeOther(request.route_path("login", _query={"logged_out": "1"}))


@view_config(route_name="sso_backchannel_logout", request_method="POST", require_csrf=False)
def backchannel_logout(request: Request) -> Response:
    """A server posts here, with no browser session and no CSRF token: the signed token is the proof."""
    token = request.POST.get("logout_token")
    if not isinstance(token, str) or not token or len(token) > MAX_LOGOUT_TOKEN_LENGTH:
        return oauth_error("send the logout token as the form field logout_token")
    try:
        request.find_service(BackChannelLogout).end_sessions(request.tenant, token)
    except ProviderUnavailable as unavailable:  # its keys could not be read: the provider may retry
        return oauth_error(str(unavailable), 503, "temporarily_unavailable")
    except DomainError as refused:
        return oauth_error(str(refused))
    answer = Response(status=200)
    answer.cache_control = "no-store"
    return answer


@view_config(route_name="sso_initiate", request_method=("GET", "POST"), renderer="error.jinja2", require_csrf=False)
def initiate(request: Request) -> Any:
    """Starts a normal sign-in at the provider named by ``iss``; never takes a token or code."""
    if request.method == "POST":
        # A launcher's cross-site POST carries no SameSite=Lax cookie, so a sign-in started by it
        # would replace the browser's session (logging it out). The same request as a GET, a
        # top-level navigation, brings the browser's cookie along; nothing is kept before it.
        given = {name: _parameter(request, name) for name in INITIATION_PARAMETERS}
        return HTTPSeeOther(request.route_path("sso_initiate", _query={k: v for k, v in given.items() if v}))
    try:
        pending, url = request.find_service(SingleSignOn).initiate(
            request.tenant,
            _parameter(request, "iss"),
            _same_origin_path(request, _parameter(request, "target_link_uri")),
            RequestLinks(request).redirect_uri(),
            typed_email=_parameter(request, "login_hint")[:320],
            language=request.locale_name,
        )
    except DomainError as err:
        page = refusal(request, err)
        if isinstance(err, UnknownProvider):  # the issuer the request names: a bad request, not a page gone
            request.response.status = 400
        return page
    request.session[LOGIN_KEY] = pending.to_dict()
    return HTTPSeeOther(url)


def _parameter(request: Request, name: str) -> str:
    """A parameter of the query (GET) or the form (POST); empty when missing or repeated oddly."""
    value = request.params.get(name, "")
    return value[:2000] if isinstance(value, str) else ""


def _same_origin_path(request: Request, target: str) -> str:
    """``target_link_uri`` as a path of this instance: an absolute URL counts only on this
    instance's own origin (from settings), anything else leads to the start page."""
    if target.startswith("/"):
        return safe_next(target)
    origin = RequestLinks(request).instance_origin()
    try:
        parts, own = urlsplit(target), urlsplit(origin)
    except ValueError:  # such as an unclosed [IPv6 literal
        return "/"
    if (parts.scheme.lower(), parts.netloc.lower()) != (own.scheme, own.netloc):
        return "/"
    return safe_next((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
