from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

import json

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
