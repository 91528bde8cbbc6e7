"""A SCIM Group in JSON (RFC 7643 §4.2): reading a body, a PATCH and a filter, and rendering one.

What real clients send is accepted: Entra ID adds and removes members one operation at a time
(``{"op": "Add", "path": "members", "value": [{"value": "<id>"}]}``, ``{"op": "Remove", "path":
"members[value eq \\"<id>\\"]"}``), Okta replaces the members whole or names attributes in a value
object without a path. Members are Users: a member of another type (a group in a group) is refused.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


from domain.provisioning.scim_group import GroupPatch, GroupQuery, GroupValues, MemberOperation, ScimGroup
from domain.provisioning.version import etag
from entrypoints.scim.errors import ScimError
from entrypoints.scim.filters import comparisons, invalid_filter
from entrypoints.scim.parsing import as_optional_string
from entrypoints.scim.schema import GROUP_SCHEMA, PATCH_SCHEMA

_PREFIX = GROUP_SCHEMA.lower() + ":"
MAX_OPERATIONS = 100
_ATTRIBUTES = ("members", "displayname", "externalid")  # what a PATCH path sets, lower-cased


def _invalid(detail: str, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(400, detail, scim_type)


def _name(key: object) -> str:
    """An attribute's name lower-cased, also when given with the Group schema URN."""
    low = str(key).lower()
    return low[len(_PREFIX) :] if low.startswith(_PREFIX) else low


# ---- rendering --------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def group_resource(base_url: str, group: ScimGroup) -> dict[str, Any]:
    resource: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": group.id}
    if group.external_id:
        resource["externalId"] = group.external_id
    resource["displayName"] = group.display_name
    if group.member_ids:
        resource["members"] = [
            {"value": member, "$ref": f"{base_url}/Users/{member}", "type": "User"}
            for member in sorted(group.member_ids)
        ]
    resource["meta"] = {
        "resourceType": "Group",
        "created": _timestamp(group.created_at),
        "lastModified": _timestamp(group.updated_at or group.created_at),
        "version": etag(group),
        "location": f"{base_url}/Groups/{group.id}",
    }
    return resource


# ---- POST / PUT -------------------------------------------------------------------------------


def member_ids(value: object) -> frozenset[str]:
    """``[{"value": "<id>", "type": "User"}, ...]`` -> the ids (one object alone counts as a list of one)."""
    if value is None:
        return frozenset()
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise _invalid("members must be a list of objects with a value")
    ids = set()
    for entry in value:
        if not isinstance(entry, dict):
            raise _invalid("members must be a list of objects with a value")
        fields = {str(k).lower(): v for k, v in entry.items()}
        member, kind = fields.get("value"), fields.get("type")
        if not isinstance(member, str) or not member:
            raise _invalid("each member needs a value: the id of a User")
        if kind is not None and (not isinstance(kind, str) or kind.lower() != "user"):
            raise _invalid("members are Users; groups in groups are not supported")
        ids.add(member)
    return frozenset(ids)


def parse_group(body: object, resource_id: str | None = None) -> GroupValues:
    """A whole group (POST, PUT); unknown attributes are ignored and the read-only id and meta too,
    except an id in a PUT naming another group (400 mutability, as for Users)."""
    if not isinstance(body, dict):
        raise _invalid("the request body must be a JSON object", "invalidSyntax")
    attributes = {_name(key): value for key, value in body.items()}
    schemas = attributes.get("schemas")
    if schemas is not None and (
        not isinstance(schemas, list) or GROUP_SCHEMA.lower() not in [str(s).lower() for s in schemas]
    ):
        raise _invalid(f"schemas must contain {GROUP_SCHEMA}", "invalidSyntax")
    if resource_id is not None and attributes.get("id") not in (None, resource_id):
        raise _invalid("id is read-only and does not match the resource", "mutability")
    return GroupValues(
        as_optional_string("displayName", attributes.get("displayname")),
        as_optional_string("externalId", attributes.get("externalid")),
        member_ids(attributes.get("members")),
    )


# ---- PATCH ------------------------------------------------------------------------------------


