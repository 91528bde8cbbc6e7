"""PracticeSettings: the practice's default language and the time zone its dates are shown in."""

from __future__ import annotations

from dataclasses import dataclass

from domain.audit import AuditKind, AuditTrail
from domain.errors import N_
from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.tenant import Tenant


@dataclass(frozen=True)
class PracticeSettings:
    _audit: AuditTrail

    def speak_and_keep_time(
        self, actor: Practitioner, tenant: Tenant, default_language: str | None, time_zone: str
    ) -> bool:
        """Validates and saves both (nothing on an error) and audits a change; returns whether
        anything changed. The same right as the login policy: both shape every practitioner's pages."""
        Authority.of(actor, tenant).require_may_administer_authentication(
            N_("only the account owner or someone with the Authentication right changes the practice's settings")
        )
        if not tenant.speak_and_keep_time(default_language, time_zone):
            return False
        if default_language is None:
            summary = N_("default language: the browser's; time zone %(time_zone)s", time_zone=time_zone)
        else:
            summary = N_(
                "default language %(language)s; time zone %(time_zone)s", language=default_language, time_zone=time_zone
            )
        self._audit.record(tenant, AuditKind.SETTINGS_CHANGED, summary, actor.id)
        return True
