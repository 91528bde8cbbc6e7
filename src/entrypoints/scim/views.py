"""SCIM endpoints: read the request, call one domain service, answer in SCIM JSON.

Errors are raised, never returned (see errors.py), so a failed write is rolled back whole.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Generic, Protocol, TypeVar

from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.provisioning.groups import GroupProvisioning
from domain.provisioning.scim_group import GroupQuery, Membership, ScimGroup
from domain.provisioning.version import etag
from domain.provisioning.scim_user import ScimQuery
from domain.provisioning.users import Provisioning
from domain.tenancy.tenant import Tenant
from entrypoints.scim import ScimContext
from entrypoints.scim.errors import ScimError, json_response
from entrypoints.scim.filters import parse_user_filter
from entrypoints.scim.groups import group_resource, parse_group, parse_group_filter, read_group_patch
from entrypoints.scim.parsing import Selection, integer, parse_user, read_json, selection
from entrypoints.scim.patch import translate_patch
from entrypoints.scim.rendering import base_url, list_response, project, user_resource, user_response
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


# ---- searches -----------------------------------------------------------------------------


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


# ---- /Users and /Groups ----------------------------------------------------------------------
# One set of endpoints serves both, with the same authentication, errors, ETags, pagination and
# filter rules; a ResourceType holds what differs: the service, the readers, the rendering.


class Identified(Protocol):
    """What a URL names: its id is in the URL, in a Location and in the body of a PUT."""

    @property
    def id(self) -> str: ...


Resource = TypeVar("Resource", bound=Identified)  # what a URL names: a Practitioner, a ScimGroup
Query = TypeVar("Query")  # a search's criteria
Whole = TypeVar("Whole")  # a whole resource as a client sends it: the body of a POST or a PUT
Changes = TypeVar("Changes")  # what a PATCH body asks of a resource
Query_contra = TypeVar("Query_contra", contravariant=True)
Whole_contra = TypeVar("Whole_contra", contravariant=True)
Changes_contra = TypeVar("Changes_contra", contravariant=True)


class ResourceService(Protocol[Resource, Query_contra, Whole_contra, Changes_contra]):
    """The domain service of a resource type: Provisioning (Users), GroupProvisioning (Groups)."""

    def get(self, tenant: Tenant, resource_id: str, /) -> Resource: ...

    def search(self, tenant: Tenant, query: Query_contra, offset: int, limit: int, /) -> tuple[list[Resource], int]: ...

    def create(self, tenant: Tenant, authority: Authority, values: Whole_contra, /) -> Resource: ...

    def replace(
        self, tenant: Tenant, authority: Authority, resource: Resource, values: Whole_contra, if_match: str | None, /
    ) -> object: ...

    def patch(
        self, tenant: Tenant, authority: Authority, resource: Resource, changes: Changes_contra, if_match: str | None, /
    ) -> object: ...

    def delete(self, tenant: Tenant, authority: Authority, resource: Resource, if_match: str | None, /) -> None: ...


Asked = TypeVar("Asked")  # what a PUT or PATCH body asks of a resource: the whole, or changes


def _update(
    request: Request,
    named: Resource,
    read: Callable[[object, Resource], Asked],
    write: Callable[[Tenant, Authority, Resource, Asked, str | None], object],
) -> Resource:
    """A PUT or PATCH: the body, read against the resource loaded once, is written by the token's
    authority under the client's If-Match; the resource is then current."""
    context = _context(request)
    changes = read(read_json(request), named)
    write(context.tenant, context.authority, named, changes, request.headers.get("If-Match"))
    return named


