"""SelfRegistration: a practitioner creates their own account, proven by a mailed link."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import NotAllowed
from domain.passwords.reset import PasswordReset
from domain.ports import Clock, PractitionerRepository
from domain.practitioners.email import normalize_email
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.login_policy import NO_REGISTRATIONS
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant


@dataclass(frozen=True)
class SelfRegistration:
    _practitioners: PractitionerRepository
    _password_reset: PasswordReset
    _clock: Clock

    def register(self, tenant: Tenant, email: str, first_name: str, last_name: str) -> None:
        """Same answer whether or not the email is taken: its owner gets the mail either way.

        A new account has no password until its owner uses the mailed link, so nobody can
        register an address they do not control and then use the account.
        """
        if not TenantAuthPolicy.of(tenant).self_registration_allowed:
            raise NotAllowed(NO_REGISTRATIONS)
        candidate = Practitioner.register(tenant, email, first_name, last_name, self._clock.now())
        existing = self._practitioners.get_by_email(tenant.id, normalize_email(email))
        if existing is not None:
            self._password_reset.request_link(tenant, existing.email)
            return
        self._practitioners.add(candidate)
        self._password_reset.send_set_password_link(tenant, candidate)
