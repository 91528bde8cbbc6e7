"""SCIM endpoints: read the request, call one domain service, answer in SCIM JSON.

Errors are raised, never returned (see errors.py), so a failed write is rolled back whole.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from domain.model import Practitioner
from domain.provisioning import Provisioning, ScimQuery
from entrypoints.scim import ScimContext
from entrypoints.scim.errors import ScimError, json_response
from entrypoints.scim.filters import parse_user_filter
from entrypoints.scim.patch import translate_patch
from entrypoints.scim.resources import (
    MAX_RESULTS,
    RESOURCE_TYPE_SCHEMA,
    SCHEMA_SCHEMA,
    SEARCH_SCHEMA,
    USER_SCHEMA,
    list_response,
    parse_user,
    project,
    service_provider_config,
    storable_document,
    user_location,
    user_resource,
    user_resource_type,
    user_schema,
)

MAX_BODY_BYTES = 256 * 1024
JSON_TYPES = ("application/scim+json", "application/json")
MAX_START_INDEX = 1_000_000_000
INTEGER = re.compile(r"[+-]?[0-9]{1,30}")  # longer is refused rather than converted: it is clamped anyway

# Bearer-authenticated JSON API: no CSRF token, no ACL (hence no session): the route factory
# (ScimContext) has already refused every request without a valid token of this tenant.
scim_view = functools.partial(view_config, require_csrf=False, permission=NO_PERMISSION_REQUIRED)


def _context(request: Request) -> ScimContext:
    return request.context  # type: ignore[no-any-return]


def _provisioning(request: Request) -> Provisioning:
    return request.find_service(Provisioning)  # type: ignore[no-any-return]


def read_json(request: Request) -> Any:
    if request.content_type and request.content_type.lower() not in JSON_TYPES:
        raise ScimError(415, "send the body as application/scim+json (or application/json)")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ScimError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    raw = request.body_file.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ScimError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        raise ScimError(400, "the body is not valid JSON", "invalidSyntax") from None
    return storable_document(document)


def _if_match(request: Request, practitioner: Practitioner) -> str | None:
    """The If-Match header as the domain compares it: its ETag when any listed tag matches it."""
    header: str | None = request.headers.get("If-Match")
    if header is None:
        return None
    current = Provisioning.etag(practitioner)
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*":
            return "*"
        # Weak comparison (RFC 9110 §8.8.3.2): W/"3" and "3" name the same version.
        if tag.removeprefix("W/") == current.removeprefix("W/"):
            return current
    return header.strip()


def _user_response(request: Request, practitioner: Practitioner, status: int = 200, **headers: str) -> Response:
    # Flush first: the data layer bumps the version (the ETag) and lastModified on write.
    request.dbsession.flush()
    body = project(user_resource(request, practitioner), request.GET.get("attributes"), request.GET.get("excludedAttributes"))
    return json_response(body, status, {"ETag": Provisioning.etag(practitioner), **headers})


# ---- /Users -------------------------------------------------------------------------------


def _integer(name: str, raw: object, default: int) -> int:
    """A JSON integer or a string of ASCII digits; a float (1.5, 1e400 or Infinity), a boolean or anything else is refused."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and INTEGER.fullmatch(raw.strip()):
        return int(raw)
    raise ScimError(400, f"{name} must be an integer", "invalidValue")


def _attribute_list(name: str, raw: object) -> str | None:
    """attributes / excludedAttributes: comma-separated in a query, a list of strings in a SearchRequest."""
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return ",".join(raw)
    raise ScimError(400, f"{name} must be a list of attribute names", "invalidValue")


def _search(request: Request, parameters: dict[str, object]) -> Response:
    context = _context(request)
    start_index = min(max(_integer("startIndex", parameters.get("startindex"), 1), 1), MAX_START_INDEX)
    count = min(max(_integer("count", parameters.get("count"), MAX_RESULTS), 0), MAX_RESULTS)
    filter_text = parameters.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise ScimError(400, "filter must be a string", "invalidFilter")
    query, satisfiable = parse_user_filter(filter_text) if filter_text and filter_text.strip() else (ScimQuery(), True)
    practitioners, total = _provisioning(request).search(context.tenant, query, start_index - 1, count) if satisfiable else ([], 0)
    attributes = _attribute_list("attributes", parameters.get("attributes"))
    excluded = _attribute_list("excludedAttributes", parameters.get("excludedattributes"))
    resources = [project(user_resource(request, p), attributes, excluded) for p in practitioners]
    return json_response(list_response(resources, total, start_index))


@scim_view(route_name="scim_users", request_method="GET")
def list_users(request: Request) -> Response:
    return _search(request, {key.lower(): value for key, value in request.GET.items()})