@dataclass(frozen=True)
class ResourceType(Generic[Resource, Query, Whole, Changes]):
    """One resource type as its endpoints serve it. Errors are the service's and the readers'
    (404 for an unknown id, 400 for a bad body); a write is checked against the client's If-Match."""

    segment: str  # its collection in URLs: Users, Groups
    service: type[ResourceService[Resource, Query, Whole, Changes]]  # found per request
    read: Callable[[object, str | None], Whole]  # a whole body, for a new resource (None) or the URL's id
    read_patch: Callable[[object, Resource], Changes]  # a PATCH body, read against the resource it changes
    read_filter: Callable[[str], tuple[Query, bool]]  # a filter: its query, and whether anything can match
    unfiltered: Query  # the query of a search without a filter
    render: Callable[[Request, list[Resource]], list[dict[str, Any]]]  # what a search lists, unprojected
    respond: Callable[[Request, Resource, Selection, int, dict[str, str]], Response]  # one, with its ETag

    def _service(self, request: Request) -> ResourceService[Resource, Query, Whole, Changes]:
        return request.find_service(self.service)  # type: ignore[no-any-return]

    def _answer(self, request: Request, resource: Resource, status: int = 200, **headers: str) -> Response:
        wanted = selection(request.GET.get("attributes"), request.GET.get("excludedAttributes"))
        return self.respond(request, resource, wanted, status, headers)

    def _named(self, request: Request) -> Resource:
        """The resource the URL names (404 when none), loaded once: the write is applied to it."""
        return self._service(request).get(_context(request).tenant, request.matchdict["id"])

    def search(self, request: Request) -> Response:
        """A GET with query parameters, or a POST .search with a SearchRequest body (RFC 7644 §3.4.3)."""
        parameters = search_parameters(request)
        start_index, count = page_bounds(parameters)
        text = filter_text(parameters)
        query, satisfiable = self.read_filter(text) if text else (self.unfiltered, True)
        tenant = _context(request).tenant
        found, total = self._service(request).search(tenant, query, start_index - 1, count) if satisfiable else ([], 0)
        wanted = selection(parameters.get("attributes"), parameters.get("excludedattributes"))
        resources = [project(resource, wanted) for resource in self.render(request, found)]
        return json_response(list_response(resources, total, start_index))

    def create(self, request: Request) -> Response:
        context = _context(request)
        created = self._service(request).create(context.tenant, context.authority, self.read(read_json(request), None))
        return self._answer(request, created, 201, Location=f"{base_url(request)}/{self.segment}/{created.id}")

    def get(self, request: Request) -> Response:
        return self._answer(request, self._named(request))

    def replace(self, request: Request) -> Response:
        def whole(body: object, resource: Resource) -> Whole:
            return self.read(body, resource.id)

        return self._answer(request, _update(request, self._named(request), whole, self._service(request).replace))

    def patch(self, request: Request) -> Response:
        return self._answer(
            request, _update(request, self._named(request), self.read_patch, self._service(request).patch)
        )

    def delete(self, request: Request) -> Response:
        context = _context(request)
        resource = self._named(request)
        self._service(request).delete(context.tenant, context.authority, resource, request.headers.get("If-Match"))
        return Response(status=204)


def _groups_of(request: Request, practitioners: list[Practitioner]) -> dict[str, list[Membership]]:
    """The groups of each practitioner, for the read-only ``groups`` attribute: one lookup for them all."""
    groups: GroupProvisioning = request.find_service(GroupProvisioning)
    return groups.memberships(_context(request).tenant, {p.id for p in practitioners})


def _listed_users(request: Request, practitioners: list[Practitioner]) -> list[dict[str, Any]]:
    groups = _groups_of(request, practitioners)
    return [user_resource(request, p, groups.get(p.id, [])) for p in practitioners]


def _user_response(
    request: Request, practitioner: Practitioner, wanted: Selection, status: int, headers: dict[str, str]
) -> Response:
    groups = _groups_of(request, [practitioner]).get(practitioner.id, [])
    return user_response(request, practitioner, wanted, status, groups, **headers)


def _listed_groups(request: Request, groups: list[ScimGroup]) -> list[dict[str, Any]]:
    return [group_resource(base_url(request), group) for group in groups]


def _group_response(
    request: Request, group: ScimGroup, wanted: Selection, status: int, headers: dict[str, str]
) -> Response:
    body = project(group_resource(base_url(request), group), wanted)
    return json_response(body, status, {"ETag": etag(group), **headers})


USERS = ResourceType(
    segment="Users",
    service=Provisioning,
    read=parse_user,
    read_patch=translate_patch,
    read_filter=parse_user_filter,
    unfiltered=ScimQuery(),
    render=_listed_users,
    respond=_user_response,
)
GROUPS = ResourceType(
    segment="Groups",
    service=GroupProvisioning,
    read=parse_group,
    read_patch=read_group_patch,
    read_filter=parse_group_filter,
    unfiltered=GroupQuery(),
    render=_listed_groups,
    respond=_group_response,
)
SERVED: dict[str, ResourceType[Any, Any, Any, Any]] = {
    "scim_users": USERS,
    "scim_users_search": USERS,
    "scim_user": USERS,
    "scim_groups": GROUPS,
    "scim_groups_search": GROUPS,
    "scim_group": GROUPS,
}


def _served(request: Request) -> ResourceType[Any, Any, Any, Any]:
    return SERVED[request.matched_route.name]


@scim_view(route_name="scim_users", request_method="GET")
@scim_view(route_name="scim_users_search", request_method="POST")
@scim_view(route_name="scim_groups", request_method="GET")
@scim_view(route_name="scim_groups_search", request_method="POST")
def search_resources(request: Request) -> Response:
    return _served(request).search(request)


@scim_view(route_name="scim_users", request_method="POST")
@scim_view(route_name="scim_groups", request_method="POST")
def create_resource(request: Request) -> Response:
    return _served(request).create(request)


@scim_view(route_name="scim_user", request_method="GET")
@scim_view(route_name="scim_group", request_method="GET")
def get_resource(request: Request) -> Response:
    return _served(request).get(request)


@scim_view(route_name="scim_user", request_method="PUT")
@scim_view(route_name="scim_group", request_method="PUT")
def replace_resource(request: Request) -> Response:
    return _served(request).replace(request)


@scim_view(route_name="scim_user", request_method="PATCH")
@scim_view(route_name="scim_group", request_method="PATCH")
def patch_resource(request: Request) -> Response:
    return _served(request).patch(request)


@scim_view(route_name="scim_user", request_method="DELETE")
@scim_view(route_name="scim_group", request_method="DELETE")
def delete_resource(request: Request) -> Response:
    return _served(request).delete(request)


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
