"""PasswordLogin: email and password, throttled, with no account enumeration."""

from __future__ import annotations

from domain.errors import AccountDeactivated, InvalidValue, LoginFailed, LoginThrottled, NotAllowed
from domain.model import Practitioner, Tenant
from domain.policy import (
    FAILED_LOGINS_PER_ACCOUNT,
    FAILED_LOGINS_PER_ADDRESS,
    TenantAuthPolicy,
    ThrottleRule,
)
from domain.ports import Clock, FailureLog, PasswordHasher, PractitionerRepository
from domain.values import normalize_email

SSO_ONLY = "this practice signs in with Single Sign On only"


def account_bucket(tenant: Tenant, email: str) -> str:
    return f"login:{tenant.id}:{email}"


def address_bucket(client_address: str) -> str:
    return f"login-address:{client_address}"


class PasswordLogin:
    def __init__(
        self,
        practitioners: PractitionerRepository,
        failures: FailureLog,
        hasher: PasswordHasher,
        clock: Clock,
    ) -> None:
        self._practitioners = practitioners
        self._failures = failures
        self._hasher = hasher
        self._clock = clock

    def log_in(self, tenant: Tenant, email: str, password: str, client_address: str) -> Practitioner:
        if not TenantAuthPolicy.of(tenant).password_login_allowed:
            raise NotAllowed(SSO_ONLY)
        try:
            email = normalize_email(email)
        except InvalidValue:
            email = (email or "").strip().lower()
        buckets = {
            account_bucket(tenant, email): FAILED_LOGINS_PER_ACCOUNT,
            address_bucket(client_address): FAILED_LOGINS_PER_ADDRESS,
        }
        for bucket, rule in buckets.items():
            self._refuse_when_throttled(bucket, rule)

        practitioner = self._practitioners.get_by_email(tenant.id, email) if email else None
        if practitioner is None or practitioner.password_hash is None:
            self._hasher.spend_verify_time(password)
            self._fail(buckets)
        assert practitioner is not None and practitioner.password_hash is not None
        if not self._hasher.verify(practitioner.password_hash, password):
            self._fail(buckets)
        # Only someone who knows the password learns that the account is deactivated.
        if not practitioner.active:
            raise AccountDeactivated()
        if self._hasher.needs_rehash(practitioner.password_hash):
            practitioner.password_hash = self._hasher.hash(password)
        self._failures.clear(account_bucket(tenant, email))
        return practitioner

    def _refuse_when_throttled(self, bucket: str, rule: ThrottleRule) -> None:
        since = self._clock.now() - rule.window
        if self._failures.count_since(bucket, since) >= rule.max_failures:
            raise LoginThrottled(rule.minutes)

    def _fail(self, buckets: dict[str, ThrottleRule]) -> None:
        now = self._clock.now()
        for bucket in buckets:
            self._failures.record(bucket, now)
        raise LoginFailed()
