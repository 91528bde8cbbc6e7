"""What a Single Sign On callback ends in, and the verified sign-in every step after the code works on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.practitioners.practitioner import Practitioner
from domain.sso.identity import ProviderSession, VerifiedIdentity
from domain.sso.pending import PendingLink, PendingLogin
from domain.sso.provider import IdentityProvider
from domain.tenancy.tenant import Tenant


@dataclass(frozen=True)
class VerifiedSignIn:
    """A callback that passed every check, its code redeemed: who the provider says this is,
    for which pending login. Read once per callback and handed on, so no step looks it up again."""

    tenant: Tenant
    provider: IdentityProvider
    pending: PendingLogin
    identity: VerifiedIdentity

    def pending_link(self, binding: str, now: datetime, practitioner_id: str | None = None) -> PendingLink:
        """The identity, kept in this browser until the one-time password confirms it."""
        return PendingLink(
            tenant_id=self.tenant.id,
            provider_id=self.provider.id,
            issuer=self.identity.issuer,
            subject=self.identity.subject,
            binding=binding,
            next_path=self.pending.next_path,
            started_at=now,
            practitioner_id=practitioner_id,
            locale=self.identity.locale,
            sid=self.identity.sid,
            id_token=self.identity.id_token,
        )

    def provider_session(self) -> ProviderSession:
        """What the session opened by this sign-in remembers of the provider."""
        return ProviderSession(self.provider.id, self.identity.subject, self.identity.sid, self.identity.id_token)


@dataclass(frozen=True)
class LoggedIn:
    practitioner: Practitioner
    next_path: str
    # What the session remembers of the provider it is opened through: a detail of the login, not
    # part of who logs in where (the outcome's equality)
    through: ProviderSession | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ConfirmLink:
    """The identity is verified but linked to nobody: the one-time password step follows."""

    pending: PendingLink
    code_sent: bool  # already mailed (linking from account settings) or the email is asked first


@dataclass(frozen=True)
class AlreadyLinked:
    practitioner: Practitioner


Outcome = LoggedIn | ConfirmLink | AlreadyLinked
