"""The single-use, expiring link to set a password; only its digest is kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.errors import InvalidResetToken
from domain.identifiers import digest, new_id
from domain.practitioners.practitioner import Practitioner


class ResetPurpose:
    """Why a password link was sent; it decides how long the link lives and its wording."""

    RESET = "reset"  # the practitioner asked: short-lived
    SET = "set"  # an admin provisioned the account: time to open the invitation
    # The operator let the owner back in past the login policy: the shortest, it opens a session.
    RECOVERY = "recovery"
    # An admin changed the practitioner's email: the link goes to the new address and proves it.
    EMAIL_CHANGE = "email_change"

    LIFETIME = {
        RESET: timedelta(hours=1),
        SET: timedelta(days=3),
        RECOVERY: timedelta(minutes=30),
        EMAIL_CHANGE: timedelta(days=3),
    }


@dataclass(eq=False)
class PasswordResetToken:
    """A single-use, expiring link to set a password. Only the digest of the token is kept."""

    tenant_id: str
    practitioner_id: str
    token_digest: str
    purpose: str
    expires_at: datetime
    id: str = field(default_factory=new_id)
    used_at: datetime | None = None

    @classmethod
    def issue(cls, practitioner: Practitioner, token: str, purpose: str, now: datetime) -> PasswordResetToken:
        return cls(
            tenant_id=practitioner.tenant_id,
            practitioner_id=practitioner.id,
            token_digest=digest(token),
            purpose=purpose,
            expires_at=now + ResetPurpose.LIFETIME[purpose],
        )

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at

    def redeem(self, now: datetime) -> None:
        if not self.is_usable(now):
            raise InvalidResetToken()
        self.used_at = now
