"""UserMatcher: who a verified identity from a provider is, and what happens next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.errors import N_, AccountDeactivated, InvalidValue, SsoRefused
from domain.text import in_a_row
from domain.ports import IdentityLinkRepository, PractitionerRepository
from domain.practitioners.email import normalize_email
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.profile import ProfileField
from domain.sso.claims import ClaimMapper
from domain.sso.identity import IdentityLink, VerifiedIdentity
from domain.sso.provider import IdentityProvider
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant


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


@dataclass(frozen=True)
class UserMatcher:
    _links: IdentityLinkRepository
    _practitioners: PractitionerRepository

    def match(self, tenant: Tenant, provider: IdentityProvider, identity: VerifiedIdentity) -> Match:
        """The key is (tenant, provider, issuer, sub); an email alone never identifies anyone."""
        link = self._links.find(tenant.id, provider.id, identity.issuer, identity.subject)
        if link is not None:
            return self._linked(tenant, link)
        policy = TenantAuthPolicy.of(tenant)
        owner_of = self._owners(tenant)
        if policy.email_linking_allowed and identity.email_verified:
            owner = owner_of(identity.email)
            if owner is not None:
                if not owner.active:
                    raise AccountDeactivated()
                return LinkByVerifiedEmail(owner)
        if policy.jit_registration_allowed:
            profile = ClaimMapper(tenant.auth.claim_mappings).profile_from(identity.claims)
            _require_registration_data(profile)
            if owner_of(profile[ProfileField.EMAIL]) is None:
                return RegisterNew(profile)
        return ConfirmByCode()

    def _linked(self, tenant: Tenant, link: IdentityLink) -> Match:
        """A link logs in its active practitioner, unless it waits for re-confirmation."""
        practitioner = self._practitioners.get(tenant.id, link.practitioner_id)
        if practitioner is None:
            return ConfirmByCode()
        if not practitioner.active:
            raise AccountDeactivated()
        return ConfirmByCode() if link.needs_reconfirmation else Linked(practitioner, link)

    def _owners(self, tenant: Tenant) -> Callable[[str | None], Practitioner | None]:
        """Who registered an email here: each email is read once per match (the token's email
        and the one mapped for registration are usually the same)."""
        found: dict[str, Practitioner | None] = {}

        def owner_of(email: str | None) -> Practitioner | None:
            try:
                key = normalize_email(email or "")
            except InvalidValue:
                return None
            if key not in found:
                found[key] = self._practitioners.get_by_email(tenant.id, key)
            return found[key]

        return owner_of


def _require_registration_data(profile: dict[ProfileField, str | None]) -> None:
    missing = ClaimMapper.missing_for_registration(profile)
    if missing:
        names = in_a_row([f.label for f in missing])
        raise SsoRefused(
            N_(
                "your identity provider did not send your %(names)s, which a new account needs; "
                "ask your practice's administrator to create your account",
                names=names,
            )
        )
