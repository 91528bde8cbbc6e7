from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

import json

from domain.errors import Message
from domain.tenancy.tenant import ClaimMapping, RoleMapping
from domain.practitioners.rights import ModuleRight
from domain.practitioners.profile import ProfileField


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone on every database, returns aware datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; use UTC-aware ones")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class RightsSet(TypeDecorator[frozenset[ModuleRight]]):
    """A practitioner's module rights as a sorted, comma-separated list."""

    impl = String(200)
    cache_ok = True

    def process_bind_param(self, value: frozenset[ModuleRight] | None, dialect: Dialect) -> str:
        return ",".join(sorted(r.value for r in value or ()))

    def process_result_value(self, value: Any, dialect: Dialect) -> frozenset[ModuleRight]:
        return frozenset(ModuleRight(v) for v in (value or "").split(",") if v)


class ClaimMappingsJson(TypeDecorator[tuple[ClaimMapping, ...]]):
    """A tenant's claim mappings as a JSON list: [{"field", "claim", "value_map": [[from, to]]}]."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: tuple[ClaimMapping, ...] | None, dialect: Dialect) -> str:
        return json.dumps(
            [
                {"field": m.field.value, "claim": m.claim, "value_map": [list(p) for p in m.value_map]}
                for m in value or ()
            ]
        )

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[ClaimMapping, ...]:
        return tuple(
            ClaimMapping(ProfileField(item["field"]), item["claim"], tuple(tuple(p) for p in item.get("value_map", [])))
            for item in json.loads(value or "[]")
        )


class RoleMappingsJson(TypeDecorator[tuple[RoleMapping, ...]]):
    """A tenant's role mappings as a JSON list: [{"value": role or group, "right": module right}]."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: tuple[RoleMapping, ...] | None, dialect: Dialect) -> str:
        return json.dumps([{"value": m.value, "right": m.right.value} for m in value or ()])

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[RoleMapping, ...]:
        return tuple(RoleMapping(item["value"], ModuleRight(item["right"])) for item in json.loads(value or "[]"))


# An audit summary recorded as a domain Message: its English, message id and values as JSON, so the
# audit page says it in the reader's language. This prefix cannot start an English summary (they
# all start with words), so text recorded before is read as it was recorded.
MESSAGE_PREFIX = '{"en": '
JsonValue = str | int | float | bool | None | dict[str, Any]


class AuditSummary(TypeDecorator[str]):
    """An audit event's summary: a ``Message`` stored as JSON and read back as one, any other
    text as it is (events recorded before summaries were translatable stay plain English)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if not isinstance(value, Message):
            return value
        return json.dumps(_message_document(value), ensure_ascii=False)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not str(value).startswith(MESSAGE_PREFIX):
            return str(value)
        try:
            return _message_of(json.loads(value))
        except (ValueError, TypeError, KeyError):  # not a document this adapter wrote: shown as stored
            return str(value)


def _message_document(message: Message) -> dict[str, Any]:
    document: dict[str, Any] = {"en": str(message), "msgid": message.msgid}
    if message.plural is not None:
        document.update(plural=message.plural, number=message.number)
    document["values"] = {name: _stored_value(value) for name, value in message.values.items()}
    return document


def _stored_value(value: object) -> JsonValue:
    if isinstance(value, Message):  # a refusal or a label inside the summary, translated with it
        return _message_document(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def _message_of(document: Any) -> Message:
    """The Message a document of ``_message_document`` holds; TypeError or KeyError if it is not one."""
    if not isinstance(document, dict) or not isinstance(document["msgid"], str):
        raise TypeError("not a stored message")
    stored = document["values"]
    if not isinstance(stored, dict):
        raise TypeError("not stored values")
    values = {name: _message_of(value) if isinstance(value, dict) else value for name, value in stored.items()}
    plural, number = document.get("plural"), document.get("number")
    if plural is not None and (not isinstance(plural, str) or not isinstance(number, int)):
        raise TypeError("not a stored plural")
    return Message(document["msgid"], values, plural, number)
