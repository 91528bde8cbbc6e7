"""LinkedIdentities: an admin sees a practitioner's Single Sign On links and removes a wrong one.

Removing a link deletes it and nothing else: the practitioner's next sign-in with that identity
matches nobody, and the practice's policy for unknown identities decides what follows (with
confirm-by-code, a one-time password mailed to the registered email links it again). Under
pseudo-SSO too, where the practitioner cannot unlink by hand: an admin may fix a wrong link.

Who may: the rule of every other change to a practitioner (``Authority.require_may_manage``).
A removal that leaves no way to log in (``TenantAuthPolicy.leaves_a_way_in``) needs the admin's
explicit confirmation, so nobody is locked out by a slip.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.audit import AuditKind, AuditTrail
from domain.errors import N_, DomainError, UnknownLink, UnknownPractitioner, known
from domain.ports import IdentityLinkRepository, IdentityProviderRepository, PractitionerRepository, TenantRepository
from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.sso.identity import IdentityLink
from domain.sso.provider import IdentityProvider
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant, UnknownIdentityHandling


class LastWayIn(DomainError):
    """The removal would leave the practitioner no way to log in, and the admin did not confirm it."""

    def __init__(self, name: str) -> None:
        super().__init__(
            N_(
                "this is %(name)s's last way to log in; removing it locks them out until they sign in again "
                "through a provider as described below, or an admin helps; tick the confirmation to remove it "
                "anyway",
                name=name,
            )
        )


def after_removal(tenant: Tenant, practitioner: Practitioner) -> str:
    """What the practitioner's next sign-in with a removed identity does, under the practice's policy
    (one whole text for each policy, so that each translates as a whole)."""
    handling = TenantAuthPolicy.of(tenant).unknown_identity
    if handling is UnknownIdentityHandling.CONFIRM_BY_OTP:
        return N_(
            "their next sign-in with that identity matches nobody: the portal asks for their registered email and "
            "mails a one-time code to it (%(email)s); once they enter the code, the identity is linked to their "
            "account again",
            email=practitioner.email,
        )
    if handling is UnknownIdentityHandling.REGISTER:
        return N_(
            "their next sign-in with that identity matches nobody. If the provider marks its email verified and it "
            "is their registered email, the identity is linked again at once; otherwise the portal asks for their "
            "registered email and mails a one-time code to it (%(email)s); once they enter the code, the identity "
            "is linked to their account again. If the provider's email is registered to nobody here, a new account "
            "is made for it",
            email=practitioner.email,
        )
    return N_(
        "their next sign-in with that identity matches nobody. If the provider marks its email verified and it "
        "is their registered email, the identity is linked again at once; otherwise the portal asks for their "
        "registered email and mails a one-time code to it (%(email)s); once they enter the code, the identity "
        "is linked to their account again",
        email=practitioner.email,
    )


@dataclass(frozen=True)
class LinkedIdentity:
    """One link as the admin page shows it."""

    link: IdentityLink
    provider: IdentityProvider | None  # None: the provider was removed
    last_way_in: bool  # removing it leaves the practitioner no way to log in

    @property
    def provider_name(self) -> str:
        return self.provider.display_name if self.provider is not None else N_("A removed provider")

    @property
    def provider_state(self) -> str | None:
        if self.provider is None:
            return N_("removed")
        return None if self.provider.settings.enabled else N_("switched off")


@dataclass(frozen=True)
class PractitionerRecord:
    """A practitioner's page: their data, their links, and whether the admin may change them."""

    practitioner: Practitioner
    identities: list[LinkedIdentity]
    may_manage: bool


@dataclass(frozen=True)
class LinkedIdentities:
    _tenants: TenantRepository
    _practitioners: PractitionerRepository
    _links: IdentityLinkRepository
    _providers: IdentityProviderRepository
    _audit: AuditTrail

    def record(self, actor: Practitioner, tenant: Tenant, practitioner_id: str) -> PractitionerRecord:
        """What an admin of the practice sees (anyone who manages practitioners sees everyone, as the list does)."""
        authority = Authority.of(actor, tenant)
        authority.require_may_provision()
        practitioner = self._get(tenant, practitioner_id)
        return PractitionerRecord(
            practitioner, self._identities(tenant, practitioner), authority.may_manage(practitioner)
        )

    def remove(
        self, actor: Practitioner, tenant: Tenant, practitioner_id: str, link_id: str, *, last_way_in_confirmed: bool
    ) -> tuple[Practitioner, LinkedIdentity]:
        self._tenants.lock(tenant)  # the last way in is judged on what is committed, as AccountSettings.unlink
        practitioner = self._get(tenant, practitioner_id)
        Authority.of(actor, tenant).require_may_manage(practitioner)
        identities = self._identities(tenant, practitioner)
        found = known(next((i for i in identities if i.link.id == link_id), None), UnknownLink)
        if found.last_way_in and not last_way_in_confirmed:
            raise LastWayIn(practitioner.full_name)
        self._links.remove(found.link)
        summary = N_(
            "%(email)s: link to %(provider)s (sub %(subject)s) removed by admin %(admin)s",
            email=practitioner.email,
            provider=found.provider_name,
            subject=found.link.subject,
            admin=actor.email,
        )
        self._audit.record(tenant, AuditKind.LINK_REMOVED_BY_ADMIN, summary, actor.id, subject_id=practitioner.id)
        return practitioner, found

    def _identities(self, tenant: Tenant, practitioner: Practitioner) -> list[LinkedIdentity]:
        providers = {p.id: p for p in self._providers.list(tenant.id)}
        links = self._links.of_practitioner(tenant.id, practitioner.id)
        enabled = {p.id for p in providers.values() if p.settings.enabled}
        policy = TenantAuthPolicy.of(tenant)

        def last_way_in(link: IdentityLink) -> bool:
            others = sum(1 for other in links if other is not link and other.provider_id in enabled)
            return not policy.leaves_a_way_in(others, practitioner.has_usable_password)

        return [LinkedIdentity(link, providers.get(link.provider_id), last_way_in(link)) for link in links]

    def _get(self, tenant: Tenant, practitioner_id: str) -> Practitioner:
        return known(self._practitioners.get(tenant.id, practitioner_id), UnknownPractitioner)
