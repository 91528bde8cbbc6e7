"""TenantOnboarding: the operator opens a practice with its owner."""

from __future__ import annotations

from dataclasses import dataclass

from domain.audit import AuditKind, AuditTrail
from domain.errors import N_, TenantAlreadyExists, UnknownTenant, known
from domain.passwords.new_password import validate_new_password
from domain.ports import Clock, PasswordHasher, PractitionerRepository, TenantRepository, TokenSource
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.tenant import Tenant


# The owner can change these in their account; the CLI asks only for what it must.
DEFAULT_OWNER_FIRST_NAME = "Account"

DEFAULT_OWNER_LAST_NAME = "Owner"


@dataclass(frozen=True)
class OpenedTenant:
    tenant: Tenant
    owner: Practitioner
    generated_password: str | None


@dataclass(frozen=True)
class TenantOnboarding:
    _tenants: TenantRepository
    _practitioners: PractitionerRepository
    _hasher: PasswordHasher
    _token_source: TokenSource
    _clock: Clock
    _audit: AuditTrail

    def open_tenant(self, slug: str, name: str, owner_email: str, owner_password: str | None = None) -> OpenedTenant:
        tenant = Tenant.open(slug, name)
        owner = Practitioner.register(
            tenant,
            owner_email,
            DEFAULT_OWNER_FIRST_NAME,
            DEFAULT_OWNER_LAST_NAME,
            self._clock.now(),
            is_owner=True,
        )
        generated = None
        if owner_password is None:
            generated = owner_password = self._token_source.new_token(12)
        owner.set_password(self._hasher.hash(validate_new_password(owner_password)))
        if self._tenants.get_by_slug(tenant.slug) is not None:
            raise TenantAlreadyExists(tenant.slug)
        self._tenants.add(tenant)
        self._practitioners.add(owner)
        summary = N_("%(email)s added as the account owner when the practice was opened", email=owner.email)
        self._audit.record(tenant, AuditKind.PRACTITIONER_ADDED, summary, subject_id=owner.id)
        return OpenedTenant(tenant, owner, generated)

    def tenant(self, slug: str) -> Tenant | None:
        return self._tenants.get_by_slug(slug)

    def tenants(self) -> list[Tenant]:
        return self._tenants.list()

    def owner_of(self, tenant: Tenant) -> Practitioner:
        """Who the operator acts as inside an instance."""
        return known(self._practitioners.get_owner(tenant.id), lambda: UnknownTenant(tenant.slug))
