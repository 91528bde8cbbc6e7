"""SingleSignOn: the authorization-code flow, from the button to a logged-in practitioner."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from domain.errors import (
    AccountDeactivated,
    DomainError,
    NotAllowed,
    SsoRefused,
    UnknownProvider,
)
from domain.link_confirmation import EXPIRED, LinkConfirmation
from domain.claims import ClaimMapper
from domain.linking import TAKEN, link_identity
from domain.matching import ConfirmByCode, Linked, LinkByVerifiedEmail, RegisterNew, UserMatcher
from domain.model import Practitioner, Tenant
from domain.policy import TenantAuthPolicy
from domain.provisioning import ScimQuery
from domain.ports import (
    AuditLog,
    Clock,
    IdentityLinkRepository,
    IdentityProviderClient,
    IdentityProviderRepository,
    PractitionerRepository,
    SecretBox,
    SessionRevocation,
    TokenSource,
)
from domain.values import ProfileField
from domain.sso import (
    AuditEvent,
    AuditKind,
    IdentityProvider,
    PendingLink,
    PendingLogin,
    VerifiedIdentity,
    pkce_challenge,
)


@dataclass(frozen=True)
class LoggedIn:
    practitioner: Practitioner
    next_path: str


@dataclass(frozen=True)
class ConfirmLink:
    """The identity is verified but linked to nobody: the one-time password step follows."""

    pending: PendingLink
    code_sent: bool  # already mailed (linking from account settings) or the email is asked first


@dataclass(frozen=True)
class AlreadyLinked:
    practitioner: Practitioner


Outcome = LoggedIn | ConfirmLink | AlreadyLinked


class SingleSignOn:
    def __init__(
        self,
        providers: IdentityProviderRepository,
        practitioners: PractitionerRepository,
        links: IdentityLinkRepository,
        matcher: UserMatcher,
        link_confirmation: LinkConfirmation,
        client: IdentityProviderClient,
        secret_box: SecretBox,
        token_source: TokenSource,
        sessions: SessionRevocation,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._providers = providers
        self._practitioners = practitioners
        self._links = links
        self._matcher = matcher
        self._link_confirmation = link_confirmation
        self._client = client
        self._secret_box = secret_box
        self._token_source = token_source
        self._audit = audit
        self._clock = clock

    def enabled_providers(self, tenant: Tenant) -> list[IdentityProvider]:
        return [p for p in self._providers.list(tenant.id) if p.enabled]

    def begin(
        self,
        tenant: Tenant,
        provider_id: str,
        next_path: str,
        redirect_uri: str,
        linking_practitioner: Practitioner | None = None,
    ) -> tuple[PendingLogin, str]:
        """Fresh state, nonce and PKCE verifier for one login, and where to send the browser."""
        if linking_practitioner is not None:
            self._require_linking_allowed(tenant)
        provider = self._enabled_provider(tenant, provider_id)
        pending = PendingLogin(
            tenant_id=tenant.id,
            provider_id=provider.id,
            state=self._token_source.new_token(),
            nonce=self._token_source.new_token(),
            code_verifier=self._token_source.new_token(48),
            next_path=next_path,
            started_at=self._clock.now(),
            linking_practitioner_id=linking_practitioner.id if linking_practitioner else None,
        )
        url = self._client.authorization_url(
            provider, redirect_uri, pending.state, pending.nonce, pkce_challenge(pending.code_verifier)
        )
        return pending, url

    def complete(
        self,
        tenant: Tenant,
        pending: PendingLogin | None,
        callback: Mapping[str, str],
        redirect_uri: str,
    ) -> Outcome:
        """Checks the callback, redeems the code, matches the identity. Every refusal is audited."""
        try:
            return self._complete(tenant, pending, callback, redirect_uri)
        except DomainError as refused:
            self._record(tenant, AuditKind.SSO_LOGIN_FAILED, f"Single Sign On refused: {refused}")
            raise

    def _complete(
        self, tenant: Tenant, pending: PendingLogin | None, callback: Mapping[str, str], redirect_uri: str
    ) -> Outcome:
        state = callback.get("state", "")
        if (
            pending is None
            or pending.tenant_id != tenant.id
            or not hmac.compare_digest(pending.state.encode(), state.encode())
        ):
            raise SsoRefused("this sign-in was not started in this browser, or was already used; start again")
        if pending.is_expired(self._clock.now()):
            raise SsoRefused(EXPIRED)
        provider = self._enabled_provider(tenant, pending.provider_id)
        if callback.get("error"):
            detail = callback.get("error_description") or callback["error"]
            raise SsoRefused(f"{provider.display_name} did not sign you in: {detail[:200]}")
        # RFC 9207: a provider that names itself must be the one this login went to. A plain
        # OAuth 2.0 provider has no issuer configured to compare with.
        if provider.protocol == "oidc" and "iss" in callback and callback["iss"] != provider.issuer:
            raise SsoRefused("the answer came from another identity provider than the one this sign-in went to")
        if not callback.get("code"):
            raise SsoRefused(f"{provider.display_name} sent no authorization code; start again")
        identity = self._client.redeem(
            provider,
            self._secret_box.open(provider.sealed_client_secret),
            callback["code"],
            pending.code_verifier,
            redirect_uri,
            pending.nonce,
        )
        if pending.linking_practitioner_id is not None:
            return self._link_from_account(tenant, provider, pending, identity)
        match = self._matcher.match(tenant, provider, identity)
        if isinstance(match, ConfirmByCode):
            pending_link = self._pending_link(tenant, provider, pending, identity.issuer, identity.subject)
            return ConfirmLink(pending_link, code_sent=False)
        now = self._clock.now()
        if isinstance(match, Linked):
            practitioner = match.practitioner
            match.link.last_used_at = now
        elif isinstance(match, LinkByVerifiedEmail):
            practitioner = match.practitioner
            self._take_over_by_verified_email(tenant, practitioner)
            link_identity(self._links, practitioner, provider.id, identity.issuer, identity.subject, now)
            self._record(tenant, AuditKind.LINK_CONFIRMED, f"{practitioner.email} linked by the verified email from {provider.display_name}", practitioner.id)
        else:
            practitioner = self._register(tenant, match, identity)
            link_identity(self._links, practitioner, provider.id, identity.issuer, identity.subject, now)
            self._record(tenant, AuditKind.REGISTERED, f"{practitioner.email} registered at first sign-in with {provider.display_name}", practitioner.id)
        if TenantAuthPolicy.of(tenant).is_pseudo_sso:
            self._mirror_profile(tenant, practitioner, identity)
        self._record(
            tenant,
            AuditKind.SSO_LOGIN_SUCCEEDED,
            f"{practitioner.email} signed in with {provider.display_name}",
            practitioner.id,
        )
        return LoggedIn(practitioner, pending.next_path)

    def _take_over_by_verified_email(self, tenant: Tenant, practitioner: Practitioner) -> None:
        """Pre-hijacking defence: whoever set up an unproven account loses what they set up:
        its password, its sessions and the provider identities linked to it so far."""
        if not practitioner.email_proven:
            practitioner.password_hash = None
            self._sessions.end_sessions_of(tenant.id, practitioner.id)
            for link in self._links.of_practitioner(tenant.id, practitioner.id):
                self._links.remove(link)
        practitioner.email_proven = True

    def _register(self, tenant: Tenant, match: RegisterNew, identity: VerifiedIdentity) -> Practitioner:
        profile = match.profile
        practitioner = Practitioner.register(
            tenant,
            profile[ProfileField.EMAIL] or "",
            profile[ProfileField.FIRST_NAME] or "",
            profile[ProfileField.LAST_NAME] or "",
            self._clock.now(),
        )
        practitioner.update_profile({f: v for f, v in profile.items() if v is not None})
        practitioner.email_proven = identity.email_verified
        self._practitioners.add(practitioner)  # no password: it signs in through its provider
        return practitioner

    def _mirror_profile(self, tenant: Tenant, practitioner: Practitioner, identity: VerifiedIdentity) -> None:
        """Pseudo-SSO: the provider is the source of truth for every mapped field."""
        profile = ClaimMapper(tenant.auth.claim_mappings).profile_from(identity.claims)
        changed = practitioner.update_profile({f: v for f, v in profile.items() if v is not None})
        email = profile.get(ProfileField.EMAIL)
        if email and email != practitioner.email:
            if not self._email_taken(tenant, practitioner, email):
                practitioner.email = email
                practitioner.email_proven = identity.email_verified
                changed.append(ProfileField.EMAIL)
            else:
                self._record(tenant, AuditKind.PROFILE_MIRRORED, f"{practitioner.email}: email {email} from the provider is taken; kept", practitioner.id)
        if changed:
            names = ", ".join(f.label for f in changed)
            self._record(tenant, AuditKind.PROFILE_MIRRORED, f"{practitioner.email}: {names} overwritten from the provider", practitioner.id)

    def _email_taken(self, tenant: Tenant, practitioner: Practitioner, email: str) -> bool:
        """Another practitioner has the email, or holds it as their SCIM userName (which the
        email is too, for a practitioner who has no userName of their own)."""
        if self._practitioners.get_by_email(tenant.id, email) is not None:
            return True
        if practitioner.user_name is not None:
            return False
        holders = self._practitioners.scim_search(tenant.id, ScimQuery(user_name=email), 0, 2)[0]
        return any(holder.id != practitioner.id for holder in holders)

    def _link_from_account(
        self, tenant: Tenant, provider: IdentityProvider, pending: PendingLogin, identity: VerifiedIdentity
    ) -> Outcome:
        self._require_linking_allowed(tenant)  # the policy may have changed during the round trip
        practitioner = self._practitioners.get(tenant.id, pending.linking_practitioner_id or "")
        if practitioner is None or not practitioner.active:
            raise AccountDeactivated()
        existing = self._links.find(tenant.id, provider.id, identity.issuer, identity.subject)
        if existing is not None:
            if existing.practitioner_id != practitioner.id:
                raise SsoRefused(TAKEN)
            if not existing.needs_reconfirmation:
                return AlreadyLinked(practitioner)
        link = self._pending_link(tenant, provider, pending, identity.issuer, identity.subject, practitioner.id)
        self._link_confirmation.send_code(tenant, link, practitioner)
        return ConfirmLink(link, code_sent=True)

    def _pending_link(
        self,
        tenant: Tenant,
        provider: IdentityProvider,
        pending: PendingLogin,
        issuer: str,
        subject: str,
        practitioner_id: str | None = None,
    ) -> PendingLink:
        return PendingLink(
            tenant_id=tenant.id,
            provider_id=provider.id,
            issuer=issuer,
            subject=subject,
            binding=self._token_source.new_token(),
            next_path=pending.next_path,
            started_at=self._clock.now(),
            practitioner_id=practitioner_id,
        )

    @staticmethod
    def _require_linking_allowed(tenant: Tenant) -> None:
        if not TenantAuthPolicy.of(tenant).linked_accounts_shown:
            raise NotAllowed("linked accounts are managed by this practice's identity provider")

    def _enabled_provider(self, tenant: Tenant, provider_id: str) -> IdentityProvider:
        provider = self._providers.get(tenant.id, provider_id)
        if provider is None or not provider.enabled:
            raise UnknownProvider()
        return provider

    def _record(self, tenant: Tenant, kind: str, summary: str, actor_id: str | None = None) -> None:
        self._audit.record(AuditEvent(tenant.id, kind, self._clock.now(), summary, actor_id))
