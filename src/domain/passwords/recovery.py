"""A way back in: the operator mails the owner a single-use link past the login policy.

Under restrict-to-SSO or pseudo-SSO a broken identity provider (an expired secret, an outage)
would lock everyone out, the owner included. The operator's command line then mails the owner a
recovery link: short-lived, single-use, only ever for the owner. It logs the owner in once with
their password (or lets an owner without one choose it first), opens a short session that the
policy keeps, and is audited and shown on the admin pages. Nothing else opens: password login,
reset and registration stay as the policy says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from collections.abc import Callable

from domain.audit import AuditKind, AuditLog, AuditQuery, AuditTrail
from domain.errors import InvalidResetToken, LoginFailed, LoginThrottled, N_, Nn_, UnknownPractitioner, known
from domain.identifiers import digest
from domain.passwords.login import FAILED_LOGINS_PER_ACCOUNT, FAILED_LOGINS_PER_ADDRESS, account_bucket, address_bucket
from domain.passwords.new_password import validate_new_password
from domain.passwords.reset_token import PasswordResetToken, ResetPurpose
from domain.ports import (
    Clock,
    PasswordHasher,
    PasswordResetTokenRepository,
    PractitionerRepository,
    RecoveryLinks,
    TokenSource,
)
from domain.practitioners.mail import Letter, Post
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.tenant import Tenant
from domain.throttle import Throttle, take_all

# The session a recovery link opens survives the policy, so it is short: long enough to repair
# the provider settings, not a way to stay in past the restriction.
RECOVERY_SESSION_LIFETIME = timedelta(hours=1)

# How long the admin pages remind everyone that the owner came in through the back door.
NOTICE_PERIOD = timedelta(days=7)

LINK_LIFETIME = ResetPurpose.LIFETIME[ResetPurpose.RECOVERY]


@dataclass(frozen=True)
class RecoveryLink:
    """An open recovery link: whose it is, and whether they must first choose a password."""

    owner: Practitioner

    @property
    def needs_password(self) -> bool:
        # Pseudo-SSO owners, and owners registered through their provider, may have none.
        return not self.owner.has_usable_password


@dataclass(frozen=True)
class RecoveryNotice:
    """What the admin pages say: a recovery link still open, and the latest recovery sign-in lately."""

    open_until: datetime | None = None
    signed_in_at: datetime | None = None
    signed_in_from: str | None = None  # the client address, as the audit trail recorded it


def recovery_letter(tenant: Tenant, link: str) -> Letter:
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    return Letter(
        N_("Your recovery link for %(practice)s", practice=tenant.name),
        N_(
            "The administrator of Practice Portal sent you this link to sign in to %(practice)s once, without "
            "Single Sign On, for example while your identity provider does not work.",
            practice=tenant.name,
        ),
        (
            Nn_(
                "The link works once and expires in %(count)s minute. You will need your password; if your account "
                "has none, you choose one first. If you did not ask for this, tell your administrator.",
                "The link works once and expires in %(count)s minutes. You will need your password; if your "
                "account has none, you choose one first. If you did not ask for this, tell your administrator.",
                minutes,
            ),
        ),
        link=link,
    )


@dataclass(frozen=True)
class OwnerRecovery:
    _practitioners: PractitionerRepository
    _tokens: PasswordResetTokenRepository
    _throttle: Throttle
    _hasher: PasswordHasher
    _post: Post
    _links: RecoveryLinks
    _token_source: TokenSource
    _clock: Clock
    _audit: AuditTrail
    _log: AuditLog

    def send_link(self, tenant: Tenant) -> Practitioner:
        """Mails the owner a recovery link, whatever the policy; returns the owner it went to."""
        # Every practice has its owner; nobody else ever gets a recovery link.
        owner = known(self._practitioners.get_owner(tenant.id), UnknownPractitioner)
        token = self._token_source.new_token()
        # A new link supersedes the owner's unused ones, recovery links and password links alike.
        # Every password and recovery link of the owner's; an email change's link is not about signing in.
        self._tokens.discard_open(tenant.id, owner.id, (ResetPurpose.RESET, ResetPurpose.SET, ResetPurpose.RECOVERY))
        self._tokens.add(PasswordResetToken.issue(owner, token, ResetPurpose.RECOVERY, self._clock.now()))
        self._post.send(tenant, owner, recovery_letter(tenant, self._links.recovery_link(tenant, token)))
        summary = N_("recovery link mailed to the account owner %(email)s by the operator", email=owner.email)
        self._audit.record(tenant, AuditKind.RECOVERY_LINK_SENT, summary, subject_id=owner.id)
        return owner

    def open_link(self, tenant: Tenant, token: str) -> RecoveryLink:
        """The open link's owner; InvalidResetToken for anything else. Reads only."""
        return self._usable(tenant, self._tokens.get_by_digest(tenant.id, digest(token or "")))[1]

    def sign_in(self, tenant: Tenant, token: str, password: str, client_address: str) -> Practitioner:
        """Redeems the link with the owner's password, throttled as a password login is."""
        # The link's row is locked before the buckets are taken, so a wrong link writes nothing. No
        # unit of work that holds a login bucket ever waits for a recovery link: none waits in a circle.
        record, link = self._claim(tenant, token)
        owner = link.owner
        account, address = account_bucket(tenant, owner.email), address_bucket(client_address)
        # The same buckets as the login form: the recovery page gives no extra guesses.
        rules = {account: FAILED_LOGINS_PER_ACCOUNT, address: FAILED_LOGINS_PER_ADDRESS}
        refused = take_all(self._throttle, rules, self._clock.now())
        if refused is not None:
            raise LoginThrottled(refused.minutes)
        if owner.password_hash is None or not self._hasher.verify(owner.password_hash, password):
            raise LoginFailed()
        self._throttle.clear(account)
        self._throttle.give_back(address)
        return self._redeem(
            tenant,
            record,
            owner,
            lambda email: N_(
                "the account owner %(email)s signed in with a recovery link with their password", email=email
            ),
        )

    def choose_password(self, tenant: Tenant, token: str, new_password: str) -> Practitioner:
        """For an owner without a password: sets the first one and redeems the link."""
        record, link = self._claim(tenant, token)
        if not link.needs_password:  # a password is never replaced without knowing it
            raise InvalidResetToken()
        validate_new_password(new_password)
        link.owner.set_password(self._hasher.hash(new_password))
        link.owner.prove_email()  # the link went to the registered email
        return self._redeem(
            tenant,
            record,
            link.owner,
            lambda email: N_(
                "the account owner %(email)s signed in with a recovery link after choosing a password", email=email
            ),
        )

    def notice(self, tenant: Tenant) -> RecoveryNotice | None:
        """The open recovery link, if any, and the latest recovery sign-in within the notice period.

        The sign-in is read from the audit trail, which keeps it (and where it came from) longer
        than the clean-up keeps a used link."""
        now = self._clock.now()
        latest = self._tokens.latest(tenant.id, ResetPurpose.RECOVERY)
        open_until = latest.expires_at if latest is not None and latest.is_usable(now) else None
        recent = AuditQuery(kinds=(AuditKind.RECOVERY_SIGNED_IN,), since=now - NOTICE_PERIOD)
        used = next(iter(self._log.page(tenant.id, recent, None, 1)), None)
        if open_until is None and used is None:
            return None
        if used is None:
            return RecoveryNotice(open_until)
        return RecoveryNotice(open_until, used.at, used.client_address)

    def _claim(self, tenant: Tenant, token: str) -> tuple[PasswordResetToken, RecoveryLink]:
        # Locked: of two concurrent redemptions of one link, the second finds it used.
        return self._usable(tenant, self._tokens.claim(tenant.id, digest(token or "")))

    def _usable(self, tenant: Tenant, record: PasswordResetToken | None) -> tuple[PasswordResetToken, RecoveryLink]:
        # A password link never opens this page, and a recovery link is only ever the owner's.
        if record is None or record.purpose != ResetPurpose.RECOVERY or not record.is_usable(self._clock.now()):
            raise InvalidResetToken()
        owner = self._practitioners.get(tenant.id, record.practitioner_id)
        if owner is None or not owner.is_owner or not owner.active:
            raise InvalidResetToken()
        return record, RecoveryLink(owner)

    def _redeem(
        self, tenant: Tenant, record: PasswordResetToken, owner: Practitioner, said: Callable[[str], str]
    ) -> Practitioner:
        """``said``: the audit summary for the owner's email."""
        record.redeem(self._clock.now())
        summary = said(owner.email)
        self._audit.record(tenant, AuditKind.RECOVERY_SIGNED_IN, summary, owner.id, subject_id=owner.id)
        return owner
