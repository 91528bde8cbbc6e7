"""LoginPolicyAdministration: the workflow, unknown-identity handling and claim mappings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from domain.audit import AuditKind, AuditTrail
from domain.errors import IdentityRejected, InvalidForm
from domain.ports import IdentityProviderRepository, SessionRevocation
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.profile import ProfileField
from domain.sso.claims import ClaimMapper, validate_mappings
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import ClaimMapping, Tenant, UnknownIdentityHandling, Workflow
from domain.text import document_problem


@dataclass(frozen=True)
class LoginPolicy:
    workflow: Workflow
    unknown_identity: UnknownIdentityHandling
    self_registration: bool
    claim_mappings: tuple[ClaimMapping, ...]


class LoginPolicyAdministration:
    def __init__(self, providers: IdentityProviderRepository, sessions: SessionRevocation, audit: AuditTrail) -> None:
        self._providers = providers
        self._sessions = sessions
        self._audit = audit

    def save(self, actor: Practitioner, tenant: Tenant, policy: LoginPolicy) -> list[str]:
        """Validates, saves and audits; returns what changed. Nothing is saved on an error."""
        before = tenant.auth
        after = before.but(
            workflow=policy.workflow,
            unknown_identity=policy.unknown_identity,
            self_registration=policy.self_registration,
            claim_mappings=tuple(sorted(policy.claim_mappings, key=lambda m: list(ProfileField).index(m.field))),
        )
        errors = validate_mappings(policy.claim_mappings)
        enabled_providers = sum(1 for p in self._providers.list(tenant.id) if p.settings.enabled)
        if not TenantAuthPolicy(after).leaves_a_way_in(enabled_providers):
            errors["workflow"] = "pseudo-SSO needs an enabled Single Sign On provider, or nobody could log in"
        if errors:
            raise InvalidForm(errors)
        changed = [
            f"{label} {new}"
            for label, old, new in (
                ("workflow", before.workflow.value, after.workflow.value),
                ("unknown identities", before.unknown_identity.value, after.unknown_identity.value),
                ("self-registration", _on_off(before.self_registration), _on_off(after.self_registration)),
            )
            if old != new
        ]
        if before.claim_mappings != after.claim_mappings:
            changed.append("claim mappings changed")
        tenant.auth = after
        if before.workflow != after.workflow:
            TenantAuthPolicy.of(tenant).end_closed_sessions(tenant.id, self._sessions)
        summary = "login policy: " + (", ".join(changed) if changed else "saved without changes")
        self._audit.record(tenant, AuditKind.SETTINGS_CHANGED, summary, actor.id)
        return changed

    @staticmethod
    def preview(mappings: tuple[ClaimMapping, ...], sample_claims: str) -> dict[ProfileField, str | None]:
        """What the mappings make of a sample of claims (JSON), before anyone logs in with them."""
        try:
            claims: Any = json.loads(sample_claims)
        except (ValueError, RecursionError):
            raise InvalidForm(
                {"sample_claims": 'paste the claims as a JSON object, such as {"given_name": "Ann"}'}
            ) from None
        if not isinstance(claims, dict):
            raise InvalidForm({"sample_claims": "the claims must be a JSON object"})
        # The same checks as a provider's answer at sign-in (VerifiedIdentity, ClaimMapper).
        problem = document_problem(claims)
        if problem is not None:
            raise InvalidForm({"sample_claims": f"the claim {problem}"})
        try:
            return ClaimMapper(mappings).profile_from(claims)
        except IdentityRejected as rejected:
            raise InvalidForm({"sample_claims": rejected.reason}) from None


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"
