"""PATCH (RFC 7644 §3.5.2) translated into a ScimUser that holds only what changes.

The shapes real clients send are all accepted: op names in any case (Entra ID's "Replace",
"Add"); ``active`` as the strings "True"/"False"; operations without ``path`` whose value
object names attributes, also with dotted or value-path keys (``{"name.givenName": "X"}``,
``{"emails[type eq \\"work\\"].value": "x@y"}``); value-path filters on emails and phoneNumbers.

A practitioner has one email (type work, primary) and one phone (type work). Entries of
other types (Entra's mobile and fax numbers, a home email) are not stored, so operations on
them are ignored like unknown attributes; a filter that names our entry by a value it does
not have finds no target (400 ``noTarget``) for replace and remove.
"""

from __future__ import annotations

import re
from typing import Any

from domain.practitioners.practitioner import Practitioner
from domain.provisioning.scim_user import ScimUser
from domain.practitioners.email import same_mailbox
from entrypoints.scim.errors import ScimError
from entrypoints.scim.filters import Comparison, comparisons
from entrypoints.scim.parsing import as_bool, as_optional_string, pick_entry, picked_primary
from entrypoints.scim.schema import PATCH_SCHEMA, USER_SCHEMA

_PATH = re.compile(r"^(?P<attr>[A-Za-z][\w$-]*)(?:\[(?P<filter>[^\]]*)\])?(?:\.(?P<sub>[A-Za-z][\w$-]*))?$")
READ_ONLY = {"id", "meta", "schemas", "groups"}
MAX_OPERATIONS = 100
# Single-valued strings a client may set or remove, by lower-cased name: the ScimUser field each sets.
OPTIONAL_STRINGS = {
    "externalid": "external_id",
    "title": "title",
    "displayname": "display_name",
    "preferredlanguage": "preferred_language",
}
# Attributes with one plain value: a path naming a filter or a sub-attribute of one cannot be read.
SINGLE_VALUES = {"username", "active", *OPTIONAL_STRINGS}


def _error(detail: str, scim_type: str) -> ScimError:
    return ScimError(400, detail, scim_type)


