"""What this SCIM service is: its schema URNs and discovery documents (RFC 7643 §5-7, RFC 7644 §4).

The documents are built from the tenant's SCIM base URL (rendering.base_url), which gives
each its meta.location.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
MAX_RESULTS = 200


def _attribute(
    name: str,
    type_: str = "string",
    *,
    description: str,
    required: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    case_exact: bool = False,
    multi_valued: bool = False,
    sub_attributes: list[dict[str, Any]] | None = None,
    canonical_values: list[str] | None = None,
) -> dict[str, Any]:
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
    _attribute(
        "userName",
        description="The provisioning client's unique login identifier; unique per practice, case-insensitively.",
        required=True,
        uniqueness="server",
    ),
    # Required: a practitioner always has a name; without one sent, both parts are the userName.
    _attribute(
        "name",
        "complex",
        description="The practitioner's name.",
        required=True,
        sub_attributes=[
            _attribute("givenName", description="Given name (first name)."),
            _attribute("familyName", description="Family name (last name)."),
        ],
    ),
    _attribute(
        "displayName",
        description="The name to show, kept and returned as sent; when none was sent, the given and family name.",
    ),
    _attribute("title", description="Job title."),
    _attribute(
        "active",
        "boolean",
        required=True,
        description="false deactivates the practitioner: no login by any path. true when not sent; cannot be removed.",
    ),
    # Required: the practitioner's registered email. When none is sent, a userName that is an email is used.
    _attribute(
        "emails",
        "complex",
        multi_valued=True,
        required=True,
        description="One address: the practitioner's registered email (the primary, else the first, entry sent; "
        "else the userName when it is an email address).",
        sub_attributes=[
            _attribute("value", description="Email address.", required=True),
            _attribute("type", description="Always work.", canonical_values=["work"]),
            # Written by clients to pick the registered email; the one email kept is always primary.
            _attribute(
                "primary",
                "boolean",
                description="Picks the registered email among several; kept as sent for the one email stored.",
            ),
        ],
    ),
    _attribute(
        "phoneNumbers",
        "complex",
        multi_valued=True,
        description="One work phone number.",
        sub_attributes=[
            _attribute("value", description="Phone number."),
            _attribute("type", description="Always work.", canonical_values=["work"]),
        ],
    ),
]


def _described(kind: str, id_: str, location: str, **attributes: Any) -> dict[str, Any]:
    """A discovery resource of schema ``kind``: its meta names the kind's last URN part as resourceType."""
    meta = {"resourceType": kind.rsplit(":", 1)[-1], "location": location}
    return {"schemas": [kind], "id": id_, **attributes, "meta": meta}


def user_schema(base_url: str) -> dict[str, Any]:
    return _described(
        SCHEMA_SCHEMA,
        USER_SCHEMA,
        f"{base_url}/Schemas/{USER_SCHEMA}",
        name="User",
        description="A practitioner of the practice",
        attributes=USER_ATTRIBUTES,
    )


def user_resource_type(base_url: str) -> dict[str, Any]:
    return _described(
        RESOURCE_TYPE_SCHEMA,
        "User",
        f"{base_url}/ResourceTypes/User",
        name="User",
        endpoint="/Users",
        description="A practitioner of the practice",
        schema=USER_SCHEMA,
    )


def service_provider_config(base_url: str) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A provisioning token of this practice, created by its administrator: Authorization: Bearer <token>",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"},
    }


@dataclass(frozen=True)
class Catalogue:
    """A discovery endpoint that lists documents of one kind; this service has one of each."""

    kind: str  # the schema of what it lists
    only_id: str  # the id of its one document, compared case-insensitively
    document: Callable[[str], dict[str, Any]]  # that document, from the base URL

    def missing(self) -> str:
        return f"no {self.kind.rsplit(':', 1)[-1]} with that id; this service has {self.only_id}"


SCHEMAS = Catalogue(SCHEMA_SCHEMA, USER_SCHEMA, user_schema)
RESOURCE_TYPES = Catalogue(RESOURCE_TYPE_SCHEMA, "User", user_resource_type)
