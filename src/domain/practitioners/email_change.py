"""EmailChange: an admin changes a practitioner's registered email; the new address proves itself.

The admin's new address waits as ``pending_email`` and a single-use link (3 days) goes to it. The
registered email keeps working, for logging in and for mail, until that link is followed: an
address nobody has shown control of never becomes the one a password reset or a one-time code
is mailed to. Following it makes the new address the registered (and proven) one, and a notice
goes to the old address, so a change the practitioner did not expect does not go unnoticed; the
password and recovery links still open from the old address stop working.

Decisions:
- Who may: the rule of every other change to a practitioner (``Authority.require_may_manage``).
- Unique: the new address must not be another practitioner's email, nor their SCIM userName
  where the email is the userName (``email_taken``), checked when asked and again when the link
  is followed. A pending address reserves nothing: it is unproven, and letting it block another
  practitioner would let an admin's typo hold an address; whoever proves it first gets it.
- Pseudo-SSO: the practice's identity provider owns the email; the portal refuses.
- SCIM: a practitioner a provisioning client manages may be changed here too, but the client
  sends its own email at its next update and overwrites this one; the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.audit import AuditKind, AuditTrail
from domain.errors import (
    EmailAlreadyRegistered,
    InvalidResetToken,
    InvalidValue,
    N_,
    Nn_,
    NotAllowed,
    UnknownPractitioner,
    known,
)
from domain.identifiers import digest
from domain.passwords.reset_token import PasswordResetToken, ResetPurpose
from domain.ports import Clock, Links, PasswordResetTokenRepository, PractitionerRepository
from domain.ports import TokenSource
from domain.practitioners.authority import Authority
from domain.practitioners.email import normalize_email
from domain.practitioners.mail import Letter, Post
from domain.practitioners.practitioner import Practitioner
from domain.provisioning.scim_user import ScimQuery
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import Tenant

PROVIDER_OWNS_EMAIL = N_(
    "in this practice the email comes from its identity provider (pseudo-SSO): change it there, "
    "and it is taken over at the practitioner's next sign-in"
)

LINK_DAYS = ResetPurpose.LIFETIME[ResetPurpose.EMAIL_CHANGE].days

_ONLY = (ResetPurpose.EMAIL_CHANGE,)  # a new request replaces an older one, never a password link
# The links mailed to the registered address to sign in or set a password: once another address is
# proven, the old one (a typo's stranger, a mailbox given up) opens nothing any more.
_TO_THE_OLD_ADDRESS = (ResetPurpose.RESET, ResetPurpose.SET, ResetPurpose.RECOVERY)


def email_taken(practitioners: PractitionerRepository, tenant_id: str, practitioner: Practitioner, email: str) -> bool:
    """Whether another practitioner of the practice has ``email`` (stored form), or holds it as their
    SCIM userName, which the email also is for a practitioner who has no userName of their own."""
    holder = practitioners.get_by_email(tenant_id, email)
    if holder is not None and holder.id != practitioner.id:
        return True
    if practitioner.user_name is not None:
        return False
    holders = practitioners.scim_search(tenant_id, ScimQuery(user_name=email), 0, 2)[0]
    return any(other.id != practitioner.id for other in holders)


@dataclass(frozen=True)
class PendingChange:
    """An open link: whose email it changes, from what, to what."""

    practitioner: Practitioner
    new_email: str


def email_change_letter(tenant: Tenant, practitioner: Practitioner, link: str) -> Letter:
    """To the new address: the link that proves it."""
    return Letter(
        N_("Confirm your new email for %(practice)s", practice=tenant.name),
        N_(
            "An administrator of %(practice)s entered this address as the new email of your account, "
            "%(name)s. It replaces %(email)s once you confirm it with this link:",
            practice=tenant.name,
            name=practitioner.full_name,
            email=practitioner.email,
        ),
        (
            Nn_(
                "The link works once and expires in %(count)s day. Until then your account keeps its current "
                "email. If you do not expect this, ignore this message.",
                "The link works once and expires in %(count)s days. Until then your account keeps its current "
                "email. If you do not expect this, ignore this message.",
                LINK_DAYS,
            ),
        ),
        link=link,
    )


def email_changed_letter(tenant: Tenant, practitioner: Practitioner) -> Letter:
    """To the old address, once the new one is proven."""
    return Letter(
        N_("Your registered email was changed for %(practice)s", practice=tenant.name),
        N_(
            "Your registered email at %(practice)s was changed to %(email)s.",
            practice=tenant.name,
            email=practitioner.email,
        ),
        (
            N_(
                "From now on mail from the portal goes there, and you log in with it. "
                "If you did not expect this, tell your practice's administrator at once."
            ),
        ),
    )


@dataclass(frozen=True)
class EmailChange:
    _practitioners: PractitionerRepository
    _tokens: PasswordResetTokenRepository
    _post: Post
    _links: Links
    _token_source: TokenSource
    _clock: Clock
    _audit: AuditTrail

    def request(self, actor: Practitioner, tenant: Tenant, practitioner_id: str, email: str) -> Practitioner:
        """Stores the new address as pending and mails its link to it; the registered email stays."""
        practitioner = known(self._practitioners.get(tenant.id, practitioner_id), UnknownPractitioner)
        Authority.of(actor, tenant).require_may_manage(practitioner)
        if TenantAuthPolicy.of(tenant).is_pseudo_sso:
            raise NotAllowed(PROVIDER_OWNS_EMAIL)
        email = normalize_email(email)
        if email == practitioner.email:
            raise InvalidValue("email", N_("%(email)s is already their registered email", email=email))
        if email_taken(self._practitioners, tenant.id, practitioner, email):
            raise EmailAlreadyRegistered(email)
        token = self._token_source.new_token()
        self._tokens.discard_open(tenant.id, practitioner.id, _ONLY)
        self._tokens.add(PasswordResetToken.issue(practitioner, token, ResetPurpose.EMAIL_CHANGE, self._clock.now()))
        practitioner.await_email(email)
        letter = email_change_letter(tenant, practitioner, self._links.email_change_link(token))
        self._post.send(tenant, practitioner, letter, to=email)
        summary = N_(
            "%(old)s: change of email to %(new)s asked; a link was mailed to %(new)s", old=practitioner.email, new=email
        )
        self._audit.record(tenant, AuditKind.EMAIL_CHANGE_REQUESTED, summary, actor.id, subject_id=practitioner.id)
        return practitioner

    def open_link(self, tenant: Tenant, token: str) -> PendingChange:
        """What the link would change; InvalidResetToken when it changes nothing. Reads only."""
        return self._pending(tenant, self._tokens.get_by_digest(tenant.id, digest(token or "")))[1]

    def confirm(self, tenant: Tenant, token: str) -> Practitioner:
        """The link was followed: the pending address becomes the registered one."""
        # Locked: of two concurrent confirmations of one link, the second finds it used.
        record, pending = self._pending(tenant, self._tokens.claim(tenant.id, digest(token or "")))
        practitioner = pending.practitioner
        if email_taken(self._practitioners, tenant.id, practitioner, pending.new_email):
            raise EmailAlreadyRegistered(pending.new_email)
        # Before the practitioner's row is written, as a password link's redemption takes its link first.
        self._tokens.discard_open(tenant.id, practitioner.id, _TO_THE_OLD_ADDRESS)
        record.redeem(self._clock.now())
        old_email = practitioner.email
        practitioner.adopt_pending_email()
        self._post.send(tenant, practitioner, email_changed_letter(tenant, practitioner), to=old_email)
        summary = N_(
            "%(old)s: email changed to %(new)s, proven by the mailed link", old=old_email, new=practitioner.email
        )
        self._audit.record(tenant, AuditKind.EMAIL_CHANGED, summary, practitioner.id, subject_id=practitioner.id)
        return practitioner

    def _pending(self, tenant: Tenant, record: PasswordResetToken | None) -> tuple[PasswordResetToken, PendingChange]:
        if record is None or record.purpose != ResetPurpose.EMAIL_CHANGE or not record.is_usable(self._clock.now()):
            raise InvalidResetToken()
        # The tenant may have turned to pseudo-SSO since: then the provider owns the email.
        if TenantAuthPolicy.of(tenant).is_pseudo_sso:
            raise NotAllowed(PROVIDER_OWNS_EMAIL)
        practitioner = self._practitioners.get(tenant.id, record.practitioner_id)
        if practitioner is None or practitioner.pending_email is None:
            raise InvalidResetToken()
        return record, PendingChange(practitioner, practitioner.pending_email)
