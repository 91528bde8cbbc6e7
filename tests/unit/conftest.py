from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from domain.login import PasswordLogin
from domain.model import Practitioner, Tenant
from domain.password_reset import PasswordReset
from domain.practitioners import PractitionerDirectory
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
    failures: fakes.FakeFailureLog = field(default_factory=fakes.FakeFailureLog)
    sessions: fakes.FakeSessionRevocation = field(default_factory=fakes.FakeSessionRevocation)
    hasher: fakes.FakePasswordHasher = field(default_factory=fakes.FakePasswordHasher)
    mailer: fakes.FakeMailer = field(default_factory=fakes.FakeMailer)
    clock: fakes.FakeClock = field(default_factory=fakes.FakeClock)
    token_source: fakes.FakeTokenSource = field(default_factory=fakes.FakeTokenSource)

    @property
    def login(self) -> PasswordLogin:
        return PasswordLogin(self.practitioners, self.failures, self.hasher, self.clock)

    @property
    def password_reset(self) -> PasswordReset:
        return PasswordReset(
            self.practitioners,
            self.reset_tokens,
            self.failures,
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
