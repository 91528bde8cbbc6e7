"""SCIM endpoints: read the request, call one domain service, answer in SCIM JSON.

Errors are raised, never returned (see errors.py), so a failed write is rolled back whole.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.provisioning.groups import GroupProvisioning
from domain.provisioning.scim_group import GroupQuery, GroupValues, Membership, ScimGroup
from domain.provisioning.version import etag
from domain.provisioning.scim_user import ScimQuery, ScimUser
from domain.provisioning.users import Provisioning
from domain.tenancy.tenant import Tenant
from entrypoints.scim import ScimContext
from entrypoints.scim.errors import ScimError, json_response
from entrypoints.scim.filters import parse_user_filter
from entrypoints.scim.groups import group_resource, parse_group, parse_group_filter, read_group_patch
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
    groups = _groups_of(request, [practitioner]).get(practitioner.id, [])
    return user_response(request, practitioner, wanted, status, groups, **headers)


# ---- /Users -------------------------------------------------------------------------------


def page_bounds(parameters: dict[str, object]) -> tuple[int, int]:
    """startIndex (1-based) and count of a search, clamped to what this service serves."""
    start_index = min(max(integer("startIndex", parameters.get("startindex"), 1), 1), MAX_START_INDEX)
    return start_index, min(max(integer("count", parameters.get("count"), MAX_RESULTS), 0), MAX_RESULTS)


def filter_text(parameters: dict[str, object]) -> str | None:
    """The search's filter, None when it has none."""
    text = parameters.get("filter")
    if text is not None and not isinstance(text, str):
        raise ScimError(400, "filter must be a string", "invalidFilter")
    return text if text and text.strip() else None


def search_parameters(request: Request) -> dict[str, object]:
    """A search's parameters by lower-cased name: the query of a GET, the SearchRequest of a POST .search."""
    if request.method == "GET":
        return {key.lower(): value for key, value in request.GET.items()}
    body = read_json(request)
    if not isinstance(body, dict):
        raise ScimError(400, "the request body must be a JSON object", "invalidSyntax")
    parameters = {str(key).lower(): value for key, value in body.items()}
    schemas = parameters.get("schemas")
    if not isinstance(schemas, list) or SEARCH_SCHEMA.lower() not in [str(s).lower() for s in schemas]:
        raise ScimError(400, f"a search request has the schema {SEARCH_SCHEMA}", "invalidSyntax")
    return parameters


def _groups_of(request: Request, practitioners: list[Practitioner]) -> dict[str, list[Membership]]:
    """The groups of each practitioner, for the read-only ``groups`` attribute: one lookup for them all."""
    groups: GroupProvisioning = request.find_service(GroupProvisioning)
    return groups.memberships(_context(request).tenant, {p.id for p in practitioners})


@scim_view(route_name="scim_users", request_method="GET")
@scim_view(route_name="scim_users_search", request_method="POST")
def search_users(request: Request) -> Response:
    """A GET with query parameters, or a POST .search with a SearchRequest body (RFC 7644 §3.4.3)."""
    parameters = search_parameters(request)
    context = _context(request)
    start_index, count = page_bounds(parameters)
    text = filter_text(parameters)
    query, satisfiable = parse_user_filter(text) if text else (ScimQuery(), True)
    practitioners, total = (
        _provisioning(request).search(context.tenant, query, start_index - 1, count) if satisfiable else ([], 0)
    )
    wanted = selection(parameters.get("attributes"), parameters.get("excludedattributes"))
    groups = _groups_of(request, practitioners)
    resources = [project(user_resource(request, p, groups.get(p.id, [])), wanted) for p in practitioners]
    return json_response(list_response(resources, total, start_index))


@scim_view(route_name="scim_users", request_method="POST")
def create_user(request: Request) -> Response:
    context = _context(request)
    user = parse_user(read_json(request))
    practitioner = _provisioning(request).create(context.tenant, context.authority, user)
    return _answer(request, practitioner, 201, Location=user_location(request, practitioner))


# ---- /Users/{id} --------------------------------------------------------------------------

Named = TypeVar("Named", Practitioner, ScimGroup)  # what the URL names, loaded once
Changes = TypeVar("Changes")  # what a PUT or PATCH body asks of it


def _update(
    request: Request,
    named: Named,
    read: Callable[[Any, Named], Changes],
    write: Callable[[Tenant, Authority, Named, Changes, str | None], object],
) -> Named:
    """A PUT or PATCH of Users or Groups: the body, read against the resource loaded once, is
    written by the token's authority under the client's If-Match; the resource is then current."""
    context = _context(request)
    changes = read(read_json(request), named)
    write(context.tenant, context.authority, named, changes, request.headers.get("If-Match"))
    return named


def _named(request: Request) -> Practitioner:
    """The practitioner the URL names (404 when none), loaded once: the write is applied to it."""
    return _provisioning(request).get(_context(request).tenant, request.matchdict["id"])


@scim_view(route_name="scim_user", request_method="GET")
def get_user(request: Request) -> Response:
    return _answer(request, _named(request))


