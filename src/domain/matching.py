"""UserMatcher: who a verified identity from a provider is, and what happens next."""

from __future__ import annotations

from dataclasses import dataclass

from domain.claims import ClaimMapper
from domain.errors import AccountDeactivated, InvalidValue, SsoRefused
from domain.model import Practitioner, Tenant
from domain.policy import TenantAuthPolicy
from domain.ports import IdentityLinkRepository, PractitionerRepository
from domain.sso import IdentityLink, IdentityProvider, VerifiedIdentity
from domain.values import ProfileField, normalize_email


@dataclass(frozen=True)
class Linked:
    """1. The identity is linked: log its practitioner in."""

    practitioner: Practitioner
    link: IdentityLink


@dataclass(frozen=True)
class LinkByVerifiedEmail:
    """2. The provider vouches for an email registered here, and the policy trusts that."""

    practitioner: Practitioner


@dataclass(frozen=True)
class RegisterNew:
    """3. Nobody matches and the policy registers newcomers from the token's data."""

    profile: dict[ProfileField, str | None]


@dataclass(frozen=True)
class ConfirmByCode:
    """4. Only a one-time password to a registered email can tell who this is."""


Match = Linked | LinkByVerifiedEmail | RegisterNew | ConfirmByCode


class UserMatcher:
    def __init__(self, links: IdentityLinkRepository, practitioners: PractitionerRepository) -> None:
        self._links = links
        self._practitioners = practitioners

    def match(self, tenant: Tenant, provider: IdentityProvider, identity: VerifiedIdentity) -> Match:
        """The key is (tenant, provider, issuer, sub); an email alone never identifies anyone."""
        policy = TenantAuthPolicy.of(tenant)
        link = self._links.find(tenant.id, provider.id, identity.issuer, identity.subject)
        if link is not None:
            practitioner = self._practitioners.get(tenant.id, link.practitioner_id)
            if practitioner is not None:
                if not practitioner.active:
                    raise AccountDeactivated()
                if not link.needs_reconfirmation:
                    return Linked(practitioner, link)
            return ConfirmByCode()
        if policy.email_linking_allowed and identity.email_verified:
            owner = self._registered(tenant, identity.email)
            if owner is not None:
                if not owner.active:
                    raise AccountDeactivated()
                return LinkByVerifiedEmail(owner)
        if policy.jit_registration_allowed:
            profile = ClaimMapper(tenant.auth.claim_mappings).profile_from(identity.claims)
            missing = ClaimMapper.missing_for_registration(profile)
            if missing:
                names = ", ".join(f.label for f in missing)
                raise SsoRefused(
                    f"your identity provider did not send your {names}, which a new account needs; "
                    "ask your practice's administrator to create your account"
                )
            if self._registered(tenant, profile[ProfileField.EMAIL]) is None:
                return RegisterNew(profile)
        return ConfirmByCode()

    def _registered(self, tenant: Tenant, email: str | None) -> Practitioner | None:
        try:
            return self._practitioners.get_by_email(tenant.id, normalize_email(email or ""))
        except InvalidValue:
            return None
