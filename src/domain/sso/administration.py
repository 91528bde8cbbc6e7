"""ProviderAdministration: the Authentication module, where tenant admins connect their provider."""

from __future__ import annotations

from dataclasses import replace

from domain.audit import AuditKind, AuditTrail
from domain.errors import N_, InvalidForm, Message, Nn_, ProviderUnavailable, UnknownProvider, UnsafeUrl, known
from domain.text import in_a_row
from domain.ports import (
    IdentityLinkRepository,
    IdentityProviderClient,
    IdentityProviderRepository,
    SecretBox,
    SessionRevocation,
    TenantRepository,
    UrlSafety,
)
from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.sso.provider import REQUIRED, DiscoveredConfiguration, IdentityProvider, ProviderSettings, url_problem
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant


class ProviderAdministration:
    def __init__(
        self,
        tenants: TenantRepository,
        providers: IdentityProviderRepository,
        links: IdentityLinkRepository,
        secret_box: SecretBox,
        url_safety: UrlSafety,
        client: IdentityProviderClient,
        sessions: SessionRevocation,
        audit: AuditTrail,
        allow_local_http: bool,
    ) -> None:
        self._tenants = tenants
        self._sessions = sessions
        self._providers = providers
        self._links = links
        self._secret_box = secret_box
        self._url_safety = url_safety
        self._client = client
        self._audit = audit
        self._allow_local_http = allow_local_http

    def providers(self, tenant: Tenant) -> list[IdentityProvider]:
        return self._providers.list(tenant.id)

    def provider(self, tenant: Tenant, provider_id: str) -> IdentityProvider:
        return known(self._providers.get(tenant.id, provider_id), UnknownProvider)

    def discover(self, issuer: str) -> DiscoveredConfiguration:
        """Reads ``<issuer>/.well-known/openid-configuration`` for the admin to review."""
        issuer = issuer.strip()
        problem = url_problem(issuer, self._allow_local_http)
        if problem:
            raise InvalidForm({"issuer": problem})
        configuration = self._client.discover(issuer)
        if configuration.issuer != issuer:
            raise ProviderUnavailable(
                N_("the document's issuer is %(found)s, not %(issuer)s", found=configuration.issuer, issuer=issuer)
            )
        return configuration

    def save(
        self,
        actor: Practitioner,
        tenant: Tenant,
        provider_id: str | None,
        settings: ProviderSettings,
        client_secret: str,
        restrict_to_sso: bool,
        acknowledge_relink: bool = False,
        discovered: DiscoveredConfiguration | None = None,
    ) -> IdentityProvider:
        """Validates everything, then writes: a form with any error changes nothing.

        ``discovered``: what the admin's last discovery found, the one source of whether the
        provider sends back-channel logouts (no form field says so)."""
        self._begin_change(actor, tenant)
        existing = self.provider(tenant, provider_id) if provider_id else None
        supported = _backchannel_support(settings.issuer, existing, discovered)
        settings = replace(settings, backchannel_logout_supported=supported).normalized()
        errors = self._problems(tenant, existing, settings, client_secret, restrict_to_sso)
        trust_changes = existing.trust_changes(settings) if existing is not None else []
        if trust_changes and not acknowledge_relink:
            errors["acknowledge_relink"] = N_(
                "changing the %(settings)s means every linked practitioner confirms their "
                "link again with a mailed code at their next sign-in; tick the box to go ahead",
                settings=_listed(trust_changes),
            )
        if errors:
            raise InvalidForm(errors)

        provider, changed = self._add_or_apply(tenant, existing, settings, bool(trust_changes))
        if client_secret:
            provider.sealed_client_secret = self._secret_box.seal(client_secret)
            changed.append(N_("client secret replaced"))
        if tenant.auth.restrict_to_sso != restrict_to_sso:
            tenant.auth = tenant.auth.but(restrict_to_sso=restrict_to_sso)
            TenantAuthPolicy.of(tenant).end_closed_sessions(tenant.id, self._sessions)
            changed.append(N_("restrict to SSO on") if restrict_to_sso else N_("restrict to SSO off"))
        self._audit.record(tenant, AuditKind.SETTINGS_CHANGED, _saved(provider.display_name, changed), actor.id)
        return provider

    def _add_or_apply(
        self, tenant: Tenant, existing: IdentityProvider | None, settings: ProviderSettings, trust_changed: bool
    ) -> tuple[IdentityProvider, list[str]]:
        if existing is None:
            provider = IdentityProvider(tenant.id, settings, sealed_client_secret="")
            self._providers.add(provider)
            return provider, [N_("provider added")]
        changed = existing.apply(settings)
        if trust_changed:
            # Another issuer or client is another party: sessions opened through the old one no
            # longer follow the provider (its ID token would go to the new one's logout), and
            # every link is confirmed again.
            self._sessions.stop_following(tenant.id, existing.id)
            waiting = self._links.require_reconfirmation(tenant.id, existing.id)
            changed.append(
                Nn_(
                    "%(count)s linked account must confirm again",
                    "%(count)s linked accounts must confirm again",
                    waiting,
                )
            )
        return existing, changed

    def _problems(
        self,
        tenant: Tenant,
        existing: IdentityProvider | None,
        settings: ProviderSettings,
        client_secret: str,
        restrict_to_sso: bool,
    ) -> dict[str, str]:
        errors = settings.problems(self._allow_local_http)
        for name in settings.url_fields:
            if name not in errors:
                try:
                    self._url_safety.check(getattr(settings, name))
                except UnsafeUrl as unsafe:
                    errors[name] = unsafe.reason
        if existing is None and not client_secret:
            errors["client_secret"] = REQUIRED
        elif len(client_secret) > 1000:
            errors["client_secret"] = N_("the client secret has at most %(limit)s characters", limit=1000)
        enabled = settings.enabled + sum(
            1 for p in self._providers.list(tenant.id) if p.settings.enabled and p is not existing
        )
        if not TenantAuthPolicy(tenant.auth.but(restrict_to_sso=restrict_to_sso)).leaves_a_way_in(enabled):
            if restrict_to_sso:
                errors["restrict_to_sso"] = N_("restricting login to Single Sign On needs an enabled provider")
            else:
                errors["enabled"] = N_("in pseudo-SSO nobody could log in without an enabled provider")
        return errors

    def set_enabled(self, actor: Practitioner, tenant: Tenant, provider_id: str, enabled: bool) -> IdentityProvider:
        self._begin_change(actor, tenant)
        provider = self.provider(tenant, provider_id)
        if not enabled:
            self._refuse_losing_the_last_way_in(
                tenant,
                provider,
                N_(
                    "%(provider)s is the only way to log in here and cannot be switched off; "
                    "allow password login or enable another provider first",
                    provider=provider.display_name,
                ),
            )
        if provider.settings.enabled != enabled:
            if enabled:
                provider.enable()
            else:
                provider.disable()
            self._audit.record(
                tenant,
                AuditKind.SETTINGS_CHANGED,
                N_("%(provider)s: enabled", provider=provider.display_name)
                if enabled
                else N_("%(provider)s: disabled", provider=provider.display_name),
                actor.id,
            )
        return provider

    def remove(self, actor: Practitioner, tenant: Tenant, provider_id: str) -> IdentityProvider:
        """Removes the provider and with it every link to it."""
        self._begin_change(actor, tenant)
        provider = self.provider(tenant, provider_id)
        self._refuse_losing_the_last_way_in(
            tenant,
            provider,
            N_(
                "%(provider)s is the only way to log in here and cannot be removed; "
                "allow password login or enable another provider first",
                provider=provider.display_name,
            ),
        )
        self._providers.remove(provider)
        self._audit.record(
            tenant,
            AuditKind.SETTINGS_CHANGED,
            N_("%(provider)s: removed, with its linked accounts", provider=provider.display_name),
            actor.id,
        )
        return provider

    def _begin_change(self, actor: Practitioner, tenant: Tenant) -> None:
        """Who may change a practice's providers, and its ways in changed one at a time (the
        tenant's lock: see ``_refuse_losing_the_last_way_in``)."""
        Authority.of(actor, tenant).require_may_administer_authentication()
        self._tenants.lock(tenant)

    def _refuse_losing_the_last_way_in(self, tenant: Tenant, provider: IdentityProvider, refusal: Message) -> None:
        # Decided under the tenant's lock, taken first by every change of the ways in (this one, the
        # login policy's): two admins at once, one switching to pseudo-SSO and one switching off the
        # only provider, would each see the other's change not yet made and lock everybody out.
        remaining = sum(1 for p in self._providers.list(tenant.id) if p.settings.enabled and p is not provider)
        if provider.settings.enabled and not TenantAuthPolicy.of(tenant).leaves_a_way_in(remaining):
            raise InvalidForm({"form": refusal})


def _backchannel_support(
    issuer: str, existing: IdentityProvider | None, discovered: DiscoveredConfiguration | None
) -> bool:
    """What discovery said of this issuer: just now, or when the provider was saved with it."""
    if discovered is not None and discovered.issuer == issuer:
        return discovered.backchannel_logout_supported
    return (
        existing is not None and existing.settings.issuer == issuer and existing.settings.backchannel_logout_supported
    )


def _saved(provider: str, changed: list[str]) -> str:
    """The audit summary of a save: each change a whole item, in a row."""
    if not changed:
        return N_("%(provider)s: saved without changes", provider=provider)
    return N_("%(provider)s: %(changes)s", provider=provider, changes=in_a_row(changed))


def _listed(names: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``: the form's labels in a sentence."""
    return names[0] if len(names) == 1 else N_("%(names)s or %(last)s", names=in_a_row(names[:-1]), last=names[-1])