@scim_view(route_name="scim_users_search", request_method="POST")
def search_users(request: Request) -> Response:
    """Querying with POST (RFC 7644 §3.4.3): a SearchRequest body instead of query parameters."""
    body = read_json(request)
    if not isinstance(body, dict):
        raise ScimError(400, "the request body must be a JSON object", "invalidSyntax")
    parameters = {str(key).lower(): value for key, value in body.items()}
    schemas = parameters.get("schemas")
    if not isinstance(schemas, list) or SEARCH_SCHEMA.lower() not in [str(s).lower() for s in schemas]:
        raise ScimError(400, f"a search request has the schema {SEARCH_SCHEMA}", "invalidSyntax")
    return _search(request, parameters)


@scim_view(route_name="scim_users", request_method="POST")
def create_user(request: Request) -> Response:
    context = _context(request)
    user = parse_user(read_json(request))
    practitioner = _provisioning(request).create(context.tenant, context.authority, user)
    return _user_response(request, practitioner, 201, Location=user_location(request, practitioner))


# ---- /Users/{id} --------------------------------------------------------------------------


@scim_view(route_name="scim_user", request_method="GET")
def get_user(request: Request) -> Response:
    practitioner = _provisioning(request).get(_context(request).tenant, request.matchdict["id"])
    return _user_response(request, practitioner)


@scim_view(route_name="scim_user", request_method="PUT")
def replace_user(request: Request) -> Response:
    context = _context(request)
    provisioning = _provisioning(request)
    practitioner = provisioning.get(context.tenant, request.matchdict["id"])
    user = parse_user(read_json(request), resource_id=practitioner.id)
    practitioner = provisioning.replace(context.tenant, context.authority, practitioner.id, user, _if_match(request, practitioner))
    return _user_response(request, practitioner)


@scim_view(route_name="scim_user", request_method="PATCH")
def patch_user(request: Request) -> Response:
    context = _context(request)
    provisioning = _provisioning(request)
    practitioner = provisioning.get(context.tenant, request.matchdict["id"])
    changes = translate_patch(read_json(request), practitioner)
    practitioner = provisioning.patch(context.tenant, context.authority, practitioner.id, changes, _if_match(request, practitioner))
    return _user_response(request, practitioner)


@scim_view(route_name="scim_user", request_method="DELETE")
def delete_user(request: Request) -> Response:
    context = _context(request)
    provisioning = _provisioning(request)
    practitioner = provisioning.get(context.tenant, request.matchdict["id"])
    provisioning.delete(context.tenant, context.authority, practitioner.id, _if_match(request, practitioner))
    return Response(status=204)


# ---- discovery ----------------------------------------------------------------------------


@scim_view(route_name="scim_service_provider_config", request_method="GET")
def get_service_provider_config(request: Request) -> Response:
    return json_response(service_provider_config(request))


@scim_view(route_name="scim_schemas", request_method="GET")
def list_schemas(request: Request) -> Response:
    return json_response(list_response([user_schema(request)], 1, 1))


@scim_view(route_name="scim_schema", request_method="GET")
def get_schema(request: Request) -> Response:
    if request.matchdict["id"].lower() != USER_SCHEMA.lower():
        raise ScimError(404, f"no {SCHEMA_SCHEMA.rsplit(':', 1)[-1]} with that id; this service has {USER_SCHEMA}")
    return json_response(user_schema(request))


@scim_view(route_name="scim_resource_types", request_method="GET")
def list_resource_types(request: Request) -> Response:
    return json_response(list_response([user_resource_type(request)], 1, 1))


@scim_view(route_name="scim_resource_type", request_method="GET")
def get_resource_type(request: Request) -> Response:
    if request.matchdict["id"].lower() != "user":
        raise ScimError(404, f"no {RESOURCE_TYPE_SCHEMA.rsplit(':', 1)[-1]} with that id; this service has User")
    return json_response(user_resource_type(request))


@scim_view(route_name="scim_root_search")
def root_search(request: Request) -> Response:
    # RFC 7644 §3.4.3 allows the server root; there is one resource type, so /Users/.search serves.
    raise ScimError(501, "searching several resource types at once is not supported; use /Users/.search")


# ---- everything else ----------------------------------------------------------------------


@scim_view(route_name="scim_users")
@scim_view(route_name="scim_users_search")
@scim_view(route_name="scim_user")
@scim_view(route_name="scim_service_provider_config")
@scim_view(route_name="scim_schemas")
@scim_view(route_name="scim_schema")
@scim_view(route_name="scim_resource_types")
@scim_view(route_name="scim_resource_type")
def method_not_allowed(request: Request) -> Response:
    raise ScimError(405, f"{request.method} is not supported here")


@scim_view(route_name="scim_other")
def not_found(request: Request) -> Response:
    raise ScimError(404, "no such SCIM endpoint; this service has Users, ServiceProviderConfig, Schemas and ResourceTypes")
