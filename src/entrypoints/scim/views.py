"""SCIM endpoints: read the request, call one domain service, answer in SCIM JSON.

Errors are raised, never returned (see errors.py), so a failed write is rolled back whole.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.provisioning.scim_user import ScimQuery, ScimUser
from domain.provisioning.users import Provisioning
from domain.tenancy.tenant import Tenant
from entrypoints.scim import ScimContext
from entrypoints.scim.errors import ScimError, json_response
from entrypoints.scim.filters import parse_user_filter
from entrypoints.scim.parsing import integer, parse_user, read_json, selection
from entrypoints.scim.patch import translate_patch
from entrypoints.scim.rendering import base_url, list_response, project, user_location, user_resource, user_response
from entrypoints.scim.schema import (
    MAX_RESULTS,
    RESOURCE_TYPES,
    SCHEMAS,
    SEARCH_SCHEMA,
    Catalogue,
    service_provider_config,
)

MAX_START_INDEX = 1_000_000_000

# Bearer-authenticated JSON API: no CSRF token, no ACL (hence no session): the route factory
# (ScimContext) has already refused every request without a valid token of this tenant.
scim_view = functools.partial(view_config, require_csrf=False, permission=NO_PERMISSION_REQUIRED)


def _context(request: Request) -> ScimContext:
    return request.context  # type: ignore[no-any-return]


def _provisioning(request: Request) -> Provisioning:
    return request.find_service(Provisioning)  # type: ignore[no-any-return]


def _answer(request: Request, practitioner: Practitioner, status: int = 200, **headers: str) -> Response:
    wanted = selection(request.GET.get("attributes"), request.GET.get("excludedAttributes"))
    return user_response(request, practitioner, wanted, status, **headers)


# ---- /Users -------------------------------------------------------------------------------


def _search(request: Request, parameters: dict[str, object]) -> Response:
    context = _context(request)
    start_index = min(max(integer("startIndex", parameters.get("startindex"), 1), 1), MAX_START_INDEX)
    count = min(max(integer("count", parameters.get("count"), MAX_RESULTS), 0), MAX_RESULTS)
    filter_text = parameters.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise ScimError(400, "filter must be a string", "invalidFilter")
    query, satisfiable = parse_user_filter(filter_text) if filter_text and filter_text.strip() else (ScimQuery(), True)
    practitioners, total = (
        _provisioning(request).search(context.tenant, query, start_index - 1, count) if satisfiable else ([], 0)
    )
    wanted = selection(parameters.get("attributes"), parameters.get("excludedattributes"))
    resources = [project(user_resource(request, p), wanted) for p in practitioners]
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
    return _answer(request, practitioner, 201, Location=user_location(request, practitioner))


# ---- /Users/{id} --------------------------------------------------------------------------

# How a write reads its body (it may need the practitioner), and which Provisioning write it is.
BodyReader = Callable[[Any, Practitioner], ScimUser]
UserWrite = Callable[[Provisioning, Tenant, Authority, Practitioner, ScimUser, str | None], Practitioner]


def _named(request: Request) -> Practitioner:
    """The practitioner the URL names (404 when none), loaded once: the write is applied to it."""
    return _provisioning(request).get(_context(request).tenant, request.matchdict["id"])


def _update(request: Request, read: BodyReader, write: UserWrite) -> Response:
    context = _context(request)
    practitioner = _named(request)
    changes = read(read_json(request), practitioner)
    write(
        _provisioning(request),
        context.tenant,
        context.authority,
        practitioner,
        changes,
        request.headers.get("If-Match"),
    )
    return _answer(request, practitioner)


@scim_view(route_name="scim_user", request_method="GET")
def get_user(request: Request) -> Response:
    return _answer(request, _named(request))


@scim_view(route_name="scim_user", request_method="PUT")
def replace_user(request: Request) -> Response:
    return _update(
        request, lambda body, practitioner: parse_user(body, resource_id=practitioner.id), Provisioning.replace
    )


@scim_view(route_name="scim_user", request_method="PATCH")
def patch_user(request: Request) -> Response:
    return _update(request, translate_patch, Provisioning.patch)


@scim_view(route_name="scim_user", request_method="DELETE")
def delete_user(request: Request) -> Response:
    context = _context(request)
    practitioner = _named(request)
    _provisioning(request).delete(context.tenant, context.authority, practitioner, request.headers.get("If-Match"))
    return Response(status=204)


# ---- discovery ----------------------------------------------------------------------------


@scim_view(route_name="scim_service_provider_config", request_method="GET")
def get_service_provider_config(request: Request) -> Response:
    return json_response(service_provider_config(base_url(request)))


# Schemas and ResourceTypes are served alike: a list of their one document, or it by its id.
CATALOGUES: dict[str, Catalogue] = {
    "scim_schemas": SCHEMAS,
    "scim_schema": SCHEMAS,
    "scim_resource_types": RESOURCE_TYPES,
    "scim_resource_type": RESOURCE_TYPES,
}


@scim_view(route_name="scim_schemas", request_method="GET")
@scim_view(route_name="scim_resource_types", request_method="GET")
def list_catalogue(request: Request) -> Response:
    catalogue = CATALOGUES[request.matched_route.name]
    return json_response(list_response([catalogue.document(base_url(request))], 1, 1))


@scim_view(route_name="scim_schema", request_method="GET")
@scim_view(route_name="scim_resource_type", request_method="GET")
def get_from_catalogue(request: Request) -> Response:
    catalogue = CATALOGUES[request.matched_route.name]
    if request.matchdict["id"].lower() != catalogue.only_id.lower():
        raise ScimError(404, catalogue.missing())
    return json_response(catalogue.document(base_url(request)))


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
    raise ScimError(
        404, "no such SCIM endpoint; this service has Users, ServiceProviderConfig, Schemas and ResourceTypes"
    )
