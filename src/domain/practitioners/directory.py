"""PractitionerDirectory: manual provisioning by a practice's admins."""

from __future__ import annotations

from dataclasses import dataclass

from domain.audit import AuditKind, AuditTrail
from domain.errors import N_, EmailAlreadyRegistered, InvalidValue, UnknownPractitioner, known
from domain.passwords.new_password import validate_new_password
from domain.passwords.reset import PasswordReset
from domain.ports import Clock, Page, PasswordHasher, PractitionerRepository, SessionRevocation
from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.rights import ModuleRight, rights_named
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant


PAGE_SIZE = 25


@dataclass(frozen=True)
class PractitionerDirectory:
    _practitioners: PractitionerRepository
    _hasher: PasswordHasher
    _password_reset: PasswordReset
    _sessions: SessionRevocation
    _audit: AuditTrail
    _clock: Clock

    def search(self, tenant: Tenant, query: str, page: int) -> Page:
        page = max(page, 1)
        return self._practitioners.search(tenant.id, (query or "").strip(), (page - 1) * PAGE_SIZE, PAGE_SIZE)

    def add(
        self,
        actor: Practitioner,
        tenant: Tenant,
        email: str,
        first_name: str,
        last_name: str,
        *,
        password: str = "",
        send_password_link: bool = False,
        rights: frozenset[ModuleRight] = frozenset(),
    ) -> Practitioner:
        """Validates everything before writing anything: an error leaves no trace."""
        authority = Authority.of(actor, tenant)
        authority.require_may_provision()
        if rights:
            authority.require_may_grant_rights()
        practitioner = Practitioner.register(tenant, email, first_name, last_name, self._clock.now(), rights=rights)
        wants_password = bool(password) or send_password_link
        if wants_password and not TenantAuthPolicy.of(tenant).password_login_allowed:
            raise InvalidValue(
                "password", N_("this practice signs in with Single Sign On only: no local password can be set")
            )
        if password:
            practitioner.set_password(self._hasher.hash(validate_new_password(password)))
        if self._practitioners.get_by_email(tenant.id, practitioner.email) is not None:
            raise EmailAlreadyRegistered(practitioner.email)
        self._practitioners.add(practitioner)
        if send_password_link and not password:
            self._password_reset.send_set_password_link(tenant, practitioner)
        self._record(
            tenant, actor, AuditKind.PRACTITIONER_ADDED, N_("%(email)s added", email=practitioner.email), practitioner
        )
        self._record_rights(tenant, actor, practitioner, frozenset())
        return practitioner

    def deactivate(self, actor: Practitioner, tenant: Tenant, practitioner_id: str) -> Practitioner:
        practitioner = self._get(tenant, practitioner_id)
        Authority.of(actor, tenant).require_may_end(practitioner)
        practitioner.deactivate()
        self._sessions.end_sessions_of(tenant.id, practitioner.id)
        summary = N_("%(email)s deactivated and logged out", email=practitioner.email)
        self._record(tenant, actor, AuditKind.PRACTITIONER_DEACTIVATED, summary, practitioner)
        return practitioner

    def reactivate(self, actor: Practitioner, tenant: Tenant, practitioner_id: str) -> Practitioner:
        practitioner = self._get(tenant, practitioner_id)
        Authority.of(actor, tenant).require_may_manage(practitioner)
        practitioner.reactivate()
        summary = N_("%(email)s reactivated", email=practitioner.email)
        self._record(tenant, actor, AuditKind.PRACTITIONER_REACTIVATED, summary, practitioner)
        return practitioner

    def set_rights(
        self, actor: Practitioner, tenant: Tenant, practitioner_id: str, rights: frozenset[ModuleRight]
    ) -> Practitioner:
        Authority.of(actor, tenant).require_may_grant_rights()
        practitioner = self._get(tenant, practitioner_id)
        held = practitioner.rights
        practitioner.hold_rights(rights)
        self._record_rights(tenant, actor, practitioner, held)
        return practitioner

    def _record_rights(
        self, tenant: Tenant, actor: Practitioner, practitioner: Practitioner, held: frozenset[ModuleRight]
    ) -> None:
        """One event for the rights granted and one for those revoked, each only if there are any."""
        granted, revoked = practitioner.rights - held, held - practitioner.rights
        if granted:
            summary = N_("%(email)s: %(rights)s granted", email=practitioner.email, rights=rights_named(granted))
            self._record(tenant, actor, AuditKind.RIGHTS_GRANTED, summary, practitioner)
        if revoked:
            summary = N_("%(email)s: %(rights)s revoked", email=practitioner.email, rights=rights_named(revoked))
            self._record(tenant, actor, AuditKind.RIGHTS_REVOKED, summary, practitioner)

    def _record(self, tenant: Tenant, actor: Practitioner, kind: str, summary: str, about: Practitioner) -> None:
        self._audit.record(tenant, kind, summary, actor.id, subject_id=about.id)

    def _get(self, tenant: Tenant, practitioner_id: str) -> Practitioner:
        return known(self._practitioners.get(tenant.id, practitioner_id), UnknownPractitioner)
