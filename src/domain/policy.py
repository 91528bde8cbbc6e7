"""TenantAuthPolicy: the one place that answers "may they?" from a tenant's settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.model import AuthSettings, Tenant
from domain.values import UnknownIdentityHandling, Workflow


@dataclass(frozen=True)
class TenantAuthPolicy:
    settings: AuthSettings

    @classmethod
    def of(cls, tenant: Tenant) -> TenantAuthPolicy:
        return cls(tenant.auth)

    @property
    def password_login_allowed(self) -> bool:
        return not self.settings.restrict_to_sso and not self.is_pseudo_sso

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


@dataclass(frozen=True)
class ThrottleRule:
    """At most ``max_failures`` within ``window`` before the bucket is refused."""

    max_failures: int
    window: timedelta

    @property
    def minutes(self) -> int:
        return int(self.window.total_seconds() // 60)


# Per practitioner account: small, the attack is guessing one password.
FAILED_LOGINS_PER_ACCOUNT = ThrottleRule(max_failures=10, window=timedelta(minutes=15))
# Per client address: larger, a practice's staff often share one address behind NAT.
FAILED_LOGINS_PER_ADDRESS = ThrottleRule(max_failures=50, window=timedelta(minutes=15))
# Reset mails per account: enough for a lost mail, not enough to flood an inbox.
RESET_MAILS_PER_ACCOUNT = ThrottleRule(max_failures=3, window=timedelta(minutes=15))
