"""LoginPolicyAdministration: the workflow, unknown-identity handling and claim mappings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from domain.claims import ClaimMapper, validate_mappings
from domain.errors import IdentityRejected, InvalidForm
from domain.model import ClaimMapping, Practitioner, Tenant
from domain.policy import TenantAuthPolicy
from domain.ports import AuditLog, Clock, IdentityProviderRepository, SessionRevocation
from domain.sso import AuditEvent, AuditKind
from domain.text import document_problem
from domain.values import ProfileField, UnknownIdentityHandling, Workflow


@dataclass(frozen=True)
class LoginPolicy:
    workflow: Workflow
    unknown_identity: UnknownIdentityHandling
    self_registration: bool
    claim_mappings: tuple[ClaimMapping, ...]


class LoginPolicyAdministration:
    def __init__(
        self, providers: IdentityProviderRepository, sessions: SessionRevocation, audit: AuditLog, clock: Clock
    ) -> None:
        self._providers = providers
        self._sessions = sessions
        self._audit = audit
        self._clock = clock

    def save(self, actor: Practitioner, tenant: Tenant, policy: LoginPolicy) -> list[str]:
        """Validates, saves and audits; returns what changed. Nothing is saved on an error."""
        errors = validate_mappings(policy.claim_mappings)
        if policy.workflow is Workflow.PSEUDO_SSO and not any(p.enabled for p in self._providers.list(tenant.id)):
            errors["workflow"] = "pseudo-SSO needs an enabled Single Sign On provider, or nobody could log in"
        if errors:
            raise InvalidForm(errors)
        before = tenant.auth
        after = before.but(
            workflow=policy.workflow,
            unknown_identity=policy.unknown_identity,
            self_registration=policy.self_registration,
            claim_mappings=tuple(sorted(policy.claim_mappings, key=lambda m: list(ProfileField).index(m.field))),
        )
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
        self._audit.record(AuditEvent(tenant.id, AuditKind.SETTINGS_CHANGED, self._clock.now(), summary, actor.id))
        return changed

    @staticmethod
    def preview(mappings: tuple[ClaimMapping, ...], sample_claims: str) -> dict[ProfileField, str | None]:
        """What the mappings make of a sample of claims (JSON), before anyone logs in with them."""
        try:
            claims: Any = json.loads(sample_claims)
        except (ValueError, RecursionError):
            raise InvalidForm({"sample_claims": "paste the claims as a JSON object, such as {\"given_name\": \"Ann\"}"}) from None
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
