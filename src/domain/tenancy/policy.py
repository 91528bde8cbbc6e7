"""TenantAuthPolicy: the one place that answers "may they?" from a tenant's settings."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import N_, NotAllowed
from domain.ports import SessionRevocation
from domain.practitioners.practitioner import LoginMethod
from domain.tenancy.tenant import AuthSettings, Tenant, UnknownIdentityHandling, Workflow


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
        pseudo-SSO end the sessions opened with a password, as deactivation ends them all.
        The owner's recovery link is the way back in past the policy, so its (short) session stays."""
        return method in (LoginMethod.SSO, LoginMethod.RECOVERY) or self.password_login_allowed

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

    def require_linked_accounts_shown(self) -> None:
        """Under pseudo-SSO the provider owns the links: nobody links or unlinks by hand."""
        if not self.linked_accounts_shown:
            raise NotAllowed(N_("linked accounts are managed by this practice's identity provider"))

    def leaves_a_way_in(self, enabled_providers: int, usable_password: bool = True) -> bool:
        """A way to log in must remain: an enabled provider, or a password where this policy allows
        password login. For one practitioner: a provider they are linked to, and a password they have."""
        return enabled_providers > 0 or (usable_password and self.password_login_allowed)

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

    @property
    def roles_applied(self) -> bool:
        """Whether every Single Sign On login sets the practitioner's module rights from the
        provider's roles: a claim and a mapping are set, and the admin switched it on (pseudo-SSO,
        where the provider is the source of truth: always). Without a mapping it would only ever
        take rights away, so it stays off."""
        settings = self.settings
        return bool(settings.roles_claim and settings.role_mappings) and (
            settings.roles_from_provider or self.is_pseudo_sso
        )

    def end_closed_sessions(self, tenant_id: str, sessions: SessionRevocation) -> None:
        """After a change of these settings: ends every session whose door they closed."""
        for method in LoginMethod:
            if not self.allows_sessions_opened_by(method):
                sessions.end_sessions_opened_by(tenant_id, method)
