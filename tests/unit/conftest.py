from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from domain.account import AccountSettings
from domain.link_confirmation import LinkConfirmation
from domain.login_policy import LoginPolicyAdministration
from domain.provisioning import Provisioning, ProvisioningTokens
from domain.registration import SelfRegistration
from domain.login import PasswordLogin
from domain.matching import UserMatcher
from domain.model import Practitioner, Tenant
from domain.password_reset import PasswordReset
from domain.practitioners import PractitionerDirectory
from domain.provider_admin import ProviderAdministration
from domain.single_sign_on import SingleSignOn
from domain.sso import IdentityProvider, ProviderSettings, VerifiedIdentity
from domain.tenants import TenantOnboarding
from tests import fakes


@dataclass
class World:
    """The domain wired to fakes, as the web app wires it to adapters."""

    tenants: fakes.FakeTenantRepository = field(default_factory=fakes.FakeTenantRepository)
    practitioners: fakes.FakePractitionerRepository = field(
        default_factory=fakes.FakePractitionerRepository
    )
    reset_tokens: fakes.FakePasswordResetTokenRepository = field(
        default_factory=fakes.FakePasswordResetTokenRepository
    )
    throttle: fakes.FakeThrottle = field(default_factory=fakes.FakeThrottle)
    sessions: fakes.FakeSessionRevocation = field(default_factory=fakes.FakeSessionRevocation)
    hasher: fakes.FakePasswordHasher = field(default_factory=fakes.FakePasswordHasher)
    mailer: fakes.FakeMailer = field(default_factory=fakes.FakeMailer)
    clock: fakes.FakeClock = field(default_factory=fakes.FakeClock)
    token_source: fakes.FakeTokenSource = field(default_factory=fakes.FakeTokenSource)
    links: fakes.FakeIdentityLinkRepository = field(default_factory=fakes.FakeIdentityLinkRepository)
    providers: fakes.FakeIdentityProviderRepository = field(init=False)
    challenges: fakes.FakeLinkChallengeRepository = field(default_factory=fakes.FakeLinkChallengeRepository)
    audit: fakes.FakeAuditLog = field(default_factory=fakes.FakeAuditLog)
    secret_box: fakes.FakeSecretBox = field(default_factory=fakes.FakeSecretBox)
    url_safety: fakes.FakeUrlSafety = field(default_factory=fakes.FakeUrlSafety)
    idp: fakes.FakeIdentityProviderClient = field(default_factory=fakes.FakeIdentityProviderClient)
    scim_tokens: fakes.FakeScimTokenRepository = field(default_factory=fakes.FakeScimTokenRepository)

    def __post_init__(self) -> None:
        self.providers = fakes.FakeIdentityProviderRepository(self.links)

    @property
    def login(self) -> PasswordLogin:
        return PasswordLogin(self.practitioners, self.throttle, self.hasher, self.clock)

    @property
    def password_reset(self) -> PasswordReset:
        return PasswordReset(
            self.practitioners,
            self.reset_tokens,
            self.throttle,
            self.hasher,
            self.mailer,
            fakes.FakeLinks(),
            self.token_source,
            self.sessions,
            self.clock,
        )

    @property
    def directory(self) -> PractitionerDirectory:
        return PractitionerDirectory(
            self.practitioners, self.hasher, self.password_reset, self.sessions, self.clock
        )

    @property
    def onboarding(self) -> TenantOnboarding:
        return TenantOnboarding(
            self.tenants, self.practitioners, self.hasher, self.token_source, self.clock
        )

    @property
    def matcher(self) -> UserMatcher:
        return UserMatcher(self.links, self.practitioners)

    @property
    def link_confirmation(self) -> LinkConfirmation:
        return LinkConfirmation(
            self.practitioners, self.providers, self.links, self.challenges, self.throttle,
            self.mailer, self.token_source, self.audit, self.clock,
        )

    @property
    def sso(self) -> SingleSignOn:
        return SingleSignOn(
            self.providers, self.practitioners, self.links, self.matcher, self.link_confirmation,
            self.idp, self.secret_box, self.token_source, self.sessions, self.audit, self.clock,
        )

    @property
    def provider_admin(self) -> ProviderAdministration:
        return ProviderAdministration(
            self.providers, self.links, self.secret_box, self.url_safety, self.idp, self.sessions, self.audit,
            self.clock, allow_local_http=False,
        )

    @property
    def login_policy(self) -> LoginPolicyAdministration:
        return LoginPolicyAdministration(self.providers, self.sessions, self.audit, self.clock)

    @property
    def account(self) -> AccountSettings:
        return AccountSettings(self.links, self.providers, self.audit, self.clock)

    @property
    def self_registration(self) -> SelfRegistration:
        return SelfRegistration(self.practitioners, self.password_reset, self.clock)

    @property
    def provisioning_tokens(self) -> ProvisioningTokens:
        return ProvisioningTokens(self.scim_tokens, self.practitioners, self.token_source, self.audit, self.clock)

    @property
    def provisioning(self) -> Provisioning:
        return Provisioning(self.practitioners, self.providers, self.links, self.sessions, self.audit, self.clock)

    def connect_provider(self, tenant: Tenant, name: str = "Contoso", issuer: str = "https://login.contoso.test") -> IdentityProvider:
        owner = self.onboarding.owner_of(tenant)
        return self.provider_admin.save(owner, tenant, None, provider_settings(name, issuer), "s3cret", False)

    def signed_in_as(self, subject: str, issuer: str = "https://login.contoso.test", **claims: object) -> None:
        """What the provider will say about the next login."""
        self.idp.identity = VerifiedIdentity(issuer, subject, {"sub": subject, **claims})

    def open_tenant(self, slug: str = "acme") -> tuple[Tenant, Practitioner]:
        opened = self.onboarding.open_tenant(
            slug, f"{slug.title()} Practice", f"owner@{slug}.test", "owner-password-1"
        )
        return opened.tenant, opened.owner

    def practitioner(
        self, tenant: Tenant, email: str = "ann@acme.test", password: str = "correct horse battery"
    ) -> Practitioner:
        owner = self.onboarding.owner_of(tenant)
        return self.directory.add(owner, tenant, email, "Ann", "Smith", password=password)


@pytest.fixture
def world() -> World:
    return World()


def provider_settings(name: str = "Contoso", issuer: str = "https://login.contoso.test", **changes: object) -> ProviderSettings:
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
