"""After the code is redeemed: who this is decides what happens, one small piece per kind of match."""

from __future__ import annotations

from dataclasses import dataclass, replace

from domain.audit import AuditKind, AuditTrail
from domain.errors import AccountDeactivated, N_, SsoRefused
from domain.ports import Clock, IdentityLinkRepository, PractitionerRepository, SessionRevocation, TokenSource
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.profile import ProfileField
from domain.sso.confirmation import LinkConfirmation
from domain.sso.identity import IdentityLink
from domain.sso.linking import TAKEN, add_link
from domain.sso.matching import ConfirmByCode, LinkByVerifiedEmail, Linked, RegisterNew, UserMatcher
from domain.sso.mirror import ProfileMirror, ProviderProfile
from domain.sso.outcome import AlreadyLinked, ConfirmLink, LoggedIn, Outcome, VerifiedSignIn
from domain.sso.roles import RoleSync, role_values
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant


@dataclass(frozen=True)
class SsoLogin:
    """What every Single Sign On login ends with: the profile mirrored in pseudo-SSO, the rights
    from the provider's roles where the policy applies them, the provider's ``locale`` kept (in
    every workflow: it is not profile data), and the audit."""

    _mirror: ProfileMirror
    _roles: RoleSync
    _audit: AuditTrail

    def log_in(self, sign_in: VerifiedSignIn, practitioner: Practitioner) -> LoggedIn:
        tenant = sign_in.tenant
        if TenantAuthPolicy.of(tenant).is_pseudo_sso:
            self._mirror.mirror(tenant, practitioner, ProviderProfile.of(tenant, sign_in.identity))
        roles = role_values(tenant, sign_in.identity.claims)
        self._roles.sync(tenant, practitioner, roles, sign_in.provider.display_name)
        if sign_in.identity.locale is not None:  # a provider that says nothing leaves SCIM's word
            practitioner.provide_language(sign_in.identity.locale)
        summary = N_(
            "%(email)s signed in with %(provider)s", email=practitioner.email, provider=sign_in.provider.display_name
        )
        self._audit.record(tenant, AuditKind.SSO_LOGIN_SUCCEEDED, summary, practitioner.id)
        return LoggedIn(practitioner, sign_in.pending.next_path, sign_in.provider_session())


@dataclass(frozen=True)
class LinkedLogin:
    """1. A linked identity logs its practitioner in; the link notes when it was last used."""

    _login: SsoLogin
    _clock: Clock

    def handle(self, sign_in: VerifiedSignIn, match: Linked) -> Outcome:
        match.link.last_used_at = self._clock.now()
        return self._login.log_in(sign_in, match.practitioner)


@dataclass(frozen=True)
class EmailLinking:
    """2. The provider vouches for a registered email: the identity is linked to its owner."""

    _links: IdentityLinkRepository
    _sessions: SessionRevocation
    _login: SsoLogin
    _audit: AuditTrail
    _clock: Clock

    def handle(self, sign_in: VerifiedSignIn, match: LinkByVerifiedEmail) -> Outcome:
        practitioner, identity, provider = match.practitioner, sign_in.identity, sign_in.provider
        held = self._take_over(sign_in.tenant, practitioner)
        add_link(self._links, practitioner, held, provider.id, identity.issuer, identity.subject, self._clock.now())
        summary = N_(
            "%(email)s linked by the verified email from %(provider)s",
            email=practitioner.email,
            provider=provider.display_name,
        )
        self._audit.record(sign_in.tenant, AuditKind.LINK_CONFIRMED, summary, practitioner.id)
        return self._login.log_in(sign_in, practitioner)

    def _take_over(self, tenant: Tenant, practitioner: Practitioner) -> list[IdentityLink]:
        """Pre-hijacking defence: whoever set up an unproven account loses what they set up:
        its password, its sessions and the provider identities linked to it so far.

        Returns the links the practitioner keeps (read once: linking replaces among them)."""
        held = self._links.of_practitioner(tenant.id, practitioner.id)
        if practitioner.take_over():
            self._sessions.end_sessions_of(tenant.id, practitioner.id)
            for link in held:
                self._links.remove(link)
            held = []
        return held


