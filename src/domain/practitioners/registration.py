"""SelfRegistration: a practitioner creates their own account, proven by a mailed link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.audit import RequestOrigin
from domain.errors import N_, DomainError, EmailAlreadyRegistered, NotAllowed
from domain.passwords.reset import PasswordReset
from domain.ports import Clock, PractitionerRepository
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.login_policy import NO_REGISTRATIONS
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant
from domain.throttle import Throttle, ThrottleRule, client_network

# Per client address: each registration makes an account and mails a stranger's address, so one
# client cannot fill a practice with accounts or use it to send mail; an office behind NAT still
# registers its staff.
REGISTRATIONS_PER_ADDRESS = ThrottleRule(max_uses=20, window=timedelta(hours=1))


class RegistrationsThrottled(DomainError):
    """Too many registrations from one client address: nothing was made and nothing was mailed."""

    def __init__(self) -> None:
        super().__init__(
            N_(
                "Too many accounts were registered from your network in the last hour, so nothing was saved. "
                "Please try again later."
            )
        )


def registration_bucket(client_address: str | None) -> str:
    return f"register-address:{client_network(client_address)}"  # every practice's: the mail all leaves one portal


@dataclass(frozen=True)
class SelfRegistration:
    _practitioners: PractitionerRepository
    _password_reset: PasswordReset
    _throttle: Throttle
    _origin: RequestOrigin
    _clock: Clock

    def register(self, tenant: Tenant, email: str, first_name: str, last_name: str) -> None:
        """Same answer whether or not the email is taken: its owner gets the mail either way.

        A new account has no password until its owner uses the mailed link, so nobody can
        register an address they do not control and then use the account.
        """
        if not TenantAuthPolicy.of(tenant).self_registration_allowed:
            raise NotAllowed(NO_REGISTRATIONS)
        now = self._clock.now()
        candidate = Practitioner.register(tenant, email, first_name, last_name, now)
        # Counted once the form is valid, before the email is looked up: alike for every address.
        if not self._throttle.take(registration_bucket(self._origin.client_address), REGISTRATIONS_PER_ADDRESS, now):
            raise RegistrationsThrottled()
        existing = self._practitioners.get_by_email(tenant.id, candidate.email)
        if existing is None:
            try:
                self._practitioners.add(candidate)
            except EmailAlreadyRegistered:
                # Registered meanwhile by a concurrent request, or another practitioner's SCIM
                # userName: the same answer, and a mail only where the address is an account's email.
                existing = self._practitioners.get_by_email(tenant.id, candidate.email)
            else:
                self._password_reset.send_set_password_link(tenant, candidate)
                return
        if existing is not None:
            self._password_reset.request_link(tenant, existing.email)
