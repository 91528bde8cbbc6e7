"""PasswordReset: mails a link to set or reset a password, and redeems it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.errors import InvalidResetToken, NotAllowed
from domain.identifiers import digest
from domain.passwords.login import SSO_ONLY, account_bucket
from domain.passwords.messages import password_link_letter
from domain.passwords.new_password import validate_new_password
from domain.passwords.reset_token import PasswordResetToken, ResetPurpose
from domain.ports import (
    Clock,
    Links,
    PasswordHasher,
    PasswordResetTokenRepository,
    PractitionerRepository,
    SessionRevocation,
    TokenSource,
)
from domain.practitioners.email import normalize_email
from domain.practitioners.mail import Post
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant
from domain.throttle import Throttle, ThrottleRule


# Reset mails per account: enough for a lost mail, not enough to flood an inbox.
RESET_MAILS_PER_ACCOUNT = ThrottleRule(max_uses=3, window=timedelta(minutes=15))


# The links this page redeems; the owner's recovery link (domain.passwords.recovery) has its own.
PASSWORD_LINKS = (ResetPurpose.RESET, ResetPurpose.SET)


def reset_mail_bucket(tenant: Tenant, email: str) -> str:
    return f"reset-mail:{tenant.id}:{email}"


@dataclass(frozen=True)
class PasswordReset:
    _practitioners: PractitionerRepository
    _tokens: PasswordResetTokenRepository
    _throttle: Throttle
    _hasher: PasswordHasher
    _post: Post
    _links: Links
    _token_source: TokenSource
    _sessions: SessionRevocation
    _clock: Clock

    def request_link(self, tenant: Tenant, email: str) -> None:
        """Mails a reset link if the email is registered. Says nothing either way."""
        self._require_allowed(tenant)
        email = normalize_email(email)
        # Counted whether or not the email is registered: the answer is the same either way.
        if not self._throttle.take(reset_mail_bucket(tenant, email), RESET_MAILS_PER_ACCOUNT, self._clock.now()):
            return
        practitioner = self._practitioners.get_by_email(tenant.id, email)
        if practitioner is None or not practitioner.active:
            return
        self._send(tenant, practitioner, ResetPurpose.RESET)

    def send_set_password_link(self, tenant: Tenant, practitioner: Practitioner) -> None:
        self._require_allowed(tenant)
        self._send(tenant, practitioner, ResetPurpose.SET)

    def open_link(self, tenant: Tenant, token: str) -> PasswordResetToken:
        """The link's record, if it can still be used; else InvalidResetToken. Reads only."""
        self._require_allowed(tenant)
        return self._usable(self._tokens.get_by_digest(tenant.id, digest(token or "")))

    def complete(self, tenant: Tenant, token: str, new_password: str) -> Practitioner:
        self._require_allowed(tenant)
        # Locked: of concurrent redemptions of one link, the others find it used.
        record = self._usable(self._tokens.claim(tenant.id, digest(token or "")))
        validate_new_password(new_password)
        practitioner = self._practitioners.get(tenant.id, record.practitioner_id)
        if practitioner is None or not practitioner.active:
            raise InvalidResetToken()
        # Before any other write, as a login takes its throttle rows before it may rehash the
        # password: two units of work then never hold what the other one waits for.
        self._throttle.clear(account_bucket(tenant, practitioner.email))
        record.redeem(self._clock.now())
        practitioner.set_password(self._hasher.hash(new_password))
        practitioner.prove_email()  # the link went to the registered email
        # Whoever held the old password is logged out everywhere.
        self._sessions.end_sessions_of(tenant.id, practitioner.id)
        return practitioner

    def _usable(self, record: PasswordResetToken | None) -> PasswordResetToken:
        if record is None or record.purpose not in PASSWORD_LINKS or not record.is_usable(self._clock.now()):
            raise InvalidResetToken()
        return record

    def _require_allowed(self, tenant: Tenant) -> None:
        if not TenantAuthPolicy.of(tenant).password_reset_allowed:
            raise NotAllowed(SSO_ONLY)

    def _send(self, tenant: Tenant, practitioner: Practitioner, purpose: str) -> None:
        token = self._token_source.new_token()
        self._tokens.discard_open(tenant.id, practitioner.id, PASSWORD_LINKS)  # not an email change's link
        self._tokens.add(PasswordResetToken.issue(practitioner, token, purpose, self._clock.now()))
        link = self._links.password_link(token)
        self._post.send(tenant, practitioner, password_link_letter(tenant, link, purpose))
