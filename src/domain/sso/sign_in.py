"""SingleSignOn: the authorization-code flow, from the button to a logged-in practitioner."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping

from domain.audit import AuditKind, AuditTrail
from domain.errors import N_, DomainError, SsoRefused, UnknownProvider, known
from domain.ports import Clock, IdentityProviderClient, IdentityProviderRepository, SecretBox, TokenSource
from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.sso.admission import Admission
from domain.sso.outcome import Outcome, VerifiedSignIn
from domain.sso.pending import NOT_STARTED, PendingLogin, pkce_challenge
from domain.sso.provider import IdentityProvider
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant


@dataclass(frozen=True)
class SingleSignOn:
    """Starts a login at the provider, and turns its callback into a verified sign-in that
    ``Admission`` decides about."""

    _providers: IdentityProviderRepository
    _client: IdentityProviderClient
    _secret_box: SecretBox
    _token_source: TokenSource
    _admission: Admission
    _audit: AuditTrail
    _clock: Clock

    def enabled_providers(self, tenant: Tenant) -> list[IdentityProvider]:
        return [p for p in self._providers.list(tenant.id) if p.settings.enabled]

    def begin(
        self,
        tenant: Tenant,
        provider_id: str,
        next_path: str,
        redirect_uri: str,
        linking_practitioner: Practitioner | None = None,
        typed_email: str | None = None,
        language: str | None = None,
    ) -> tuple[PendingLogin, str]:
        """Fresh state, nonce and PKCE verifier for one login, and where to send the browser.

        ``typed_email``: what the practitioner typed as their email, passed on as a login hint
        when the provider is set to get one and it is an email address. ``language``: the
        language of the page the button was on, which the provider's pages are asked to speak
        (``ui_locales``)."""
        if linking_practitioner is not None:
            TenantAuthPolicy.of(tenant).require_linked_accounts_shown()
        provider = self._enabled_provider(tenant, provider_id)
        linking = linking_practitioner.id if linking_practitioner else None
        login_hint = provider.settings.login_hint(typed_email)
        return self._authorize(
            tenant, provider, redirect_uri, next_path, login_hint, language, linking_practitioner_id=linking
        )

    def initiate(
        self,
        tenant: Tenant,
        issuer: str,
        next_path: str,
        redirect_uri: str,
        typed_email: str | None = None,
        language: str | None = None,
    ) -> tuple[PendingLogin, str]:
        """A login the provider started (OpenID Connect Core 4, from its app launcher): the same
        fresh authorization request as the button, at the enabled provider with that issuer, in
        the language the portal would speak to this browser (``ui_locales``)."""
        chosen = (p for p in self.enabled_providers(tenant) if p.settings.protocol == "oidc" and p.settings.issuer)
        provider = known(next((p for p in chosen if p.settings.issuer == issuer), None), UnknownProvider)
        login_hint = provider.settings.login_hint(typed_email)
        return self._authorize(tenant, provider, redirect_uri, next_path, login_hint, language)

    def begin_test(
        self, tenant: Tenant, admin: Practitioner, provider_id: str, redirect_uri: str, language: str | None = None
    ) -> tuple[PendingLogin, str]:
        """An admin's test sign-in: a real authorization request to the provider, enabled or not,
        to the same redirect URI as every login (so the test proves the one registered there),
        asking the provider to speak the admin's page's language (``ui_locales``)."""
        Authority.of(admin, tenant).require_may_administer_authentication(
            N_("only an administrator of the Authentication module can test a provider")
        )
        provider = known(self._providers.get(tenant.id, provider_id), UnknownProvider)
        return self._authorize(
            tenant, provider, redirect_uri, "/admin/authentication", None, language, tested_by=admin.id
        )

    def _authorize(
        self,
        tenant: Tenant,
        provider: IdentityProvider,
        redirect_uri: str,
        next_path: str,
        login_hint: str | None,
        language: str | None = None,
        **purpose: str | None,
    ) -> tuple[PendingLogin, str]:
        """Fresh state, nonce and PKCE verifier, kept as the pending login, and the provider's URL.
        ``purpose``: whom a link is for (linking_practitioner_id) or who tests (tested_by)."""
        pending = PendingLogin(
            tenant_id=tenant.id,
            provider_id=provider.id,
            state=self._token_source.new_token(),
            nonce=self._token_source.new_token(),
            code_verifier=self._token_source.new_token(48),
            next_path=next_path,
            started_at=self._clock.now(),
            **purpose,
        )
        challenge = pkce_challenge(pending.code_verifier)
        url = self._client.authorization_url(
            provider, redirect_uri, pending.state, pending.nonce, challenge, login_hint=login_hint, ui_locales=language
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
            return self._admission.admit(self._verify(tenant, pending, callback, redirect_uri))
        except DomainError as refused:
            self._audit.record(
                tenant, AuditKind.SSO_LOGIN_FAILED, N_("Single Sign On refused: %(reason)s", reason=str(refused))
            )
            raise

    def _verify(
        self, tenant: Tenant, pending: PendingLogin | None, callback: Mapping[str, str], redirect_uri: str
    ) -> VerifiedSignIn:
        """The pending login accepts the callback, the provider's answer gives the code, and
        the code is redeemed once: the provider is read once for all of it."""
        if pending is None or pending.is_test:  # a test signs nobody in, whatever reaches here
            raise SsoRefused(NOT_STARTED)
        answer = pending.accept(callback, tenant.id, self._clock.now())
        provider = self._enabled_provider(tenant, pending.provider_id)
        code = answer.code_for(provider)
        secret = self._secret_box.open(provider.sealed_client_secret)
        identity = self._client.redeem(provider, pending.redemption(code, secret, redirect_uri))
        return VerifiedSignIn(tenant, provider, pending, identity)

    def _enabled_provider(self, tenant: Tenant, provider_id: str) -> IdentityProvider:
        provider = self._providers.get(tenant.id, provider_id)
        if provider is None or not provider.settings.enabled:
            raise UnknownProvider()
        return provider