class GroupPatchReader:
    def __init__(self, group: ScimGroup) -> None:
        self._group = group
        self._changes: dict[str, Any] = {}
        self._members: list[tuple[MemberOperation, frozenset[str]]] = []

    def read(self, body: object) -> GroupPatch:
        if not isinstance(body, dict):
            raise _invalid("the request body must be a JSON object", "invalidSyntax")
        attributes = {str(k).lower(): v for k, v in body.items()}
        schemas = attributes.get("schemas")
        if not isinstance(schemas, list) or PATCH_SCHEMA.lower() not in [str(s).lower() for s in schemas]:
            raise _invalid(f"a PATCH request has the schema {PATCH_SCHEMA}", "invalidSyntax")
        operations = attributes.get("operations")
        if not isinstance(operations, list) or not operations:
            raise _invalid("Operations must be a non-empty list", "invalidSyntax")
        if len(operations) > MAX_OPERATIONS:
            raise _invalid(f"at most {MAX_OPERATIONS} operations per request")
        for operation in operations:
            self._operation(operation)
        return GroupPatch(**self._changes, members=tuple(self._members))

    def _operation(self, operation: object) -> None:
        if not isinstance(operation, dict):
            raise _invalid("each operation must be an object", "invalidSyntax")
        fields = {str(k).lower(): v for k, v in operation.items()}
        op, path = fields.get("op"), fields.get("path")
        if not isinstance(op, str) or op.lower() not in ("add", "replace", "remove"):
            raise _invalid("op must be add, replace or remove", "invalidSyntax")
        if path is not None and not isinstance(path, str):
            raise _invalid("path must be a string", "invalidPath")
        op, path = op.lower(), (path or "").strip()
        if op != "remove" and "value" not in fields:
            raise _invalid(f"{op} needs a value")
        if path:
            self._apply(op, path, fields.get("value"))
            return
        if op == "remove":
            raise _invalid("remove needs a path", "noTarget")
        value = fields["value"]
        if not isinstance(value, dict):
            raise _invalid(f"{op} without a path needs an object as value")
        for key, item in value.items():  # Okta: {"op": "replace", "value": {"id": ..., "displayName": ...}}
            if _name(key) == "id" and item == self._group.id:
                continue
            self._apply(op, str(key), item)

    def _apply(self, op: str, path: str, value: Any) -> None:
        raw = path[len(_PREFIX) :] if path.lower().startswith(_PREFIX) else path
        attribute, bracket, rest = raw.partition("[")
        attribute = attribute.strip().lower()
        top, dot, _sub = attribute.partition(".")
        if dot and top in _ATTRIBUTES:
            # members.value, displayName.x: nothing this names can be set; ignored, it would be a 200 for nothing done.
            raise _invalid(f"path {path!r} cannot be read", "invalidPath")
        if attribute == "members":
            # An opened bracket is a filter, even an empty or unclosed one: never the whole members.
            self._member_operation(op, rest if bracket else None, value)
        elif bracket:
            raise _invalid(f"path {path!r} cannot be read", "invalidPath")
        elif attribute == "displayname":
            if op == "remove":
                raise _invalid("displayName is required and cannot be removed", "mutability")
            self._changes["display_name"] = as_optional_string("displayName", value)
        elif attribute == "externalid":
            self._changes["external_id"] = None if op == "remove" else as_optional_string("externalId", value)
        elif attribute in ("id", "meta", "schemas"):
            raise _invalid(f"{attribute} is read-only", "mutability")
        # Any other attribute is not stored here and is ignored (RFC 7644 §3.3).

    def _member_operation(self, op: str, value_filter: str | None, value: Any) -> None:
        if value_filter is not None:
            # members[value eq "<id>"]: only the member it names; Entra removes members this way.
            if op != "remove":
                raise _invalid("only remove takes a filter on members", "invalidPath")
            self._members.append((MemberOperation.REMOVE, _filtered_member(value_filter)))
        elif op == "add":
            self._members.append((MemberOperation.ADD, member_ids(value)))
        elif op == "replace" or value is None:
            self._members.append((MemberOperation.REPLACE, member_ids(value)))  # remove with no value: all go
        else:
            self._members.append((MemberOperation.REMOVE, member_ids(value)))  # Entra: remove with a value list


def _filtered_member(value_filter: str) -> frozenset[str]:
    text = value_filter.rstrip()
    if not text.endswith("]"):
        raise _invalid("a members filter ends with ]", "invalidPath")
    found = comparisons(text[:-1])
    if len(found) != 1 or found[0].attribute != "value" or not isinstance(found[0].value, str):
        raise invalid_filter('members are selected by value only: members[value eq "<id>"]')
    return frozenset({found[0].value})


def read_group_patch(body: object, group: ScimGroup) -> GroupPatch:
    return GroupPatchReader(group).read(body)


# ---- filter -----------------------------------------------------------------------------------

_FIELDS = {"displayname": "display_name", "externalid": "external_id"}


def parse_group_filter(text: str) -> tuple[GroupQuery, bool]:
    """``displayName eq "x"`` and ``externalId eq "x"`` joined with and; and whether it can match at all."""
    criteria: dict[str, str] = {}
    satisfiable = True
    for comparison in comparisons(text):
        name = _name(comparison.attribute)
        if name not in _FIELDS:
            raise invalid_filter(f"filtering Groups on {comparison.attribute!r} is not supported")
        if not isinstance(comparison.value, str):
            raise invalid_filter(f"{comparison.attribute} must be compared with a string")
        field = _FIELDS[name]
        previous = criteria.get(field)
        if previous is not None:
            same = (
                previous.lower() == comparison.value.lower()
                if field == "display_name"
                else previous == comparison.value
            )
            satisfiable &= same
        criteria[field] = comparison.value
    return GroupQuery(**criteria), satisfiable
