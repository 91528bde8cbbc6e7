"""The audit trail every feature writes to: what happened, when, and who did it.

The `AuditLog` port lives here rather than in `domain.ports`, because `AuditTrail` needs it and
`domain.ports` needs nothing from the audit: so neither module imports the other in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.identifiers import new_id
from domain.ports import Clock
from domain.tenancy.tenant import Tenant


class AuditKind:
    SSO_LOGIN_SUCCEEDED = "sso_login_succeeded"
    SSO_LOGIN_FAILED = "sso_login_failed"
    LINK_REQUESTED = "link_requested"
    LINK_CONFIRMED = "link_confirmed"
    LINK_FAILED = "link_failed"
    SETTINGS_CHANGED = "settings_changed"
    REGISTERED = "registered"
    PROFILE_MIRRORED = "profile_mirrored"
    LINK_REMOVED = "link_removed"
    PROFILE_CHANGED = "profile_changed"


@dataclass(eq=False)
class AuditEvent:
    tenant_id: str
    kind: str
    at: datetime
    summary: str
    actor_id: str | None = None
    id: str = field(default_factory=new_id)


class AuditLog(Protocol):
    def record(self, event: AuditEvent) -> None: ...

    def newest(self, tenant_id: str, offset: int, limit: int) -> tuple[list[AuditEvent], int]:
        """A page of the tenant's events, newest first, and how many there are."""


class AuditTrail:
    """The one way a feature writes an event: stamped with the tenant and the current time."""

    def __init__(self, log: AuditLog, clock: Clock) -> None:
        self._log = log
        self._clock = clock

    def record(self, tenant: Tenant, kind: str, summary: str, actor_id: str | None = None) -> None:
        self._log.record(AuditEvent(tenant.id, kind, self._clock.now(), summary, actor_id))
