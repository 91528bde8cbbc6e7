from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import pytest

from domain import ports
from domain.audit import AuditLog, AuditTrail
from domain.passwords.login import PasswordLogin
from domain.passwords.reset import PasswordReset
from domain.practitioners.account import AccountSettings
from domain.practitioners.directory import PractitionerDirectory
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.registration import SelfRegistration
from domain.provisioning.tokens import ProvisioningTokens
from domain.provisioning.users import Provisioning
from domain.sso.administration import ProviderAdministration
from domain.sso.confirmation import LinkConfirmation
from domain.sso.identity import VerifiedIdentity
from domain.sso.matching import UserMatcher
from domain.sso.provider import IdentityProvider, ProviderSettings
from domain.sso.sign_in import SingleSignOn
from domain.tenancy.login_policy import LoginPolicyAdministration
from domain.tenancy.onboarding import TenantOnboarding
from domain.tenancy.tenant import Tenant
from domain.throttle import Throttle
from entrypoints import builder
from tests import fakes

T = TypeVar("T")

# The plain values the web app passes by name (entrypoints/web/features); here, production's.
OPTIONS: dict[type[Any], dict[str, object]] = {ProviderAdministration: {"allow_local_http": False}}


@dataclass
class World:
    """The domain wired to fakes, with the builder the web app wires it to adapters with."""

    tenants: fakes.FakeTenantRepository = field(default_factory=fakes.FakeTenantRepository)
    practitioners: fakes.FakePractitionerRepository = field(default_factory=fakes.FakePractitionerRepository)
    reset_tokens: fakes.FakePasswordResetTokenRepository = field(default_factory=fakes.FakePasswordResetTokenRepository)
    throttle: fakes.FakeThrottle = field(default_factory=fakes.FakeThrottle)
    sessions: fakes.FakeSessionRevocation = field(default_factory=fakes.FakeSessionRevocation)
    hasher: fakes.FakePasswordHasher = field(default_factory=fakes.FakePasswordHasher)
    mailer: fakes.FakeMailer = field(default_factory=fakes.FakeMailer)
    translator: fakes.FakeTranslator = field(default_factory=fakes.FakeTranslator)
    clock: fakes.FakeClock = field(default_factory=fakes.FakeClock)
    token_source: fakes.FakeTokenSource = field(default_factory=fakes.FakeTokenSource)
    links: fakes.FakeIdentityLinkRepository = field(default_factory=fakes.FakeIdentityLinkRepository)
    providers: fakes.FakeIdentityProviderRepository = field(init=False)
    challenges: fakes.FakeLinkChallengeRepository = field(default_factory=fakes.FakeLinkChallengeRepository)
    audit: fakes.FakeAuditLog = field(default_factory=fakes.FakeAuditLog)
    secret_box: fakes.FakeSecretBox = field(default_factory=fakes.FakeSecretBox)
    url_safety: fakes.FakeUrlSafety = field(default_factory=fakes.FakeUrlSafety)
    idp: fakes.FakeIdentityProviderClient = field(default_factory=fakes.FakeIdentityProviderClient)
    logout_replays: fakes.FakeLogoutTokenReplays = field(default_factory=fakes.FakeLogoutTokenReplays)
    scim_tokens: fakes.FakeScimTokenRepository = field(default_factory=fakes.FakeScimTokenRepository)
    page_links: fakes.FakeLinks = field(default_factory=fakes.FakeLinks)
    recovery_links: fakes.FakeRecoveryLinks = field(default_factory=fakes.FakeRecoveryLinks)
    scim_groups: fakes.FakeScimGroupRepository = field(default_factory=fakes.FakeScimGroupRepository)

    def __post_init__(self) -> None:
        self.providers = fakes.FakeIdentityProviderRepository(self.links)

    def fake_ports(self) -> dict[type[Any], object]:
        """The fake behind each port, where the web app's wiring.py puts an adapter.

        Read on every lookup, so a test that swaps a fake (world.hasher = ...) is heard.
        """
        return {
            ports.TenantRepository: self.tenants,
            ports.PractitionerRepository: self.practitioners,
            ports.PasswordResetTokenRepository: self.reset_tokens,
            Throttle: self.throttle,
            ports.SessionRevocation: self.sessions,
            ports.PasswordHasher: self.hasher,
            ports.Mailer: self.mailer,
            ports.Translator: self.translator,
            ports.Clock: self.clock,
            ports.TokenSource: self.token_source,
            ports.Links: self.page_links,
            ports.RecoveryLinks: self.recovery_links,
            ports.ScimGroupRepository: self.scim_groups,
            ports.IdentityLinkRepository: self.links,
            ports.IdentityProviderRepository: self.providers,
            ports.LinkChallengeRepository: self.challenges,
            AuditLog: self.audit,
            ports.SecretBox: self.secret_box,
            ports.UrlSafety: self.url_safety,
            ports.IdentityProviderClient: self.idp,
            ports.LogoutTokenReplays: self.logout_replays,
            ports.ScimTokenRepository: self.scim_tokens,
        }

    def build(self, cls: type[T]) -> T:
        """A domain service built from its constructor, as the web app builds it per request."""
        return builder.build(cls, self._find, **OPTIONS.get(cls, {}))

    def _find(self, need: type[Any]) -> object:
        # A port is a fake; anything else is a domain service, built fresh like the one asked for.
        fakes_by_port = self.fake_ports()
        return fakes_by_port[need] if need in fakes_by_port else self.build(need)

    @property
    def audit_trail(self) -> AuditTrail:
        return self.build(AuditTrail)

    @property
    def login(self) -> PasswordLogin:
        return self.build(PasswordLogin)

    @property
    def password_reset(self) -> PasswordReset:
        return self.build(PasswordReset)

    @property
    def directory(self) -> PractitionerDirectory:
        return self.build(PractitionerDirectory)

    @property
    def onboarding(self) -> TenantOnboarding:
        return self.build(TenantOnboarding)

    @property
    def matcher(self) -> UserMatcher:
        return self.build(UserMatcher)

    @property
    def link_confirmation(self) -> LinkConfirmation:
        return self.build(LinkConfirmation)

    @property
    def sso(self) -> SingleSignOn:
        return self.build(SingleSignOn)

    @property
    def provider_admin(self) -> ProviderAdministration:
        return self.build(ProviderAdministration)

    @property
    def login_policy(self) -> LoginPolicyAdministration:
        return self.build(LoginPolicyAdministration)

    @property
    def account(self) -> AccountSettings:
        return self.build(AccountSettings)

    @property
    def self_registration(self) -> SelfRegistration:
        return self.build(SelfRegistration)

    @property
    def provisioning_tokens(self) -> ProvisioningTokens:
        return self.build(ProvisioningTokens)

    @property
    def provisioning(self) -> Provisioning:
        return self.build(Provisioning)

    def connect_provider(
        self, tenant: Tenant, name: str = "Contoso", issuer: str = "https://login.contoso.test"
    ) -> IdentityProvider:
        owner = self.onboarding.owner_of(tenant)
        return self.provider_admin.save(owner, tenant, None, provider_settings(name, issuer), "s3cret", False)

    def signed_in_as(self, subject: str, issuer: str = "https://login.contoso.test", **claims: object) -> None:
        """What the provider will say about the next login."""
        self.idp.identity = VerifiedIdentity(issuer, subject, {"sub": subject, **claims})

    def open_tenant(self, slug: str = "acme") -> tuple[Tenant, Practitioner]:
        opened = self.onboarding.open_tenant(slug, f"{slug.title()} Practice", f"owner@{slug}.test", "owner-password-1")
        return opened.tenant, opened.owner

    def practitioner(
        self, tenant: Tenant, email: str = "ann@acme.test", password: str = "correct horse battery"
    ) -> Practitioner:
        owner = self.onboarding.owner_of(tenant)
        return self.directory.add(owner, tenant, email, "Ann", "Smith", password=password)


@pytest.fixture
def world() -> World:
    return World()


def provider_settings(
    name: str = "Contoso", issuer: str = "https://login.contoso.test", **changes: object
) -> ProviderSettings:
    settings = ProviderSettings(
        display_name=name,
        client_id="portal-client",
        issuer=issuer,
        authorization_endpoint=f"{issuer}/authorize",
        token_endpoint=f"{issuer}/token",
        jwks_uri=f"{issuer}/jwks",
        userinfo_endpoint=f"{issuer}/userinfo",
    )
    return replace(settings, **changes)  # type: ignore[arg-type]
