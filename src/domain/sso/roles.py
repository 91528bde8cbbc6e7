"""RoleSync: at a Single Sign On login, the practitioner's module rights from the provider's roles."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterable, Mapping
from typing import Any

from domain.audit import AuditKind, AuditTrail
from domain.errors import N_
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.rights import ModuleRight, rights_named
from domain.sso.claims import claim_value
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant


def role_values(tenant: Tenant, claims: Mapping[str, Any]) -> tuple[str, ...]:
    """The values of the tenant's roles claim (a dotted path allowed): one text, or a list of texts.

    Anything else (no such claim, a number, a list holding anything but text) counts as no roles:
    a provider that sends something unexpected never gives rights by accident."""
    raw = claim_value(claims, tenant.auth.roles_claim) if tenant.auth.roles_claim else None
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(value, str) for value in raw):
        return tuple(raw)
    return ()


def rights_from_roles(tenant: Tenant, claims: Mapping[str, Any]) -> frozenset[ModuleRight]:
    """The module rights these claims would give under the tenant's role mappings."""
    return tenant.auth.rights_for(role_values(tenant, claims))


@dataclass(frozen=True)
class RoleSync:
    """The provider is the source of a practitioner's module rights once the policy applies its
    roles (TenantAuthPolicy.roles_applied): each login sets them to what the mapping gives, and a
    change is audited as the provider's doing (no actor). The owner holds every right by being the
    owner, so the owner is left alone: roles neither demote nor promote anyone to or from owner."""

    _audit: AuditTrail

    def sync(self, tenant: Tenant, practitioner: Practitioner, values: Iterable[str], provider_name: str) -> None:
        """``values``: the roles claim's values at this login (``role_values``)."""
        if not TenantAuthPolicy.of(tenant).roles_applied or practitioner.is_owner:
            return
        granted, revoked = practitioner.hold_rights(tenant.auth.rights_for(values))
        said = {"email": practitioner.email, "provider": provider_name}
        if granted:
            summary = N_(
                "%(email)s: %(rights)s granted by the roles from %(provider)s", rights=rights_named(granted), **said
            )
            self._audit.record(tenant, AuditKind.RIGHTS_GRANTED, summary, None, subject_id=practitioner.id)
        if revoked:
            summary = N_(
                "%(email)s: %(rights)s revoked by the roles from %(provider)s", rights=rights_named(revoked), **said
            )
            self._audit.record(tenant, AuditKind.RIGHTS_REVOKED, summary, None, subject_id=practitioner.id)
