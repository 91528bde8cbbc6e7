"""LinkChallenge: the one-time password that proves control of the registered email."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.errors import N_, LinkCodeRefused, Nn_
from domain.identifiers import new_id


CODE_DIGITS = 6

CODE_LIFETIME = timedelta(minutes=10)

MAX_WRONG_CODES = 5

TOO_MANY_WRONG = N_("too many wrong codes; ask for a new one")


def code_digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


@dataclass(eq=False)
class LinkChallenge:
    tenant_id: str
    practitioner_id: str
    provider_id: str
    issuer: str
    subject: str
    binding_digest: str
    salt: str
    code_digest: str
    created_at: datetime
    expires_at: datetime
    wrong_attempts: int = 0
    used_at: datetime | None = None
    id: str = field(default_factory=new_id)

    @classmethod
    def issue(
        cls,
        tenant_id: str,
        practitioner_id: str,
        provider_id: str,
        issuer: str,
        subject: str,
        binding_digest: str,
        code: str,
        salt: str,
        now: datetime,
    ) -> LinkChallenge:
        return cls(
            tenant_id=tenant_id,
            practitioner_id=practitioner_id,
            provider_id=provider_id,
            issuer=issuer,
            subject=subject,
            binding_digest=binding_digest,
            salt=salt,
            code_digest=code_digest(salt, code),
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )

    def verify(self, code: str, now: datetime) -> None:
        """Uses the code up when it is right; counts a wrong try otherwise."""
        if self.used_at is not None:
            raise LinkCodeRefused(N_("this code was already used; ask for a new one"))
        if now >= self.expires_at:
            raise LinkCodeRefused(N_("this code has expired; ask for a new one"))
        if self.wrong_attempts >= MAX_WRONG_CODES:
            raise LinkCodeRefused(TOO_MANY_WRONG)
        candidate = "".join(ch for ch in (code or "") if not ch.isspace())[:32]
        if not hmac.compare_digest(code_digest(self.salt, candidate), self.code_digest):
            self.wrong_attempts += 1
            left = MAX_WRONG_CODES - self.wrong_attempts
            if left <= 0:
                raise LinkCodeRefused(TOO_MANY_WRONG)
            # English keeps its one form ("1 tries left" is what pages and tests have always read);
            # the catalogs give German and Dutch their singular.
            raise LinkCodeRefused(
                Nn_(
                    "that code is not right; %(count)s tries left", "that code is not right; %(count)s tries left", left
                )
            )
        self.used_at = now