@dataclass(frozen=True)
class JitRegistration:
    """3. Nobody matches and the policy registers newcomers: an account from the token's data."""

    _practitioners: PractitionerRepository
    _links: IdentityLinkRepository
    _login: SsoLogin
    _audit: AuditTrail
    _clock: Clock

    def handle(self, sign_in: VerifiedSignIn, match: RegisterNew) -> Outcome:
        profile, identity, now = match.profile, sign_in.identity, self._clock.now()
        practitioner = Practitioner.register(
            sign_in.tenant,
            profile[ProfileField.EMAIL] or "",
            profile[ProfileField.FIRST_NAME] or "",
            profile[ProfileField.LAST_NAME] or "",
            now,
            # Proven only when the provider vouches for this very address, as the mirror demands.
            email_proven=identity.vouches_for(profile[ProfileField.EMAIL]),
        )
        practitioner.update_profile({f: v for f, v in profile.items() if v is not None})
        self._practitioners.add(practitioner)  # no password: it signs in through its provider
        # A practitioner this new holds no links to replace.
        add_link(self._links, practitioner, (), sign_in.provider.id, identity.issuer, identity.subject, now)
        summary = N_(
            "%(email)s registered at first sign-in with %(provider)s",
            email=practitioner.email,
            provider=sign_in.provider.display_name,
        )
        self._audit.record(sign_in.tenant, AuditKind.REGISTERED, summary, practitioner.id)
        return self._login.log_in(sign_in, practitioner)


@dataclass(frozen=True)
class ConfirmationStep:
    """4. Only a one-time password to a registered email can tell who this is: the browser
    keeps the identity and the link page asks for the email.

    In pseudo-SSO the code's sign-in mirrors the profile as every later one does, so the
    browser keeps what the provider said too: the claims are gone once this callback ends."""

    _token_source: TokenSource
    _clock: Clock

    def handle(self, sign_in: VerifiedSignIn) -> Outcome:
        link = sign_in.pending_link(self._token_source.new_token(), self._clock.now())
        tenant, policy = sign_in.tenant, TenantAuthPolicy.of(sign_in.tenant)
        if policy.is_pseudo_sso:
            link = replace(link, profile=ProviderProfile.of(tenant, sign_in.identity))
        if policy.roles_applied:
            mapped = {mapping.value for mapping in tenant.auth.role_mappings}
            roles = tuple(dict.fromkeys(v for v in role_values(tenant, sign_in.identity.claims) if v in mapped))
            link = replace(link, roles=roles)
        return ConfirmLink(link, code_sent=False)


@dataclass(frozen=True)
class AccountLinking:
    """A logged-in practitioner links a provider from account settings: no matching, the code
    goes straight to their registered email."""

    _practitioners: PractitionerRepository
    _links: IdentityLinkRepository
    _link_confirmation: LinkConfirmation
    _token_source: TokenSource
    _clock: Clock

    def handle(self, sign_in: VerifiedSignIn, practitioner_id: str) -> Outcome:
        tenant, identity = sign_in.tenant, sign_in.identity
        TenantAuthPolicy.of(tenant).require_linked_accounts_shown()  # it may have changed during the round trip
        practitioner = self._practitioners.get(tenant.id, practitioner_id)
        if practitioner is None or not practitioner.active:
            raise AccountDeactivated()
        existing = self._links.find(tenant.id, sign_in.provider.id, identity.issuer, identity.subject)
        if existing is not None:
            if existing.practitioner_id != practitioner.id:
                raise SsoRefused(TAKEN)
            if not existing.needs_reconfirmation:
                return AlreadyLinked(practitioner)
        link = sign_in.pending_link(self._token_source.new_token(), self._clock.now(), practitioner.id)
        self._link_confirmation.send_code(tenant, link, practitioner, sign_in.provider)
        return ConfirmLink(link, code_sent=True)


@dataclass(frozen=True)
class Admission:
    """Hands a verified sign-in to the piece for its case: linking from account settings, or
    what the matcher found."""

    _matcher: UserMatcher
    _linked: LinkedLogin
    _email_linking: EmailLinking
    _registration: JitRegistration
    _confirmation: ConfirmationStep
    _account_linking: AccountLinking

    def admit(self, sign_in: VerifiedSignIn) -> Outcome:
        if sign_in.pending.linking_practitioner_id is not None:
            return self._account_linking.handle(sign_in, sign_in.pending.linking_practitioner_id)
        found = self._matcher.match(sign_in.tenant, sign_in.provider, sign_in.identity)
        match found:
            case Linked():
                return self._linked.handle(sign_in, found)
            case LinkByVerifiedEmail():
                return self._email_linking.handle(sign_in, found)
            case RegisterNew():
                return self._registration.handle(sign_in, found)
            case ConfirmByCode():
                return self._confirmation.handle(sign_in)
