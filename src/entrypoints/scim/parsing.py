"""Reading SCIM requests: a JSON body, a User in it as a ScimUser, and the query parameters.

Every value is checked for its type here, so the domain receives a ScimUser of real types;
what a value may be (a userName's length, an email) is the domain's rule.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from pyramid.request import Request

from domain.provisioning.scim_user import UNCHANGED, ScimUser, Unchanged
from domain.text import document_problem
from entrypoints.scim.errors import ScimError
from entrypoints.scim.schema import USER_SCHEMA

MAX_BODY_BYTES = 256 * 1024
JSON_TYPES = ("application/scim+json", "application/json")
INTEGER = re.compile(r"[+-]?[0-9]{1,30}")  # longer is refused rather than converted: it is clamped anyway

T = TypeVar("T")


def _invalid(detail: str, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(400, detail, scim_type)


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


def storable_document(document: Any) -> Any:
    """A request body as parsed, when every key and string is storable text and every number finite.

    Checked once, for the whole body, before anything reads it: what is not stored (an unknown
    attribute, a filter) is refused all the same, as a client sending it is broken.
    """
    problem = document_problem(document)
    if problem is not None:
        raise _invalid(f"{problem}: send text without NUL characters or unpaired surrogates, and finite numbers")
    return document


# ---- query parameters -------------------------------------------------------------------------


def integer(name: str, raw: object, default: int) -> int:
    """A JSON integer or a string of ASCII digits; a float (1.5, 1e400 or Infinity), a boolean or anything else is refused."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and INTEGER.fullmatch(raw.strip()):
        return int(raw)
    raise ScimError(400, f"{name} must be an integer", "invalidValue")


AttributePath = tuple[str, str | None]  # ("name", "givenname"); ("username", None): the whole attribute


@dataclass(frozen=True)
class Selection:
    """attributes / excludedAttributes (RFC 7644 §3.4.2.5, §3.9): what the client wants returned.

    None (or empty): the parameter was not sent; rendering.project applies the selection.
    """

    attributes: list[AttributePath] | None = None
    excluded: list[AttributePath] | None = None


def selection(attributes: object, excluded: object) -> Selection:
    return Selection(
        _attribute_paths(_attribute_list("attributes", attributes)),
        _attribute_paths(_attribute_list("excludedAttributes", excluded)),
    )


def _attribute_list(name: str, raw: object) -> str | None:
    """attributes / excludedAttributes: comma-separated in a query, a list of strings in a SearchRequest."""
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return ",".join(raw)
    raise ScimError(400, f"{name} must be a list of attribute names", "invalidValue")


def _attribute_paths(raw: str | None) -> list[AttributePath] | None:
    """``"userName, name.givenName"`` -> [("username", None), ("name", "givenname")]; None when absent."""
    if raw is None:
        return None
    paths: list[AttributePath] = []
    for item in raw.split(","):
        name = item.strip().lower()
        if not name:
            continue
        prefix = USER_SCHEMA.lower() + ":"
        if name.startswith(prefix):
            name = name[len(prefix) :]
        elif name.startswith("urn:"):
            continue  # an extension we do not have: nothing to return for it
        top, _, sub = name.partition(".")
        paths.append((top, sub or None))
    return paths


# ---- attribute values (also read by patch.py) --------------------------------------------------


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
    return None if entry is None else entry["value"]


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


# ---- from a POST / PUT body to a ScimUser ------------------------------------------------------


def core_attributes(body: dict[str, Any]) -> dict[str, Any]:
    """The body's attributes by lower-cased name; core attributes given with the schema URN count too."""
    prefix = USER_SCHEMA.lower() + ":"
    attributes: dict[str, Any] = {}
    for key, value in body.items():
        low = str(key).lower()
        if low.startswith(prefix):
            low = low[len(prefix) :]
        attributes[low] = value
    return attributes


def _user_attributes(body: object, resource_id: str | None) -> dict[str, Any]:
    """The attributes of a User body, once its ``schemas`` and ``id`` are checked."""
    if not isinstance(body, dict):
        raise _invalid("the request body must be a JSON object", "invalidSyntax")
    attributes = core_attributes(body)
    schemas = attributes.get("schemas")
    if schemas is not None and (
        not isinstance(schemas, list) or USER_SCHEMA.lower() not in [str(s).lower() for s in schemas]
    ):
        raise _invalid(f"schemas must contain {USER_SCHEMA}", "invalidSyntax")
    if resource_id is not None and attributes.get("id") not in (None, resource_id):
        raise _invalid("id is read-only and does not match the resource", "mutability")
    return attributes


def _sent(attributes: dict[str, Any], key: str, read: Callable[[Any], T]) -> T | Unchanged:
    """The attribute read when the body names it (even as null), else UNCHANGED."""
    return read(attributes[key]) if key in attributes else UNCHANGED


def _user_name(value: object) -> str:
    if not isinstance(value, str):
        raise _invalid("userName must be a string")
    return value


def _name_parts(value: object) -> tuple[str | None, str | None]:
    if value is not None and not isinstance(value, dict):
        raise _invalid("name must be an object")
    parts = {str(k).lower(): v for k, v in (value or {}).items()}
    return (
        as_optional_string("name.givenName", parts.get("givenname")),
        as_optional_string("name.familyName", parts.get("familyname")),
    )


def parse_user(body: object, resource_id: str | None = None) -> ScimUser:
    """A ScimUser holding the attributes the body sends; absent ones stay UNCHANGED.

    Unknown attributes (and extensions) are ignored (RFC 7644 §3.3). The read-only ``id`` and
    ``meta`` are ignored too, as RFC 7644 §3.3 (POST) and §3.5.1 (PUT: "readOnly: Any values
    provided SHALL be ignored") say — except an ``id`` in a PUT that names another resource
    than the URL: that conflict is refused with 400 ``mutability`` (the example of §3.12).
    """
    attributes = _user_attributes(body, resource_id)
    # Read in this order, so a body with several faults is answered with the same first one.
    user_name = _sent(attributes, "username", _user_name)
    email = _sent(attributes, "emails", lambda value: pick_entry("emails", value))
    email_primary = _sent(attributes, "emails", lambda value: picked_primary("emails", value))
    names = _sent(attributes, "name", _name_parts)
    given_name, family_name = (UNCHANGED, UNCHANGED) if names is UNCHANGED else names
    active = UNCHANGED if attributes.get("active") is None else as_bool("active", attributes["active"])
    return ScimUser(
        user_name,
        email,
        given_name,
        family_name,
        active,
        external_id=_sent(attributes, "externalid", lambda value: as_optional_string("externalId", value)),
        title=_sent(attributes, "title", lambda value: as_optional_string("title", value)),
        display_name=_sent(attributes, "displayname", lambda value: as_optional_string("displayName", value)),
        preferred_language=_sent(
            attributes, "preferredlanguage", lambda value: as_optional_string("preferredLanguage", value)
        ),
        phone=_sent(attributes, "phonenumbers", lambda value: pick_entry("phoneNumbers", value, preferred_type="work")),
        email_primary=email_primary,
    )
