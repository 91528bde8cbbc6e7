"""PasswordLogin: email and password, throttled, with no account enumeration; and the logout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.audit import AuditKind, AuditTrail, loggable
from domain.errors import N_, AccountDeactivated, InvalidValue, LoginFailed, LoginThrottled, NotAllowed
from domain.ports import Clock, PasswordHasher, PractitionerRepository
from domain.practitioners.email import normalize_email
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant
from domain.throttle import Throttle, ThrottleRule, client_network, take_all


SSO_ONLY = N_("this practice signs in with Single Sign On only")

# Per practitioner account: small, the attack is guessing one password.
FAILED_LOGINS_PER_ACCOUNT = ThrottleRule(max_uses=10, window=timedelta(minutes=15))

# Per client address: larger, a practice's staff often share one address behind NAT.
FAILED_LOGINS_PER_ADDRESS = ThrottleRule(max_uses=50, window=timedelta(minutes=15))


def account_bucket(tenant: Tenant, email: str) -> str:
    return f"login:{tenant.id}:{email}"


def address_bucket(client_address: str) -> str:
    return f"login-address:{client_network(client_address)}"


@dataclass(frozen=True)
class PasswordLogin:
    _practitioners: PractitionerRepository
    _throttle: Throttle
    _hasher: PasswordHasher
    _audit: AuditTrail
    _clock: Clock

    def log_in(self, tenant: Tenant, email: str, password: str, client_address: str) -> Practitioner:
        if not TenantAuthPolicy.of(tenant).password_login_allowed:
            raise NotAllowed(SSO_ONLY)
        try:
            email, registrable = normalize_email(email), True
        except InvalidValue:
            # An address the email rule refuses names no account: nothing to look up, but the
            # same answer, time and throttling, so the form tells nothing about accounts.
            email, registrable = (email or "").strip(), False
        account, address = account_bucket(tenant, email), address_bucket(client_address)
        # The attempt counts as a failure before the password is checked, so of any number of
        # concurrent guesses at most the limit get an answer. A right password gives it back.
        refused = take_all(
            self._throttle, {account: FAILED_LOGINS_PER_ACCOUNT, address: FAILED_LOGINS_PER_ADDRESS}, self._clock.now()
        )
        if refused is not None:
            # Not audited: the throttle bounds how many failures the log receives, not how many refusals.
            raise LoginThrottled(refused.minutes)

        practitioner = self._practitioners.get_by_email(tenant.id, email) if registrable else None
        if practitioner is None or practitioner.password_hash is None:
            self._hasher.spend_verify_time(password)
            raise self._failed(tenant, email, practitioner)
        if not self._hasher.verify(practitioner.password_hash, password):
            raise self._failed(tenant, email, practitioner)
        self._throttle.clear(account)
        self._throttle.give_back(address)
        # Only someone who knows the password learns that the account is deactivated.
        if not practitioner.active:
            self._audit_failure(tenant, email, practitioner, deactivated=True)
            raise AccountDeactivated()
        if self._hasher.needs_rehash(practitioner.password_hash):
            practitioner.set_password(self._hasher.hash(password))
        summary = N_("%(email)s logged in with a password", email=practitioner.email)
        self._audit.record(
            tenant, AuditKind.PASSWORD_LOGIN_SUCCEEDED, summary, practitioner.id, subject_id=practitioner.id
        )
        return practitioner

    def _failed(self, tenant: Tenant, email: str, practitioner: Practitioner | None) -> LoginFailed:
        self._audit_failure(tenant, email, practitioner)
        return LoginFailed()

    def _audit_failure(
        self, tenant: Tenant, email: str, practitioner: Practitioner | None, *, deactivated: bool = False
    ) -> None:
        """Never the password. The summary is the same whether or not the email names an account,
        and nothing is created for one that does not; the event is about the account if there is one."""
        typed = loggable(email, 254)
        if not typed:
            summary = N_("password login failed for an empty email")
        elif deactivated:
            summary = N_("password login failed for %(email)s: the account is deactivated", email=typed)
        else:
            summary = N_("password login failed for %(email)s", email=typed)
        about = practitioner.id if practitioner is not None else None
        self._audit.record(tenant, AuditKind.PASSWORD_LOGIN_FAILED, summary, subject_id=about)
