"""LinkConfirmation: a one-time password to the registered email before an identity is linked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.audit import AuditKind, AuditTrail
from domain.errors import (
    N_,
    AccountDeactivated,
    CodeRequestsThrottled,
    LinkCodeRefused,
    SsoRefused,
    UnknownProvider,
)
from domain.identifiers import digest
from domain.ports import (
    Clock,
    IdentityLinkRepository,
    IdentityProviderRepository,
    LinkChallengeRepository,
    PractitionerRepository,
    TokenSource,
)
from domain.practitioners.email import normalize_email
from domain.practitioners.mail import Post
from domain.practitioners.practitioner import Practitioner
from domain.sso.challenge import CODE_DIGITS, CODE_LIFETIME, LinkChallenge
from domain.sso.linking import link_identity
from domain.sso.messages import link_code_letter
from domain.sso.mirror import ProfileMirror
from domain.sso.pending import EXPIRED, PendingLink
from domain.sso.provider import IdentityProvider
from domain.sso.roles import RoleSync
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant
from domain.throttle import Throttle, ThrottleRule, client_network, take_all


# A lost mail deserves a resend; an inbox does not deserve a flood. Codes are limited per
# sign-in, per (identity, email) and per client address, never per practitioner alone: other
# identities asking for codes to someone's email must not use up that person's own codes.
CODES_PER_SIGN_IN = ThrottleRule(max_uses=3, window=timedelta(minutes=10))

CODES_PER_IDENTITY_AND_EMAIL = ThrottleRule(max_uses=5, window=timedelta(hours=1))

# Larger: a practice's staff often share one address, and may all link on the same morning.
CODES_PER_ADDRESS = ThrottleRule(max_uses=50, window=timedelta(minutes=15))


@dataclass(frozen=True)
class LinkConfirmation:
    _practitioners: PractitionerRepository
    _providers: IdentityProviderRepository
    _links: IdentityLinkRepository
    _challenges: LinkChallengeRepository
    _throttle: Throttle
    _post: Post
    _token_source: TokenSource
    _mirror: ProfileMirror
    _roles: RoleSync
    _audit: AuditTrail
    _clock: Clock

    def request_code(self, tenant: Tenant, pending: PendingLink, email: str, client_address: str) -> None:
        """Mails a code if ``email`` is registered here. The answer is the same either way, and
        so is the counting: a limit reached says so, whether or not the email is registered."""
        self._require_current(tenant, pending)
        email = normalize_email(email)
        self._take(
            tenant,
            email,
            {
                f"code-sign-in:{tenant.id}:{digest(pending.binding)}": CODES_PER_SIGN_IN,
                _identity_bucket(tenant, pending, email): CODES_PER_IDENTITY_AND_EMAIL,
                f"code-address:{client_network(client_address)}": CODES_PER_ADDRESS,
            },
        )
        # Asked first, whoever the email is: the answer must not tell which emails are registered.
        provider = self._enabled_provider(tenant, pending.provider_id)
        practitioner = self._practitioners.get_by_email(tenant.id, email)
        if practitioner is None or not practitioner.active:
            summary = N_("code requested for unregistered or inactive %(email)s: none sent", email=email)
            self._audit.record(tenant, AuditKind.LINK_REQUESTED, summary)
            return
        self._issue(tenant, pending, practitioner, provider)

    def send_code(
        self, tenant: Tenant, pending: PendingLink, practitioner: Practitioner, provider: IdentityProvider
    ) -> None:
        """Mails a code to the practitioner's registered email, bound to this browser (linking
        from account settings: the practitioner is known, the email is not asked for; the
        provider is the one the sign-in just came back from)."""
        email = practitioner.email
        self._take(tenant, email, {_identity_bucket(tenant, pending, email): CODES_PER_IDENTITY_AND_EMAIL})
        self._issue(tenant, pending, practitioner, provider)

    def _take(self, tenant: Tenant, email: str, rules: dict[str, ThrottleRule]) -> None:
        refused = take_all(self._throttle, rules, self._clock.now())
        if refused is not None:
            summary = N_("code requested for %(email)s: refused, too many requests", email=email)
            self._audit.record(tenant, AuditKind.LINK_REQUESTED, summary)
            raise CodeRequestsThrottled(refused.minutes)

    def _issue(
        self, tenant: Tenant, pending: PendingLink, practitioner: Practitioner, provider: IdentityProvider
    ) -> None:
        now = self._clock.now()
        binding = digest(pending.binding)
        code = self._token_source.new_digits(CODE_DIGITS)
        self._challenges.discard_open(tenant.id, binding)
        self._challenges.add(
            LinkChallenge.issue(
                tenant.id,
                practitioner.id,
                provider.id,
                pending.issuer,
                pending.subject,
                binding,
                code,
                self._token_source.new_token(16),
                now,
            )
        )
        minutes = int(CODE_LIFETIME.total_seconds() // 60)
        self._post.send(tenant, practitioner, link_code_letter(tenant, code, provider.display_name, minutes))
        self._audit.record(
            tenant,
            AuditKind.LINK_REQUESTED,
            N_("code sent to %(email)s to link %(provider)s", email=practitioner.email, provider=provider.display_name),
            practitioner.id,
        )

    def confirm(self, tenant: Tenant, pending: PendingLink, code: str) -> Practitioner:
        """Links the identity to the practitioner the code was sent to, and returns them.

        In pseudo-SSO this is their first sign-in: the profile is mirrored as at every later one."""
        challenge = self._verified_challenge(tenant, pending, code)
        # A provider switched off since its callback signs nobody in, as its callback would not.
        provider = self._enabled_provider(tenant, challenge.provider_id)
        practitioner = self._practitioners.get(tenant.id, challenge.practitioner_id)
        if practitioner is None or not practitioner.active:
            raise AccountDeactivated()
        try:
            link_identity(
                self._links, practitioner, challenge.provider_id, challenge.issuer, challenge.subject, self._clock.now()
            )
        except SsoRefused:
            self._audit.record(
                tenant, AuditKind.LINK_FAILED, N_("identity already linked to another practitioner"), practitioner.id
            )
            raise
        practitioner.prove_email()  # the code went to the registered email
        if pending.locale is not None:
            practitioner.provide_language(pending.locale)
        summary = N_("%(email)s linked (sub %(subject)s)", email=practitioner.email, subject=challenge.subject)
        self._audit.record(tenant, AuditKind.LINK_CONFIRMED, summary, practitioner.id)
        # The policy may have changed since the callback: it is asked now, and a link that carries
        # no profile (the workflow was standard then) is mirrored at the next sign-in instead.
        if pending.profile is not None and TenantAuthPolicy.of(tenant).is_pseudo_sso:
            self._mirror.mirror(tenant, practitioner, pending.profile)
        if pending.roles is not None:
            self._roles.sync(tenant, practitioner, pending.roles, provider.display_name)
        return practitioner

    def _enabled_provider(self, tenant: Tenant, provider_id: str) -> IdentityProvider:
        provider = self._providers.get(tenant.id, provider_id)
        if provider is None or not provider.settings.enabled:
            raise UnknownProvider()
        return provider

    def _verified_challenge(self, tenant: Tenant, pending: PendingLink, code: str) -> LinkChallenge:
        """The challenge of this sign-in, once ``code`` passes it; a wrong try is counted and audited."""
        self._require_current(tenant, pending)
        challenge = self._challenges.open_for(tenant.id, digest(pending.binding))
        if challenge is None:
            raise LinkCodeRefused(N_("no code was sent for this sign-in yet, or it was replaced; ask for a code"))
        try:
            challenge.verify(code, self._clock.now())
        except LinkCodeRefused as refused:
            summary = N_("wrong or unusable code: %(refusal)s", refusal=str(refused))
            self._audit.record(tenant, AuditKind.LINK_FAILED, summary, challenge.practitioner_id)
            raise
        return challenge

    def _require_current(self, tenant: Tenant, pending: PendingLink) -> None:
        if pending.tenant_id != tenant.id or pending.is_expired(self._clock.now()):
            raise SsoRefused(EXPIRED)


def _identity_bucket(tenant: Tenant, pending: PendingLink, email: str) -> str:
    # Digested: an issuer and a subject are long, and the bucket is a key of fixed size.
    identity = "\n".join((pending.provider_id, pending.issuer, pending.subject, email))
    return f"code-identity:{tenant.id}:{digest(identity)}"
