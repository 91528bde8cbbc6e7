"""What the domain needs from outside. Adapters implement these; tests/fakes.py fakes them.

Every repository method that reads practitioner data takes the tenant id: a port cannot be
asked for another tenant's rows by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.model import PasswordResetToken, Practitioner, Tenant


@dataclass(frozen=True)
class Page:
    items: list[Practitioner]
    total: int


@dataclass(frozen=True)
class MailMessage:
    to: str
    subject: str
    text: str
    html: str


class TenantRepository(Protocol):
    def add(self, tenant: Tenant) -> None:
        """Raises TenantAlreadyExists when the slug is taken."""

    def get(self, tenant_id: str) -> Tenant | None: ...

    def get_by_slug(self, slug: str) -> Tenant | None: ...

    def list(self) -> list[Tenant]: ...


class PractitionerRepository(Protocol):
    def add(self, practitioner: Practitioner) -> None:
        """Raises EmailAlreadyRegistered when the tenant has that email already."""

    def get(self, tenant_id: str, practitioner_id: str) -> Practitioner | None: ...

    def get_by_email(self, tenant_id: str, email: str) -> Practitioner | None:
        """``email`` is already normalized (see domain.values.normalize_email)."""

    def get_owner(self, tenant_id: str) -> Practitioner | None: ...

    def search(self, tenant_id: str, query: str, offset: int, limit: int) -> Page:
        """Practitioners whose email or name contains ``query`` (any case), by last name."""


class PasswordResetTokenRepository(Protocol):
    def add(self, token: PasswordResetToken) -> None: ...

    def get_by_digest(self, tenant_id: str, token_digest: str) -> PasswordResetToken | None: ...

    def discard_open(self, tenant_id: str, practitioner_id: str) -> None:
        """Forget every unused link of the practitioner (a newer one supersedes them)."""


class FailureLog(Protocol):
    """Counts failures per bucket (an account, a client address) in a sliding window."""

    def record(self, bucket: str, at: datetime) -> None: ...

    def count_since(self, bucket: str, since: datetime) -> int: ...

    def clear(self, bucket: str) -> None: ...


class SessionRevocation(Protocol):
    def end_sessions_of(self, tenant_id: str, practitioner_id: str) -> None:
        """Ends every open browser session of the practitioner."""


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...

    def spend_verify_time(self, password: str) -> None:
        """Does the work of one verify, so a missing account answers in the same time."""


class Mailer(Protocol):
    def send(self, message: MailMessage) -> None:
        """Queues the message; it leaves only if the unit of work commits."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""


class TokenSource(Protocol):
    def new_token(self, nbytes: int = 32) -> str:
        """A URL-safe token from a CSPRNG."""


class Links(Protocol):
    """Absolute links into the tenant's instance, for mail."""

    def password_link(self, token: str) -> str: ...

    def login_link(self) -> str: ...
