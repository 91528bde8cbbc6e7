"""What this SCIM service is: its schema URNs and discovery documents (RFC 7643 §5-7, RFC 7644 §4).

The documents are built from the tenant's SCIM base URL (rendering.base_url), which gives
each its meta.location.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
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
    reference_types: list[str] | None = None,
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
    if reference_types:
        attribute["referenceTypes"] = reference_types
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
        "preferredLanguage",
        description="The practitioner's language as a language tag (such as nl-NL), kept and returned as sent, "
        "at most 64 characters. Pages and mails use it where the practitioner chose no language of their own; "
        "a language the portal does not speak (it speaks en, de and nl) is kept but not used.",
    ),
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
    _attribute(
        "groups",
        "complex",
        multi_valued=True,
        mutability="readOnly",
        description="The groups the practitioner is a member of; change them through /Groups.",
        sub_attributes=[
            _attribute("value", description="The group's id.", mutability="readOnly"),
            _attribute(
                "$ref", "reference", description="The group's URI.", mutability="readOnly", reference_types=["Group"]
            ),
            _attribute("display", description="The group's displayName.", mutability="readOnly"),
            _attribute("type", description="Always direct.", mutability="readOnly", canonical_values=["direct"]),
        ],
    ),
]

GROUP_ATTRIBUTES = [
    _attribute(
        "displayName",
        description="The group's name, one line of at most 255 characters; unique per practice, case-insensitively. "
        "Where the practice takes module rights from roles, its role mapping turns this name into rights.",
        required=True,
        uniqueness="server",
    ),
    _attribute(
        "members",
        "complex",
        multi_valued=True,
        description="The practitioners in the group (Users of this practice; groups in groups are not supported).",
        sub_attributes=[
            _attribute("value", description="The member's User id.", mutability="immutable"),
            _attribute(
                "$ref", "reference", description="The member's URI.", mutability="immutable", reference_types=["User"]
            ),
            _attribute("type", description="Always User.", mutability="immutable", canonical_values=["User"]),
        ],
    ),
]


def _described(kind: str, id_: str, location: str, **attributes: Any) -> dict[str, Any]:
    """A discovery resource of schema ``kind``: its meta names the kind's last URN part as resourceType."""
    meta = {"resourceType": kind.rsplit(":", 1)[-1], "location": location}
    return {"schemas": [kind], "id": id_, **attributes, "meta": meta}


@dataclass(frozen=True)
class Resource:
    """A resource this service serves (User, Group): its schema and its resource type describe it alike."""

    name: str
    urn: str  # its core schema
    endpoint: str
    description: str
    attributes: list[dict[str, Any]]

    def schema(self, base_url: str) -> dict[str, Any]:
        return _described(
            SCHEMA_SCHEMA,
            self.urn,
            f"{base_url}/Schemas/{self.urn}",
            name=self.name,
            description=self.description,
            attributes=self.attributes,
        )

    def resource_type(self, base_url: str) -> dict[str, Any]:
        return _described(
            RESOURCE_TYPE_SCHEMA,
            self.name,
            f"{base_url}/ResourceTypes/{self.name}",
            name=self.name,
            endpoint=self.endpoint,
            description=self.description,
            schema=self.urn,
        )


RESOURCES = (
    Resource("User", USER_SCHEMA, "/Users", "A practitioner of the practice", USER_ATTRIBUTES),
    Resource("Group", GROUP_SCHEMA, "/Groups", "A group of the practice's practitioners", GROUP_ATTRIBUTES),
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


Document = Callable[[str], dict[str, Any]]  # a discovery document, from the base URL


@dataclass(frozen=True)
class Catalogue:
    """A discovery endpoint that lists documents of one kind: one for Users, one for Groups."""

    kind: str  # the schema of what it lists
    documents: tuple[tuple[str, Document], ...]  # each document's id, and the document

    def find(self, id_: str) -> Document | None:
        """The document of this id, compared case-insensitively."""
        return next((document for known, document in self.documents if known.lower() == id_.lower()), None)

    def missing(self) -> str:
        ids = " and ".join(known for known, _ in self.documents)
        return f"no {self.kind.rsplit(':', 1)[-1]} with that id; this service has {ids}"


SCHEMAS = Catalogue(SCHEMA_SCHEMA, tuple((resource.urn, resource.schema) for resource in RESOURCES))
RESOURCE_TYPES = Catalogue(
    RESOURCE_TYPE_SCHEMA, tuple((resource.name, resource.resource_type) for resource in RESOURCES)
)
