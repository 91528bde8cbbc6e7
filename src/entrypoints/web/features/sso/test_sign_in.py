"""Test sign-in: the button of each provider on /admin/authentication, and the report its callback
shows instead of logging anyone in (``login.process_sso`` hands a test's callback here)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from domain.errors import DomainError, InvalidValue, N_, Nn_, NotAllowed, UnknownProvider
from domain.sso.diagnosis import SignInTest, SignInTestResult
from domain.sso.pending import PendingLogin
from domain.sso.sign_in import SingleSignOn
from entrypoints.web.features.sso.session_keys import LOGIN_KEY
from entrypoints.web.forms import sentence, text
from entrypoints.web.links import RequestLinks

MAX_SHOWN = 500  # characters of a claim's value shown; a big claim (groups, a photo) is cut


@view_config(
    route_name="admin_authentication",
    request_method="POST",
    request_param="action=test",
    permission="manage_authentication",
)
def start_test(request: Request) -> Any:
    """The admin's browser goes to the provider, as for a login; the callback shows the checks."""
    try:
        provider_id = text(request, "provider_id", 64)
        if not provider_id:
            raise HTTPNotFound()
        pending, url = request.find_service(SingleSignOn).begin_test(
            request.tenant,
            request.identity,
            provider_id,
            RequestLinks(request).redirect_uri(),
            language=request.locale_name,
        )
    except (InvalidValue, UnknownProvider):  # a file, a character no id has, or no such provider here
        raise HTTPNotFound() from None
    request.session[LOGIN_KEY] = pending.to_dict()
    return HTTPSeeOther(url)


def test_sign_in_report(request: Request, pending: PendingLogin, callback: Mapping[str, str]) -> Response:
    """The checks of the test whose callback this is; refused unless this admin started it here."""
    try:
        result = request.find_service(SignInTest).run(
            request.tenant, request.identity, pending, callback, RequestLinks(request).redirect_uri()
        )
    except DomainError as refused:
        title = request.say(N_("The test sign-in cannot be shown"))
        refusal = {"title": title, "message": sentence(request.say(str(refused)))}
        response = render_to_response("error.jinja2", refusal, request)
        response.status = (
            403 if isinstance(refused, NotAllowed) else 404 if isinstance(refused, UnknownProvider) else 400
        )
        return response
    claims = shown_claims(result, request.say)
    page = {"result": result, "claims": claims, "redirect_uri": RequestLinks(request).redirect_uri()}
    response = render_to_response("admin_test_sign_in.jinja2", page, request)
    response.cache_control = "no-store"  # personal data from the provider stays out of every cache
    return response


def shown_claims(result: SignInTestResult, say: Callable[[str], str] = str) -> list[tuple[str, str]]:
    """The verified claims by name, each value as JSON text (a string as it is), cut when big
    (``say`` tells how long it was in the reader's language)."""
    if result.identity is None:
        return []
    shown = []
    for name, value in sorted(result.identity.claims.items()):
        rendered = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(rendered) > MAX_SHOWN:
            rendered = say(
                Nn_(
                    "%(start)s… (%(count)s character in all)",
                    "%(start)s… (%(count)s characters in all)",
                    len(rendered),
                    start=rendered[:MAX_SHOWN],
                )
            )
        shown.append((name, rendered))
    return shown