class PatchTranslator:
    def __init__(self, practitioner: Practitioner) -> None:
        self._practitioner = practitioner
        self.changes: dict[str, Any] = {}

    def translate(self, body: object) -> ScimUser:
        if not isinstance(body, dict):
            raise _error("the request body must be a JSON object", "invalidSyntax")
        attributes = {str(k).lower(): v for k, v in body.items()}
        schemas = attributes.get("schemas")
        if not isinstance(schemas, list) or PATCH_SCHEMA.lower() not in [str(s).lower() for s in schemas]:
            raise _error(f"a PATCH request has the schema {PATCH_SCHEMA}", "invalidSyntax")
        operations = attributes.get("operations")
        if not isinstance(operations, list) or not operations:
            raise _error("Operations must be a non-empty list", "invalidSyntax")
        if len(operations) > MAX_OPERATIONS:
            raise _error(f"at most {MAX_OPERATIONS} operations per request", "invalidValue")
        for operation in operations:
            self._operation(operation)
        return ScimUser(**self.changes)

    def _operation(self, operation: object) -> None:
        if not isinstance(operation, dict):
            raise _error("each operation must be an object", "invalidSyntax")
        fields = {str(k).lower(): v for k, v in operation.items()}
        op = fields.get("op")
        if not isinstance(op, str) or op.lower() not in ("add", "replace", "remove"):
            raise _error("op must be add, replace or remove", "invalidSyntax")
        op = op.lower()
        path = fields.get("path")
        if path is not None and not isinstance(path, str):
            raise _error("path must be a string", "invalidPath")
        if path is not None and not path.strip():
            path = None
        if op == "remove":
            if path is None:
                raise _error("remove needs a path", "noTarget")
            self._apply(op, path, None)
            return
        if "value" not in fields:
            raise _error(f"{op} needs a value", "invalidValue")
        value = fields["value"]
        if path is not None:
            self._apply(op, path, value)
            return
        # No path: the value object names the attributes to add or replace (RFC 7644 §3.5.2.1).
        if not isinstance(value, dict):
            raise _error(f"{op} without a path needs an object as value", "invalidValue")
        for key, item in value.items():
            low = str(key).lower()
            if low.startswith("urn:") and not low.startswith(USER_SCHEMA.lower()):
                continue  # an extension we do not store
            if low == USER_SCHEMA.lower() and isinstance(item, dict):
                for sub_key, sub_item in item.items():
                    self._apply(op, str(sub_key), sub_item)
                continue
            self._apply(op, str(key), item)

    def _apply(self, op: str, path: str, value: Any) -> None:
        raw = path.strip()
        prefix = USER_SCHEMA.lower() + ":"
        if raw.lower().startswith(prefix):
            raw = raw[len(prefix) :]
        elif raw.lower().startswith("urn:"):
            return  # an extension (such as the enterprise User): not stored, ignored
        match = _PATH.match(raw)
        if match is None:
            raise _error(f"path {path!r} cannot be read", "invalidPath")
        attribute = match.group("attr").lower()
        value_filter = match.group("filter")
        sub = (match.group("sub") or "").lower() or None
        if attribute in READ_ONLY:
            raise _error(f"{match.group('attr')} is read-only", "mutability")
        if (attribute in SINGLE_VALUES and (value_filter is not None or sub is not None)) or (
            attribute == "name" and value_filter is not None
        ):
            # active[value eq true], active.value: ignored, a deactivation would be a 200 that did nothing.
            raise _error(f"path {path!r} cannot be read: {match.group('attr')} is a single value", "invalidPath")
        if attribute == "username":
            if op == "remove":
                raise _error("userName is required and cannot be removed", "mutability")
            if not isinstance(value, str):
                raise _error("userName must be a string", "invalidValue")
            self.changes["user_name"] = value
        elif attribute == "active":
            if op == "remove":
                raise _error("active cannot be removed; set it to false to deactivate", "mutability")
            self.changes["active"] = as_bool("active", value)
        elif attribute in OPTIONAL_STRINGS:
            field = OPTIONAL_STRINGS[attribute]
            self.changes[field] = None if op == "remove" else as_optional_string(match.group("attr"), value)
        elif attribute == "name":
            self._name(op, sub, value)
        elif attribute == "emails":
            self._multi(op, "emails", "email", value_filter, sub, value)
        elif attribute == "phonenumbers":
            self._multi(op, "phoneNumbers", "phone", value_filter, sub, value)
        # Any other attribute is not stored here and is ignored (RFC 7644 §3.3).

    def _name(self, op: str, sub: str | None, value: Any) -> None:
        fields = {"givenname": "given_name", "familyname": "family_name"}
        if sub is None:
            if op == "remove":
                raise _error("name is required and cannot be removed", "mutability")
            if not isinstance(value, dict):
                raise _error("name must be an object", "invalidValue")
            for key, item in value.items():
                if str(key).lower() in fields:
                    self.changes[fields[str(key).lower()]] = as_optional_string(f"name.{key}", item)
            return
        if sub in fields:
            self.changes[fields[sub]] = None if op == "remove" else as_optional_string(f"name.{sub}", value)

    def _multi(self, op: str, name: str, field: str, value_filter: str | None, sub: str | None, value: Any) -> None:
        current = self.changes.get(field, getattr(self._practitioner, field))
        if value_filter is None:
            if sub is None:
                self.changes[field] = (
                    None if op == "remove" else pick_entry(name, value, "work" if field == "phone" else None)
                )
                if field == "email" and op != "remove":
                    self.changes["email_primary"] = picked_primary(name, value)
            elif sub == "value":
                # emails.value without a filter: every entry's value, i.e. our one entry's.
                self.changes[field] = None if op == "remove" else as_optional_string(f"{name}.value", value)
            return
        targets = self._targets(name, comparisons(value_filter), current)
        if targets is None:
            return  # an entry of a type we do not store
        if not targets:
            if op == "add":
                return
            raise _error(f"no {name} entry matches [{value_filter}]", "noTarget")
        if op == "remove":
            if sub in (None, "value"):
                self.changes[field] = None
            return
        if sub is None:
            self.changes[field] = (
                pick_entry(name, value)
                if isinstance(value, (dict, list))
                else as_optional_string(f"{name}.value", value)
            )
            if field == "email" and isinstance(value, (dict, list)):
                self.changes["email_primary"] = picked_primary(name, value)
        elif sub == "value":
            self.changes[field] = as_optional_string(f"{name}.value", value)
        elif sub == "primary" and field == "email":
            self.changes["email_primary"] = as_bool(f"{name}.primary", value)
        # The type of our one entry is fixed (work): nothing to change.

    @staticmethod
    def _targets(name: str, filter_: list[Comparison], current: str | None) -> bool | None:
        """Whether the filter selects our one (work) entry; None when it names another type."""
        for comparison in filter_:
            if comparison.attribute == "type":
                if not isinstance(comparison.value, str) or comparison.value.lower() != "work":
                    return None
            elif comparison.attribute == "primary":
                if comparison.value is not True:
                    return None
            elif comparison.attribute == "value":
                if (
                    not isinstance(comparison.value, str)
                    or current is None
                    or not _same_value(name, comparison.value, current)
                ):
                    return False
            else:
                raise _error(f"{name} entries can be selected by type, primary or value only", "invalidFilter")
        return True


def _same_value(name: str, a: str, b: str) -> bool:
    """An email entry is selected by the mailbox it names (the one email rule), a phone by its text."""
    return same_mailbox(a, b) if name == "emails" else a.lower() == b.lower()


def translate_patch(body: object, practitioner: Practitioner) -> ScimUser:
    return PatchTranslator(practitioner).translate(body)
