"""A practitioner as a SCIM User in JSON (RFC 7643 §4.1), list responses and locations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from domain.practitioners.practitioner import Practitioner
from domain.provisioning.scim_group import Membership
from domain.provisioning.version import etag
from entrypoints.scim.errors import json_response
from entrypoints.scim.parsing import AttributePath, Selection
from entrypoints.scim.schema import LIST_SCHEMA, USER_SCHEMA

SCIM_PATH = "/scim/v2"
# Returned whatever ``attributes``/``excludedAttributes`` say (RFC 7643 §7, "returned": "always").
ALWAYS_RETURNED = frozenset({"id", "schemas"})


def base_url(request: Request) -> str:
    """The tenant's SCIM base URL, from settings: the Host header only selected the tenant."""
    return request.registry.portal_settings.tenant_url(request.tenant.slug, SCIM_PATH)  # type: ignore[no-any-return]


def _timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def user_location(request: Request, practitioner: Practitioner) -> str:
    return f"{base_url(request)}/Users/{practitioner.id}"


def user_resource(request: Request, practitioner: Practitioner, groups: Sequence[Membership] = ()) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": practitioner.id,
    }
    if practitioner.external_id:
        resource["externalId"] = practitioner.external_id
    resource["userName"] = practitioner.scim_user_name
    # No name.formatted: a server-computed sub-attribute makes a PATCH of name answer with a
    # different name than the one sent, which scim2-tester (rightly, RFC 7644 §3.5.2) refuses;
    # displayName is the client's own, else the full name.
    resource["name"] = {
        "givenName": practitioner.first_name,
        "familyName": practitioner.last_name,
    }
    if practitioner.scim_display_name is not None:
        resource["displayName"] = practitioner.scim_display_name
    resource["emails"] = [{"value": practitioner.email, "type": "work", "primary": practitioner.email_primary}]
    if practitioner.phone:
        resource["phoneNumbers"] = [{"value": practitioner.phone, "type": "work"}]
    if practitioner.job_title:
        resource["title"] = practitioner.job_title
    if practitioner.provided_language:
        resource["preferredLanguage"] = practitioner.provided_language
    resource["active"] = bool(practitioner.active)
    if groups:
        base = base_url(request)
        resource["groups"] = [
            {"value": g.group_id, "$ref": f"{base}/Groups/{g.group_id}", "display": g.display_name, "type": "direct"}
            for g in groups
        ]
    resource["meta"] = {
        "resourceType": "User",
        "created": _timestamp(practitioner.created_at),
        "lastModified": _timestamp(practitioner.updated_at or practitioner.created_at),
        "version": etag(practitioner),
        "location": user_location(request, practitioner),
    }
    return resource


def user_response(
    request: Request,
    practitioner: Practitioner,
    selection: Selection,
    status: int = 200,
    groups: Sequence[Membership] = (),
    **headers: str,
) -> Response:
    """One user as the client asked to see it, with its version as the ETag."""
    # Flush first: the data layer bumps the version (the ETag) and lastModified on write.
    request.dbsession.flush()
    body = project(user_resource(request, practitioner, groups), selection)
    return json_response(body, status, {"ETag": etag(practitioner), **headers})


# ---- attributes / excludedAttributes (RFC 7644 §3.4.2.5, §3.9) ------------------------------


def _project_value(value: Any, keep: set[str] | None, drop: set[str] | None) -> Any:
    def project(item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        return {
            k: v
            for k, v in item.items()
            if (keep is None or k.lower() in keep) and (drop is None or k.lower() not in drop)
        }

    if isinstance(value, list):
        return [project(v) for v in value]
    return project(value)


def _subs(paths: list[AttributePath], key: str) -> list[str | None]:
    """The sub-attributes ``paths`` names of ``key`` (None: the whole attribute)."""
    return [sub for top, sub in paths if top == key]


def _kept(resource: dict[str, Any], wanted: list[AttributePath]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in resource.items():
        subs = _subs(wanted, key.lower())
        if key.lower() in ALWAYS_RETURNED or None in subs:
            result[key] = value
        elif subs:
            result[key] = _project_value(value, {s for s in subs if s}, None)
    return result


def _dropped(resource: dict[str, Any], unwanted: list[AttributePath]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in resource.items():
        subs = _subs(unwanted, key.lower())
        if key.lower() in ALWAYS_RETURNED or not subs:
            result[key] = value
        elif None not in subs:
            result[key] = _project_value(value, None, {s for s in subs if s})
    return result


def project(resource: dict[str, Any], selection: Selection) -> dict[str, Any]:
    """The resource reduced as the client asked; ``id`` and ``schemas`` are always returned."""
    if selection.attributes:
        return _kept(resource, selection.attributes)
    if selection.excluded:
        return _dropped(resource, selection.excluded)
    return resource


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