@scim_view(route_name="scim_user", request_method="PUT")
def replace_user(request: Request) -> Response:
    def whole_user(body: Any, practitioner: Practitioner) -> ScimUser:
        return parse_user(body, resource_id=practitioner.id)

    return _answer(request, _update(request, _named(request), whole_user, _provisioning(request).replace))


@scim_view(route_name="scim_user", request_method="PATCH")
def patch_user(request: Request) -> Response:
    return _answer(request, _update(request, _named(request), translate_patch, _provisioning(request).patch))


@scim_view(route_name="scim_user", request_method="DELETE")
def delete_user(request: Request) -> Response:
    context = _context(request)
    practitioner = _named(request)
    _provisioning(request).delete(context.tenant, context.authority, practitioner, request.headers.get("If-Match"))
    return Response(status=204)


# ---- /Groups: the same authentication, errors, ETags, pagination and filter rules as /Users ----


def _groups(request: Request) -> GroupProvisioning:
    return request.find_service(GroupProvisioning)  # type: ignore[no-any-return]


def _answer_group(request: Request, group: ScimGroup, status: int = 200, **headers: str) -> Response:
    wanted = selection(request.GET.get("attributes"), request.GET.get("excludedAttributes"))
    body = project(group_resource(base_url(request), group), wanted)
    return json_response(body, status, {"ETag": etag(group), **headers})


def _named_group(request: Request) -> ScimGroup:
    """The group the URL names (404 when none), loaded once: the write is applied to it."""
    return _groups(request).get(_context(request).tenant, request.matchdict["id"])


@scim_view(route_name="scim_groups", request_method="GET")
@scim_view(route_name="scim_groups_search", request_method="POST")
def search_groups(request: Request) -> Response:
    parameters = search_parameters(request)
    start_index, count = page_bounds(parameters)
    text = filter_text(parameters)
    query, satisfiable = parse_group_filter(text) if text else (GroupQuery(), True)
    tenant = _context(request).tenant
    groups, total = _groups(request).search(tenant, query, start_index - 1, count) if satisfiable else ([], 0)
    wanted = selection(parameters.get("attributes"), parameters.get("excludedattributes"))
    resources = [project(group_resource(base_url(request), group), wanted) for group in groups]
    return json_response(list_response(resources, total, start_index))


@scim_view(route_name="scim_groups", request_method="POST")
def create_group(request: Request) -> Response:
    context = _context(request)
    group = _groups(request).create(context.tenant, context.authority, parse_group(read_json(request)))
    return _answer_group(request, group, 201, Location=f"{base_url(request)}/Groups/{group.id}")


@scim_view(route_name="scim_group", request_method="GET")
def get_group(request: Request) -> Response:
    return _answer_group(request, _named_group(request))


@scim_view(route_name="scim_group", request_method="PUT")
def replace_group(request: Request) -> Response:
    def whole_group(body: Any, group: ScimGroup) -> GroupValues:
        return parse_group(body, resource_id=group.id)

    return _answer_group(request, _update(request, _named_group(request), whole_group, _groups(request).replace))


@scim_view(route_name="scim_group", request_method="PATCH")
def patch_group(request: Request) -> Response:
    return _answer_group(request, _update(request, _named_group(request), read_group_patch, _groups(request).patch))


@scim_view(route_name="scim_group", request_method="DELETE")
def delete_group(request: Request) -> Response:
    context = _context(request)
    group = _named_group(request)
    _groups(request).delete(context.tenant, context.authority, group, request.headers.get("If-Match"))
    return Response(status=204)


# ---- discovery ----------------------------------------------------------------------------


@scim_view(route_name="scim_service_provider_config", request_method="GET")
def get_service_provider_config(request: Request) -> Response:
    return json_response(service_provider_config(base_url(request)))


# Schemas and ResourceTypes are served alike: a list of their documents (User, Group), or one by its id.
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
    documents = [document(base_url(request)) for _, document in catalogue.documents]
    return json_response(list_response(documents, len(documents), 1))


@scim_view(route_name="scim_schema", request_method="GET")
@scim_view(route_name="scim_resource_type", request_method="GET")
def get_from_catalogue(request: Request) -> Response:
    catalogue = CATALOGUES[request.matched_route.name]
    document = catalogue.find(request.matchdict["id"])
    if document is None:
        raise ScimError(404, catalogue.missing())
    return json_response(document(base_url(request)))


@scim_view(route_name="scim_root_search")
def root_search(request: Request) -> Response:
    # RFC 7644 §3.4.3 allows the server root; each resource type has its own .search.
    raise ScimError(
        501, "searching several resource types at once is not supported; use /Users/.search or /Groups/.search"
    )


# ---- everything else ----------------------------------------------------------------------


@scim_view(route_name="scim_users")
@scim_view(route_name="scim_users_search")
@scim_view(route_name="scim_user")
@scim_view(route_name="scim_groups")
@scim_view(route_name="scim_groups_search")
@scim_view(route_name="scim_group")
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
        404, "no such SCIM endpoint; this service has Users, Groups, ServiceProviderConfig, Schemas and ResourceTypes"
    )
