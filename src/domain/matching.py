"""UserMatcher: which practitioner a verified identity from a provider is, if any."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import AccountDeactivated
from domain.model import Practitioner, Tenant
from domain.ports import IdentityLinkRepository, PractitionerRepository
from domain.sso import IdentityLink, IdentityProvider, VerifiedIdentity


@dataclass(frozen=True)
class Linked:
    practitioner: Practitioner
    link: IdentityLink


@dataclass(frozen=True)
class Unknown:
    """No practitioner is linked to this identity yet: the link must be confirmed."""


Match = Linked | Unknown


class UserMatcher:
    def __init__(self, links: IdentityLinkRepository, practitioners: PractitionerRepository) -> None:
        self._links = links
        self._practitioners = practitioners

    def match(self, tenant: Tenant, provider: IdentityProvider, identity: VerifiedIdentity) -> Match:
        """The key is (tenant, provider, issuer, sub); an email alone never identifies anyone."""
        link = self._links.find(tenant.id, provider.id, identity.issuer, identity.subject)
        if link is None:
            return Unknown()
        practitioner = self._practitioners.get(tenant.id, link.practitioner_id)
        if practitioner is None:
            return Unknown()
        if not practitioner.active:
            raise AccountDeactivated()
        return Linked(practitioner, link)
