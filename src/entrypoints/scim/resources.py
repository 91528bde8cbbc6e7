"""The JSON representation of a practitioner as a SCIM User (RFC 7643 §4.1), and discovery documents."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pyramid.request import Request

from domain.model import Practitioner
from domain.provisioning import Provisioning, ScimUser
from domain.text import document_problem
from entrypoints.scim.errors import ScimError

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
MAX_RESULTS = 200
# Returned whatever ``attributes``/``excludedAttributes`` say (RFC 7643 §7, "returned": "always").
ALWAYS_RETURNED = frozenset({"id", "schemas"})


SCIM_PATH = "/scim/v2"


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


def user_resource(request: Request, practitioner: Practitioner) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": practitioner.id,
    }
    if practitioner.external_id:
        resource["externalId"] = practitioner.external_id
    resource["userName"] = practitioner.scim_user_name
    # No name.formatted: a server-computed sub-attribute makes a PATCH of name answer with a
    # different name than the one sent, which scim2-tester (rightly, RFC 7644 §3.5.2) refuses;
    # displayName carries the full name.
    resource["name"] = {
        "givenName": practitioner.first_name,
        "familyName": practitioner.last_name,
    }
    resource["displayName"] = practitioner.full_name
    resource["emails"] = [{"value": practitioner.email, "type": "work", "primary": practitioner.email_primary}]
    if practitioner.phone:
        resource["phoneNumbers"] = [{"value": practitioner.phone, "type": "work"}]
    if practitioner.job_title:
        resource["title"] = practitioner.job_title
    resource["active"] = bool(practitioner.active)
    resource["meta"] = {
        "resourceType": "User",
        "created": _timestamp(practitioner.created_at),
        "lastModified": _timestamp(practitioner.updated_at or practitioner.created_at),
        "version": Provisioning.etag(practitioner),
        "location": user_location(request, practitioner),
    }
    return resource


# ---- attributes / excludedAttributes (RFC 7644 §3.4.2.5, §3.9) ------------------------------


def _attribute_paths(raw: str | None) -> list[tuple[str, str | None]] | None:
    """``"userName, name.givenName"`` -> [("username", None), ("name", "givenname")]; None when absent."""
    if raw is None:
        return None
    paths: list[tuple[str, str | None]] = []
    for item in raw.split(","):
        name = item.strip().lower()
        if not name:
            continue
        prefix = USER_SCHEMA.lower() + ":"
        if name.startswith(prefix):
            name = name[len(prefix):]
        elif name.startswith("urn:"):
            continue  # an extension we do not have: nothing to return for it
        top, _, sub = name.partition(".")
        paths.append((top, sub or None))
    return paths


def _project_value(value: Any, keep: set[str] | None, drop: set[str] | None) -> Any:
    def project(item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        return {k: v for k, v in item.items()
                if (keep is None or k.lower() in keep) and (drop is None or k.lower() not in drop)}

    if isinstance(value, list):
        return [project(v) for v in value]
    return project(value)


def project(resource: dict[str, Any], attributes: str | None, excluded: str | None) -> dict[str, Any]:
    """The resource reduced as the client asked; ``id`` and ``schemas`` are always returned."""
    wanted = _attribute_paths(attributes)
    if wanted:
        result: dict[str, Any] = {}
        for key, value in resource.items():
            low = key.lower()
            if low in ALWAYS_RETURNED:
                result[key] = value
                continue
            subs = [sub for top, sub in wanted if top == low]
            if not subs:
                continue
            if None in subs:
                result[key] = value
            else:
                result[key] = _project_value(value, {s for s in subs if s}, None)
        return result
    unwanted = _attribute_paths(excluded)
    if unwanted:
        result = {}
        for key, value in resource.items():
            low = key.lower()
            subs = [sub for top, sub in unwanted if top == low]
            if low in ALWAYS_RETURNED or not subs:
                result[key] = value
            elif None not in subs:
                result[key] = _project_value(value, None, {s for s in subs if s})
        return result
    return resource


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


# ---- discovery (RFC 7643 §5-7, RFC 7644 §4) -------------------------------------------------


def _attribute(name: str, type_: str = "string", *, description: str, required: bool = False,
               mutability: str = "readWrite", returned: str = "default", uniqueness: str = "none",
               case_exact: bool = False, multi_valued: bool = False,
               sub_attributes: list[dict[str, Any]] | None = None,
               canonical_values: list[str] | None = None) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "name": name,
        "type": type_,
        "multiValued": multi_valued,
        "description": description,
        "required": required,
        "mutability": mutability,
        "returned": returned,
    }
    if type_ not in ("complex", "boolean"):
        attribute["caseExact"] = case_exact
        attribute["uniqueness"] = uniqueness
    if canonical_values:
        attribute["canonicalValues"] = canonical_values
    if sub_attributes is not None:
        attribute["subAttributes"] = sub_attributes
    return attribute


# Only what this service stores; common attributes (id, externalId, meta) are not part of a schema.
USER_ATTRIBUTES = [
    _attribute("userName", description="The provisioning client's unique login identifier; unique per practice, case-insensitively.",
               required=True, uniqueness="server"),
    # Required: a practitioner always has a name; without one sent, both parts are the userName.
    _attribute("name", "complex", description="The practitioner's name.", required=True, sub_attributes=[
        _attribute("givenName", description="Given name (first name)."),
        _attribute("familyName", description="Family name (last name)."),
    ]),
    _attribute("displayName", description="The full name, derived from name.", mutability="readOnly"),
    _attribute("title", description="Job title."),
    _attribute("active", "boolean", required=True,
               description="false deactivates the practitioner: no login by any path. true when not sent; cannot be removed."),
    # Required: the practitioner's registered email. When none is sent, a userName that is an email is used.
    _attribute("emails", "complex", multi_valued=True, required=True,
               description="One address: the practitioner's registered email (the primary, else the first, entry sent; "
                           "else the userName when it is an email address).",
               sub_attributes=[
                   _attribute("value", description="Email address.", required=True),
                   _attribute("type", description="Always work.", canonical_values=["work"]),
                   # Written by clients to pick the registered email; the one email kept is always primary.
                   _attribute("primary", "boolean", description="Picks the registered email among several; kept as sent for the one email stored."),
               ]),
    _attribute("phoneNumbers", "complex", multi_valued=True, description="One work phone number.",
               sub_attributes=[
                   _attribute("value", description="Phone number."),
                   _attribute("type", description="Always work.", canonical_values=["work"]),
               ]),
]


def user_schema(request: Request) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A practitioner of the practice",
        "attributes": USER_ATTRIBUTES,
        "meta": {"resourceType": "Schema", "location": f"{base_url(request)}/Schemas/{USER_SCHEMA}"},
    }


def user_resource_type(request: Request) -> dict[str, Any]:
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A practitioner of the practice",
        "schema": USER_SCHEMA,
        "meta": {"resourceType": "ResourceType", "location": f"{base_url(request)}/ResourceTypes/User"},
    }


def service_provider_config(request: Request) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A provisioning token of this practice, created by its administrator: Authorization: Bearer <token>",
            "primary": True,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url(request)}/ServiceProviderConfig"},
    }


# ---- from a POST / PUT body to a ScimUser ------------------------------------------------------


def _invalid(detail: str, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(400, detail, scim_type)


def storable_document(document: Any) -> Any:
    """A request body as parsed, when every key and string is storable text and every number finite.

    Checked once, for the whole body, before anything reads it: what is not stored (an unknown
    attribute, a filter) is refused all the same, as a client sending it is broken.
    """
    problem = document_problem(document)
    if problem is not None:
        raise _invalid(f"{problem}: send text without NUL characters or unpaired surrogates, and finite numbers")
    return document


def as_bool(name: str, value: object) -> bool:
    """A boolean, also as the strings Entra ID sends ("True", "False")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _invalid(f"{name} must be true or false")


