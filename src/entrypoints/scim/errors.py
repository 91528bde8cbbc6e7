"""SCIM errors (RFC 7644 §3.12): every failure under /scim answers in the SCIM error format.

Views raise; they never catch-and-return. An exception view renders the answer, and
pyramid_tm aborts the transaction of any request whose response came from an exception
view, so a refused write leaves nothing half-written.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pyramid.httpexceptions import HTTPException
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config
from sqlalchemy.exc import IntegrityError

from domain.errors import (
    EmailAlreadyRegistered,
    InvalidValue,
    NotAllowed,
    NotUnique,
    ProtectedState,
    UnknownPractitioner,
    VersionMismatch,
)
from domain.provisioning.scim_group import UnknownGroup
from entrypoints.web.tenancy import HostNotServed, NoSuchInstance

log = logging.getLogger(__name__)

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
MEDIA_TYPE = "application/scim+json"
SCIM_PATHS = r"^/scim(/|$)"


class ScimError(Exception):
    def __init__(
        self, status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}


def unauthorized(detail: str) -> ScimError:
    return ScimError(401, detail, headers={"WWW-Authenticate": 'Bearer realm="scim"'})


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status=status,
        content_type=MEDIA_TYPE,
        charset="utf-8",
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_response(
    status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = detail
    return json_response(body, status, headers)


# ---- exception views; registered by config.scan of this module -------------------------


@exception_view_config(ScimError)
def scim_error(exc: ScimError, request: Request) -> Response:
    return error_response(exc.status, exc.detail, exc.scim_type, exc.headers)


# Domain errors are turned into SCIM errors only on SCIM paths; the pages keep their own handling.
@exception_view_config(InvalidValue, path_info=SCIM_PATHS)
def invalid_value(exc: InvalidValue, request: Request) -> Response:
    field = {
        "email": "emails",
        "first_name": "name.givenName",
        "last_name": "name.familyName",
        "job_title": "title",
        "phone": "phoneNumbers",
    }.get(exc.field, exc.field)
    return error_response(400, f"{field}: {exc.message}", "invalidValue")


@exception_view_config(NotUnique, path_info=SCIM_PATHS)
@exception_view_config(EmailAlreadyRegistered, path_info=SCIM_PATHS)
def not_unique(exc: Exception, request: Request) -> Response:
    return error_response(409, str(exc), "uniqueness")


@exception_view_config(IntegrityError, path_info=SCIM_PATHS)
def integrity_error(exc: IntegrityError, request: Request) -> Response:
    # A concurrent writer took the same unique value between our check and the insert.
    log.info("SCIM write refused by a database constraint: %s", exc.orig)
    return error_response(409, "a unique attribute is already taken in this practice", "uniqueness")


@exception_view_config(VersionMismatch, path_info=SCIM_PATHS)
def version_mismatch(exc: VersionMismatch, request: Request) -> Response:
    return error_response(412, str(exc))


@exception_view_config(NotAllowed, path_info=SCIM_PATHS)
def not_allowed(exc: NotAllowed, request: Request) -> Response:
    # RFC 7644 §3.12: 403, the operation is not permitted. `mutability` where an attribute may not
    # take the sent value in its current state (the owner's `active`); no scimType for a refusal
    # that is about who asks.
    attribute = exc.attribute if isinstance(exc, ProtectedState) else None
    return error_response(403, str(exc), "mutability" if attribute else None)


@exception_view_config(UnknownPractitioner, path_info=SCIM_PATHS)
def unknown_practitioner(exc: UnknownPractitioner, request: Request) -> Response:
    return error_response(404, "no such User in this practice")


@exception_view_config(UnknownGroup, path_info=SCIM_PATHS)
def unknown_group(exc: UnknownGroup, request: Request) -> Response:
    return error_response(404, "no such Group in this practice")


@exception_view_config(NoSuchInstance, path_info=SCIM_PATHS)
def no_such_instance(exc: NoSuchInstance, request: Request) -> Response:
    return error_response(404, f"there is no instance called {exc.slug!r}")


@exception_view_config(HostNotServed, path_info=SCIM_PATHS)
def host_not_served(exc: HostNotServed, request: Request) -> Response:
    return error_response(400, "this address is not served by Practice Portal")


@exception_view_config(UnicodeDecodeError, path_info=SCIM_PATHS)
def undecodable(exc: UnicodeDecodeError, request: Request) -> Response:
    return error_response(400, "the request is not valid UTF-8", "invalidSyntax")


@exception_view_config(Exception, path_info=SCIM_PATHS)
def unexpected(exc: Exception, request: Request) -> Response:
    if isinstance(exc, HTTPException):
        return error_response(exc.code or 500, exc.title or "error")
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(500, "internal error; nothing was saved")
