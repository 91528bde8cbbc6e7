"""PasswordLogin: email and password, throttled, with no account enumeration."""

from __future__ import annotations

from datetime import timedelta

from domain.errors import AccountDeactivated, InvalidValue, LoginFailed, LoginThrottled, NotAllowed
from domain.ports import Clock, PasswordHasher, PractitionerRepository
from domain.practitioners.email import normalize_email
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant
from domain.throttle import Throttle, ThrottleRule, take_all


SSO_ONLY = "this practice signs in with Single Sign On only"

# Per practitioner account: small, the attack is guessing one password.
FAILED_LOGINS_PER_ACCOUNT = ThrottleRule(max_uses=10, window=timedelta(minutes=15))

# Per client address: larger, a practice's staff often share one address behind NAT.
FAILED_LOGINS_PER_ADDRESS = ThrottleRule(max_uses=50, window=timedelta(minutes=15))


def account_bucket(tenant: Tenant, email: str) -> str:
    return f"login:{tenant.id}:{email}"


def address_bucket(client_address: str) -> str:
    return f"login-address:{client_address}"


class PasswordLogin:
    def __init__(
        self,
        practitioners: PractitionerRepository,
        throttle: Throttle,
        hasher: PasswordHasher,
        clock: Clock,
    ) -> None:
        self._practitioners = practitioners
        self._throttle = throttle
        self._hasher = hasher
        self._clock = clock

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
            raise LoginThrottled(refused.minutes)

        practitioner = self._practitioners.get_by_email(tenant.id, email) if registrable else None
        if practitioner is None or practitioner.password_hash is None:
            self._hasher.spend_verify_time(password)
            raise LoginFailed()
        if not self._hasher.verify(practitioner.password_hash, password):
            raise LoginFailed()
        self._throttle.clear(account)
        self._throttle.give_back(address)
        # Only someone who knows the password learns that the account is deactivated.
        if not practitioner.active:
            raise AccountDeactivated()
        if self._hasher.needs_rehash(practitioner.password_hash):
            practitioner.set_password(self._hasher.hash(password))
        return practitioner
