"""AccountSettings: what a practitioner may change about their own account."""

from __future__ import annotations

from domain.errors import NotAllowed, UnknownLink
from domain.model import Practitioner, Tenant
from domain.policy import TenantAuthPolicy
from domain.ports import AuditLog, Clock, IdentityLinkRepository, IdentityProviderRepository
from domain.sso import AuditEvent, AuditKind, IdentityLink, IdentityProvider
from domain.values import ProfileField

EDITABLE = (ProfileField.SALUTATION, ProfileField.FIRST_NAME, ProfileField.LAST_NAME, ProfileField.PHONE, ProfileField.JOB_TITLE)
LOCKED = "in this practice your personal data comes from its identity provider and cannot be changed here"


class AccountSettings:
    def __init__(
        self,
        links: IdentityLinkRepository,
        providers: IdentityProviderRepository,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self._links = links
        self._providers = providers
        self._audit = audit
        self._clock = clock

    def update_profile(
        self, tenant: Tenant, practitioner: Practitioner, changes: dict[ProfileField, str | None]
    ) -> list[ProfileField]:
        """Standard workflow only: under pseudo-SSO the provider owns the data."""
        if not TenantAuthPolicy.of(tenant).profile_editable:
            raise NotAllowed(LOCKED)
        changed = practitioner.update_profile({f: v for f, v in changes.items() if f in EDITABLE})
        if changed:
            names = ", ".join(f.label for f in changed)
            self._record(tenant, practitioner, f"{practitioner.email} changed their {names}")
        return changed

    def linked_accounts(
        self, tenant: Tenant, practitioner: Practitioner
    ) -> list[tuple[IdentityLink, IdentityProvider | None]]:
        self._require_linked_accounts_shown(tenant)
        providers = {p.id: p for p in self._providers.list(tenant.id)}
        return [(link, providers.get(link.provider_id)) for link in self._links.of_practitioner(tenant.id, practitioner.id)]

    def unlink(self, tenant: Tenant, practitioner: Practitioner, link_id: str) -> IdentityLink:
        """Removes a link, unless it is the practitioner's last way to log in."""
        self._require_linked_accounts_shown(tenant)
        links = self._links.of_practitioner(tenant.id, practitioner.id)
        link = next((l for l in links if l.id == link_id), None)
        if link is None:
            raise UnknownLink()
        enabled = {p.id for p in self._providers.list(tenant.id) if p.enabled}
        other_ways = sum(1 for l in links if l is not link and l.provider_id in enabled)
        if practitioner.has_usable_password and TenantAuthPolicy.of(tenant).password_login_allowed:
            other_ways += 1
        if other_ways == 0:
            raise NotAllowed(
                "this is your last way to log in; set a password (Forgot your password?) "
                "or link another provider first"
            )
        self._links.remove(link)
        self._record(tenant, practitioner, f"{practitioner.email} removed a linked account (sub {link.subject})", AuditKind.LINK_REMOVED)
        return link

    def _require_linked_accounts_shown(self, tenant: Tenant) -> None:
        if not TenantAuthPolicy.of(tenant).linked_accounts_shown:
            raise NotAllowed("linked accounts are managed by this practice's identity provider")

    def _record(self, tenant: Tenant, practitioner: Practitioner, summary: str, kind: str = AuditKind.PROFILE_CHANGED) -> None:
        self._audit.record(AuditEvent(tenant.id, kind, self._clock.now(), summary, practitioner.id))