def as_optional_string(name: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _invalid(f"{name} must be a string")


def pick_entry(name: str, value: object, preferred_type: str | None = None) -> str | None:
    """The value of the preferred-type, else primary, else first entry of a multi-valued attribute."""
    entry = picked_entry(name, value, preferred_type)
    return None if entry is None else entry["value"]  # type: ignore[no-any-return]


def is_marked_primary(entry: dict[str, Any]) -> bool:
    flag = entry.get("primary")
    return flag is True or (isinstance(flag, str) and flag.lower() == "true")


def picked_primary(name: str, value: object) -> bool:
    """How the client marked the entry kept: an entry without the flag counts as primary."""
    entry = picked_entry(name, value)
    return entry is None or "primary" not in entry or is_marked_primary(entry)


def picked_entry(name: str, value: object, preferred_type: str | None = None) -> dict[str, Any] | None:
    """The preferred-type, else primary, else first entry of a multi-valued attribute."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _invalid(f"{name} must be a list of objects with a value")
    entries = []
    for entry in value:
        lowered = {str(k).lower(): v for k, v in entry.items()}
        if "value" not in lowered or lowered["value"] is None:
            continue
        if not isinstance(lowered["value"], str):
            raise _invalid(f"{name}.value must be a string")
        entries.append(lowered)
    if not entries:
        return None
    if preferred_type is not None:
        for entry in entries:
            if isinstance(entry.get("type"), str) and entry["type"].lower() == preferred_type:
                return entry
    for entry in entries:
        if is_marked_primary(entry):
            return entry
    return entries[0]


def core_attributes(body: dict[str, Any]) -> dict[str, Any]:
    """The body's attributes by lower-cased name; core attributes given with the schema URN count too."""
    prefix = USER_SCHEMA.lower() + ":"
    attributes: dict[str, Any] = {}
    for key, value in body.items():
        low = str(key).lower()
        if low.startswith(prefix):
            low = low[len(prefix):]
        attributes[low] = value
    return attributes


def parse_user(body: object, resource_id: str | None = None) -> ScimUser:
    """A ScimUser holding the attributes the body sends; absent ones stay UNCHANGED.

    Unknown attributes (and extensions) are ignored (RFC 7644 §3.3). The read-only ``id`` and
    ``meta`` are ignored too, as RFC 7644 §3.3 (POST) and §3.5.1 (PUT: "readOnly: Any values
    provided SHALL be ignored") say — except an ``id`` in a PUT that names another resource
    than the URL: that conflict is refused with 400 ``mutability`` (the example of §3.12).
    """
    if not isinstance(body, dict):
        raise _invalid("the request body must be a JSON object", "invalidSyntax")
    attributes = core_attributes(body)
    schemas = attributes.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or USER_SCHEMA.lower() not in [str(s).lower() for s in schemas]):
        raise _invalid(f"schemas must contain {USER_SCHEMA}", "invalidSyntax")
    if resource_id is not None and attributes.get("id") not in (None, resource_id):
        raise _invalid("id is read-only and does not match the resource", "mutability")
    values: dict[str, Any] = {}
    if "username" in attributes:
        if not isinstance(attributes["username"], str):
            raise _invalid("userName must be a string")
        values["user_name"] = attributes["username"]
    if "emails" in attributes:
        values["email"] = pick_entry("emails", attributes["emails"])
        values["email_primary"] = picked_primary("emails", attributes["emails"])
    if "name" in attributes:
        name = attributes["name"]
        if name is not None and not isinstance(name, dict):
            raise _invalid("name must be an object")
        parts = {str(k).lower(): v for k, v in (name or {}).items()}
        values["given_name"] = as_optional_string("name.givenName", parts.get("givenname"))
        values["family_name"] = as_optional_string("name.familyName", parts.get("familyname"))
    if "active" in attributes and attributes["active"] is not None:
        values["active"] = as_bool("active", attributes["active"])
    if "externalid" in attributes:
        values["external_id"] = as_optional_string("externalId", attributes["externalid"])
    if "title" in attributes:
        values["title"] = as_optional_string("title", attributes["title"])
    if "phonenumbers" in attributes:
        values["phone"] = pick_entry("phoneNumbers", attributes["phonenumbers"], preferred_type="work")
    return ScimUser(**values)
