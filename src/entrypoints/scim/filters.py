"""The subset of the SCIM filter language (RFC 7644 §3.4.2.2) this service answers.

Supported: ``<attr> eq <value>`` comparisons joined with ``and``, where attr is userName,
externalId, emails / emails.value or active (case-insensitive, optionally prefixed with the
User schema URN), and value a JSON string, ``true`` or ``false``. Everything else — ``or``,
``not``, other operators, grouping, value paths, other attributes — is refused with
``invalidFilter`` (400), never answered wrongly and never a 500.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from domain.provisioning.scim_user import ScimQuery
from domain.text import is_storable
from domain.practitioners.email import same_mailbox
from entrypoints.scim.errors import ScimError
from entrypoints.scim.schema import USER_SCHEMA

_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[()\[\]])|(?P<word>[^\s()\[\]"]+))')
_OPERATORS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}
MAX_FILTER_LENGTH = 1000


def invalid_filter(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidFilter")


@dataclass(frozen=True)
class Comparison:
    attribute: str  # lower-cased, schema prefix removed
    value: object  # str | bool | None


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise invalid_filter(f"the filter cannot be read at position {position + 1}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _value(kind: str, text: str) -> object:
    if kind == "string":
        try:
            value = json.loads(text)
        except ValueError:
            raise invalid_filter(f"{text} is not a valid string") from None
        if not is_storable(value):  # an escape such as \u0000 or \ud800 in the quoted string
            raise invalid_filter("a compared value contains a character that cannot be stored")
        return value
    if kind == "word" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind == "word" and text.lower() == "null":
        return None
    raise invalid_filter(f"unsupported comparison value {text!r}: use a quoted string, true or false")


def comparisons(text: str) -> list[Comparison]:
    """``a eq "x" and b eq true`` -> [Comparison("a", "x"), Comparison("b", True)]; anything else is refused."""
    if len(text) > MAX_FILTER_LENGTH:
        raise invalid_filter("the filter is too long")
    tokens = tokenize(text)
    if not tokens:
        raise invalid_filter("the filter is empty")
    result: list[Comparison] = []
    i = 0
    while True:
        if i + 3 > len(tokens):
            raise invalid_filter("a comparison is incomplete: expected <attribute> eq <value>")
        (akind, attribute), (okind, operator), (vkind, value) = tokens[i : i + 3]
        if akind != "word":
            raise invalid_filter("grouping with parentheses or brackets is not supported")
        if attribute.lower() in ("not", "and", "or"):
            raise invalid_filter(f"{attribute!r} is not supported here; only comparisons joined with and")
        if okind != "word" or operator.lower() not in _OPERATORS:
            raise invalid_filter(
                "value paths and grouping are not supported" if okind == "punct" else f"unknown operator {operator!r}"
            )
        if operator.lower() != "eq":
            raise invalid_filter(f"operator {operator!r} is not supported; only eq")
        name = attribute.lower()
        prefix = USER_SCHEMA.lower() + ":"
        if name.startswith(prefix):
            name = name[len(prefix) :]
        result.append(Comparison(name, _value(vkind, value)))
        i += 3
        if i == len(tokens):
            return result
        kind, word = tokens[i]
        if kind != "word" or word.lower() != "and":
            if kind == "word" and word.lower() == "or":
                raise invalid_filter("'or' is not supported; only and")
            raise invalid_filter(f"expected 'and' but found {word!r}")
        i += 1


_FIELDS = {
    "username": ("user_name", str),
    "externalid": ("external_id", str),
    "emails": ("email", str),
    "emails.value": ("email", str),
    "active": ("active", bool),
}


def parse_user_filter(text: str) -> tuple[ScimQuery, bool]:
    """The query for a Users filter, and whether it can match anything at all.

    Two different values for one attribute (``userName eq "a" and userName eq "b"``) match nothing.
    """
    criteria: dict[str, object] = {}
    satisfiable = True
    for comparison in comparisons(text):
        if comparison.attribute not in _FIELDS:
            raise invalid_filter(f"filtering on {comparison.attribute!r} is not supported")
        field, kind = _FIELDS[comparison.attribute]
        if not isinstance(comparison.value, kind):
            raise invalid_filter(
                f"{comparison.attribute} must be compared with a {'boolean' if kind is bool else 'string'}"
            )
        value = comparison.value
        if field in criteria:
            previous = criteria[field]
            if field == "email" and isinstance(previous, str) and isinstance(value, str):
                satisfiable &= same_mailbox(previous, value)
            elif field == "user_name" and isinstance(previous, str) and isinstance(value, str):
                satisfiable &= previous.lower() == value.lower()
            else:
                satisfiable &= previous == value
        criteria[field] = value
    return ScimQuery(**criteria), satisfiable  # type: ignore[arg-type]
