"""AccountSettings: what a practitioner may change about their own account."""

from __future__ import annotations

from dataclasses import dataclass

from domain.audit import AuditKind, AuditTrail
from domain.text import in_a_row
from domain.errors import N_, NotAllowed, UnknownLink, known
from domain.ports import IdentityLinkRepository, IdentityProviderRepository, TenantRepository
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.profile import ProfileField
from domain.sso.identity import IdentityLink
from domain.sso.provider import IdentityProvider
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant


EDITABLE = (
    ProfileField.SALUTATION,
    ProfileField.FIRST_NAME,
    ProfileField.LAST_NAME,
    ProfileField.PHONE,
    ProfileField.JOB_TITLE,
)

LOCKED = N_("in this practice your personal data comes from its identity provider and cannot be changed here")


@dataclass(frozen=True)
class AccountSettings:
    _tenants: TenantRepository
    _links: IdentityLinkRepository
    _providers: IdentityProviderRepository
    _audit: AuditTrail

    def update_profile(
        self, tenant: Tenant, practitioner: Practitioner, changes: dict[ProfileField, str | None]
    ) -> list[ProfileField]:
        """Standard workflow only: under pseudo-SSO the provider owns the data."""
        if not TenantAuthPolicy.of(tenant).profile_editable:
            raise NotAllowed(LOCKED)
        changed = practitioner.update_profile({f: v for f, v in changes.items() if f in EDITABLE})
        if changed:
            names = in_a_row([f.label for f in changed])
            summary = N_("%(email)s changed their %(fields)s", email=practitioner.email, fields=names)
            self._audit.record(tenant, AuditKind.PROFILE_CHANGED, summary, practitioner.id)
        return changed

    def choose_language(self, tenant: Tenant, practitioner: Practitioner, language: str | None) -> bool:
        """The practitioner's own choice of language (None: none). Allowed in every workflow: it is
        not data the provider owns. Audited as a profile change; returns whether it changed."""
        if not practitioner.choose_language(language):
            return False
        email, language = practitioner.email, practitioner.language
        if language is None:
            summary = N_("%(email)s chose no language of their own", email=email)
        else:
            summary = N_("%(email)s chose the language %(language)s", email=email, language=language)
        self._audit.record(tenant, AuditKind.PROFILE_CHANGED, summary, practitioner.id)
        return True

    def linked_accounts(
        self, tenant: Tenant, practitioner: Practitioner
    ) -> list[tuple[IdentityLink, IdentityProvider | None]]:
        TenantAuthPolicy.of(tenant).require_linked_accounts_shown()
        providers = {p.id: p for p in self._providers.list(tenant.id)}
        return [
            (link, providers.get(link.provider_id)) for link in self._links.of_practitioner(tenant.id, practitioner.id)
        ]

    def unlink(self, tenant: Tenant, practitioner: Practitioner, link_id: str) -> IdentityLink:
        """Removes a link, unless it is the practitioner's last way to log in."""
        # A change of a way in, decided on what is committed: of two unlinks at once (or an admin
        # switching off the other provider meanwhile), the later one counts what the first left.
        self._tenants.lock(tenant)
        TenantAuthPolicy.of(tenant).require_linked_accounts_shown()
        links = self._links.of_practitioner(tenant.id, practitioner.id)
        link = known(next((link for link in links if link.id == link_id), None), UnknownLink)
        enabled = {p.id for p in self._providers.list(tenant.id) if p.settings.enabled}
        other_links = sum(1 for other in links if other is not link and other.provider_id in enabled)
        if not TenantAuthPolicy.of(tenant).leaves_a_way_in(other_links, practitioner.has_usable_password):
            raise NotAllowed(
                N_(
                    "this is your last way to log in; set a password (Forgot your password?) "
                    "or link another provider first"
                )
            )
        self._links.remove(link)
        summary = N_(
            "%(email)s removed a linked account (sub %(subject)s)", email=practitioner.email, subject=link.subject
        )
        self._audit.record(tenant, AuditKind.LINK_REMOVED, summary, practitioner.id)
        return link
