"""Friendly error pages: every failure gets words a person understands and the right status."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken
from pyramid.httpexceptions import HTTPException, HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.interfaces import IRoutesMapper
from pyramid.request import Request
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from pyramid_retry import is_error_retryable

from domain.errors import N_, Message
from entrypoints.web.tenancy import HostNotServed, NoSuchInstance, tenant_or_none

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorPage:
    status: int
    title: Message
    message: Message  # may name %(fields)s of the failure, filled in by shown()

    def shown(self, request: Request, **fields: str) -> dict[str, Any]:
        request.response.status = self.status
        return {"title": self.title, "message": Message(self.message.msgid, fields)}


UNKNOWN_ADDRESS = ErrorPage(400, N_("Unknown address"), N_("This address is not served by Practice Portal."))
NO_SUCH_PRACTICE = ErrorPage(
    404, N_("No such practice"), N_("The instance “%(slug)s” does not exist. Check the address you were given.")
)
FORM_EXPIRED = ErrorPage(
    400,
    N_("The form has expired"),
    N_("The form was out of date or sent from another site. Go back, reload the page and try again."),
)
PAGE_NOT_FOUND = ErrorPage(404, N_("Page not found"), N_("There is no page at this address."))
NOT_ALLOWED = ErrorPage(
    403,
    N_("Not allowed"),
    N_("Your account does not have the right to open this page. Ask your practice's account owner."),
)
UNEXPECTED = ErrorPage(
    500,
    N_("Something went wrong"),
    N_("Nothing was saved. Please try again in a moment; if it keeps happening, tell your practice's administrator."),
)


@exception_view_config(HostNotServed, renderer="error.jinja2")
def host_not_served(exc: HostNotServed, request: Request) -> dict[str, Any]:
    return UNKNOWN_ADDRESS.shown(request)


@exception_view_config(NoSuchInstance, renderer="error.jinja2")
def no_such_instance(exc: NoSuchInstance, request: Request) -> dict[str, Any]:
    return NO_SUCH_PRACTICE.shown(request, slug=exc.slug)


@exception_view_config(BadCSRFToken, renderer="error.jinja2")
@exception_view_config(BadCSRFOrigin, renderer="error.jinja2")
def bad_csrf(exc: Exception, request: Request) -> dict[str, Any]:
    return FORM_EXPIRED.shown(request)


@notfound_view_config(renderer="error.jinja2")
def not_found(exc: HTTPNotFound, request: Request) -> dict[str, Any]:
    return PAGE_NOT_FOUND.shown(request)


@forbidden_view_config(renderer="error.jinja2")
def forbidden(exc: HTTPForbidden, request: Request) -> Any:
    if request.identity is None and request.tenant is not None:
        # Only a page can be returned to; a refused POST has no page to come back to.
        query = {"next": request.path_qs} if request.method == "GET" else {}
        return HTTPSeeOther(request.route_path("login", _query=query))
    return NOT_ALLOWED.shown(request)


@exception_view_config(Exception, renderer="error.jinja2")
def unexpected(exc: Exception, request: Request) -> Any:
    if isinstance(exc, HTTPException):  # a redirect or an HTTP error raised on purpose
        return exc
    if is_error_retryable(request, exc):
        # The request is run again (pyramid_retry): nothing to show, and the page, which reads
        # the visit, could meet the same failure (a lost database connection).
        raise exc
    log.exception("unexpected error on %s %s", request.method, route_pattern(request))
    # The practice is named only if it was read before the failure, which may be the database's:
    # reading it again would fail this page too, and the server would answer a bare 500.
    tenant = tenant_or_none(request) if "visit" in request.__dict__ else None
    return {**UNEXPECTED.shown(request), "tenant": tenant}


def route_pattern(request: Request) -> str:
    """What a log line names of the request: the pattern of its route (``/recover/{token}``), never
    the path, which may carry a single-use token; the path only where no route matches it."""
    mapper = request.registry.getUtility(IRoutesMapper)
    for route in mapper.get_routes():
        if route.match(request.path_info) is not None:
            return str(route.pattern)
    return str(request.path)
