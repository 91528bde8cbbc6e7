"""/email/confirm/{token}: the practitioner proves the new email an admin entered for them.

GET shows what the link changes and a button, and writes nothing: a mail scanner that opens
the link neither spends it nor changes the email. POST applies the change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from domain.errors import DomainError, EmailAlreadyRegistered, InvalidResetToken, NotAllowed
from domain.practitioners.email_change import EmailChange
from domain.tenancy.tenant import Tenant
from entrypoints.web.forms import sentence


# 403: the practice's policy refuses; 404: the link opens nothing; 409: the address was taken meanwhile.
_STATUS = ((NotAllowed, 403), (InvalidResetToken, 404), (EmailAlreadyRegistered, 409))


def _refused(request: Request, err: DomainError) -> dict[str, Any]:
    request.response.status = next((status for kind, status in _STATUS if isinstance(err, kind)), 400)
    return {"invalid": sentence(str(err)), "pending": None, "done": None}


def _page(request: Request, step: Callable[[EmailChange, Tenant, str], object], shown: str) -> dict[str, Any]:
    """The page after ``step`` of the link (showing it, or applying it): what it gave, or the refusal."""
    try:
        result = step(request.find_service(EmailChange), request.tenant, request.matchdict["token"])
    except DomainError as err:
        return _refused(request, err)
    return {"invalid": None, "pending": None, "done": None, shown: result}


@view_config(route_name="email_confirm", request_method="GET", renderer="email_confirm.jinja2")
def confirm_form(request: Request) -> dict[str, Any]:
    return _page(request, EmailChange.open_link, "pending")  # reads only: opening a link changes nothing


@view_config(route_name="email_confirm", request_method="POST", renderer="email_confirm.jinja2")
def confirm(request: Request) -> dict[str, Any]:
    return _page(request, EmailChange.confirm, "done")
