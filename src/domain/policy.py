"""TenantAuthPolicy: the one place that answers "may they?" from a tenant's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.model import AuthSettings, Tenant
from domain.ports import SessionRevocation, Throttle
from domain.values import LoginMethod, UnknownIdentityHandling, Workflow


@dataclass(frozen=True)
class TenantAuthPolicy:
    settings: AuthSettings

    @classmethod
    def of(cls, tenant: Tenant) -> TenantAuthPolicy:
        return cls(tenant.auth)

    @property
    def password_login_allowed(self) -> bool:
        return not self.settings.restrict_to_sso and not self.is_pseudo_sso

    def allows_sessions_opened_by(self, method: LoginMethod) -> bool:
        """A session lives only while the door it came through is open: restrict-to-SSO and
        pseudo-SSO end the sessions opened with a password, as deactivation ends them all."""
        return method is LoginMethod.SSO or self.password_login_allowed

    @property
    def password_reset_allowed(self) -> bool:
        # Restrict-to-SSO closes every password path; pseudo-SSO has no local password.
        return self.password_login_allowed

    @property
    def self_registration_shown(self) -> bool:
        return self.settings.self_registration and not self.is_pseudo_sso

    @property
    def self_registration_allowed(self) -> bool:
        """The registration page needs a password to come at the end of it."""
        return self.self_registration_shown and self.password_login_allowed

    @property
    def profile_editable(self) -> bool:
        return not self.is_pseudo_sso

    @property
    def linked_accounts_shown(self) -> bool:
        return not self.is_pseudo_sso

    @property
    def email_linking_allowed(self) -> bool:
        """A verified email may link an unknown identity (registration implies it: the email is taken)."""
        return self.settings.unknown_identity in (
            UnknownIdentityHandling.LINK_VERIFIED_EMAIL,
            UnknownIdentityHandling.REGISTER,
        )

    @property
    def jit_registration_allowed(self) -> bool:
        return self.settings.unknown_identity is UnknownIdentityHandling.REGISTER

    @property
    def unknown_identity(self) -> UnknownIdentityHandling:
        return self.settings.unknown_identity

    @property
    def is_pseudo_sso(self) -> bool:
        return self.settings.workflow is Workflow.PSEUDO_SSO

    def end_closed_sessions(self, tenant_id: str, sessions: SessionRevocation) -> None:
        """After a change of these settings: ends every session whose door they closed."""
        for method in LoginMethod:
            if not self.allows_sessions_opened_by(method):
                sessions.end_sessions_opened_by(tenant_id, method)


@dataclass(frozen=True)
class ThrottleRule:
    """At most ``max_uses`` uses of a bucket per window. A window opens at the first use after
    the previous one closed, so a spent bucket opens again ``window`` after that first use."""

    max_uses: int
    window: timedelta

    @property
    def minutes(self) -> int:
        return int(self.window.total_seconds() // 60)

    def window_closed(self, opened_at: datetime, now: datetime) -> bool:
        return now >= opened_at + self.window


def take_all(throttle: Throttle, rules: Mapping[str, ThrottleRule], now: datetime) -> ThrottleRule | None:
    """Counts one use of every bucket, or of none: returns the rule of a spent bucket, else None.

    Buckets are taken in sorted order: two requests that need the same buckets then queue on
    the same first row, instead of each holding a row the other waits for (a deadlock).
    """
    taken: list[str] = []
    for bucket in sorted(rules):
        if not throttle.take(bucket, rules[bucket], now):
            for earlier in taken:
                throttle.give_back(earlier)
            return rules[bucket]
        taken.append(bucket)
    return None


# Per practitioner account: small, the attack is guessing one password.
FAILED_LOGINS_PER_ACCOUNT = ThrottleRule(max_uses=10, window=timedelta(minutes=15))
# Per client address: larger, a practice's staff often share one address behind NAT.
FAILED_LOGINS_PER_ADDRESS = ThrottleRule(max_uses=50, window=timedelta(minutes=15))
# Reset mails per account: enough for a lost mail, not enough to flood an inbox.
RESET_MAILS_PER_ACCOUNT = ThrottleRule(max_uses=3, window=timedelta(minutes=15))
