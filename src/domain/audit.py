"""The audit trail every feature writes to: what happened, when, who did it (a person or a SCIM
token), whom it was about, and where the request came from; and how a practice's admins read it.

The `AuditLog` port lives here rather than in `domain.ports`, because `AuditTrail` needs it and
`domain.ports` needs nothing from the audit: so neither module imports the other in a circle.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Protocol

from domain.errors import InvalidValue, N_, Nn_
from domain.identifiers import new_id
from domain.ports import Clock, PractitionerRepository, ScimTokenRepository
from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.provisioning.bearer_token import ProvisioningKind
from domain.tenancy.tenant import Tenant
from domain.text import is_one_line


class AuditKind:
    SSO_LOGIN_SUCCEEDED = "sso_login_succeeded"
    SSO_LOGIN_FAILED = "sso_login_failed"
    LINK_REQUESTED = "link_requested"
    LINK_CONFIRMED = "link_confirmed"
    LINK_FAILED = "link_failed"
    SETTINGS_CHANGED = "settings_changed"
    REGISTERED = "registered"
    PROFILE_MIRRORED = "profile_mirrored"
    LINK_REMOVED = "link_removed"
    PROFILE_CHANGED = "profile_changed"
    PASSWORD_LOGIN_SUCCEEDED = "password_login_succeeded"
    PASSWORD_LOGIN_FAILED = "password_login_failed"
    LOGGED_OUT = "logged_out"
    SSO_BACKCHANNEL_LOGOUT = "sso_backchannel_logout"  # the provider ended sessions (no actor)
    # By an admin on the Practitioners page or the operator's command line; a SCIM client's
    # changes keep their ProvisioningKind, shown and filtered under the same labels.
    PRACTITIONER_ADDED = "practitioner_added"
    PRACTITIONER_DEACTIVATED = "practitioner_deactivated"
    PRACTITIONER_REACTIVATED = "practitioner_reactivated"
    RIGHTS_GRANTED = "rights_granted"
    RIGHTS_REVOKED = "rights_revoked"
    RECOVERY_LINK_SENT = "recovery_link_sent"  # the operator mailed the owner a way back in
    RECOVERY_SIGNED_IN = "recovery_signed_in"  # the owner used it
    # An admin on a practitioner's page (the practitioner is the subject).
    LINK_REMOVED_BY_ADMIN = "link_removed_by_admin"
    EMAIL_CHANGE_REQUESTED = "email_change_requested"  # the link went to the new address
    EMAIL_CHANGED = "email_changed"  # the link was followed: the new address is the registered one
    PROVIDER_TEST_SIGN_IN = "provider_test_sign_in"  # an admin tested a provider: passed or failed, nothing changed
    # A SCIM client's groups (their members' rights changes are RIGHTS_GRANTED / RIGHTS_REVOKED).
    SCIM_GROUP_CREATED = "scim_group_created"
    SCIM_GROUP_UPDATED = "scim_group_updated"
    SCIM_GROUP_DELETED = "scim_group_deleted"


# A SCIM client's changes to practitioners are the Practitioners page's events by another path:
# they keep the kinds they were always recorded with, and share the page's labels (and filter).
_LABELS = {
    AuditKind.SSO_LOGIN_SUCCEEDED: N_("sso login succeeded"),
    AuditKind.SSO_LOGIN_FAILED: N_("sso login failed"),
    AuditKind.LINK_REQUESTED: N_("link requested"),
    AuditKind.LINK_CONFIRMED: N_("link confirmed"),
    AuditKind.LINK_FAILED: N_("link failed"),
    AuditKind.SETTINGS_CHANGED: N_("settings changed"),
    AuditKind.REGISTERED: N_("registered"),
    AuditKind.PROFILE_MIRRORED: N_("profile mirrored"),
    AuditKind.LINK_REMOVED: N_("link removed"),
    AuditKind.PROFILE_CHANGED: N_("profile changed"),
    AuditKind.PASSWORD_LOGIN_SUCCEEDED: N_("password login succeeded"),
    AuditKind.PASSWORD_LOGIN_FAILED: N_("password login failed"),
    AuditKind.LOGGED_OUT: N_("logged out"),
    AuditKind.SSO_BACKCHANNEL_LOGOUT: N_("back-channel logout"),
    AuditKind.PRACTITIONER_ADDED: N_("practitioner added"),
    AuditKind.PRACTITIONER_DEACTIVATED: N_("practitioner deactivated"),
    AuditKind.PRACTITIONER_REACTIVATED: N_("practitioner reactivated"),
    AuditKind.RIGHTS_GRANTED: N_("rights granted"),
    AuditKind.RIGHTS_REVOKED: N_("rights revoked"),
    AuditKind.RECOVERY_LINK_SENT: N_("recovery link sent"),
    AuditKind.RECOVERY_SIGNED_IN: N_("recovery signed in"),
    AuditKind.LINK_REMOVED_BY_ADMIN: N_("link removed by admin"),
    AuditKind.EMAIL_CHANGE_REQUESTED: N_("email change requested"),
    AuditKind.EMAIL_CHANGED: N_("email changed"),
    AuditKind.PROVIDER_TEST_SIGN_IN: N_("provider test sign-in"),
    AuditKind.SCIM_GROUP_CREATED: N_("group added"),
    AuditKind.SCIM_GROUP_UPDATED: N_("group changed"),
    AuditKind.SCIM_GROUP_DELETED: N_("group deleted"),
    ProvisioningKind.TOKEN_CREATED: N_("scim token created"),
    ProvisioningKind.TOKEN_REVOKED: N_("scim token revoked"),
    ProvisioningKind.USER_CREATED: N_("practitioner added"),
    ProvisioningKind.USER_UPDATED: N_("practitioner updated"),
    ProvisioningKind.USER_DEACTIVATED: N_("practitioner deactivated"),
    ProvisioningKind.USER_DELETED: N_("practitioner deleted"),
}


def kind_label(kind: str) -> str:
    """What the audit page calls a kind of event (a Message; a kind no longer recorded, as it is)."""
    return _LABELS.get(kind, kind.replace("_", " "))


def _constants(holder: type) -> list[str]:
    return [value for name, value in vars(holder).items() if name.isupper() and isinstance(value, str)]


KNOWN_KINDS = (*_constants(AuditKind), *_constants(ProvisioningKind))


def kind_choices(said: Callable[[str], str] = str) -> list[tuple[str, str]]:
    """The kind filter's options, (value, label), in the order of the labels as ``said`` puts
    them in the reader's language (accents aside, so "Ä" sorts with "A"): one per label, its
    value the first kind with it."""
    first: dict[str, str] = {}
    for kind in KNOWN_KINDS:
        first.setdefault(kind_label(kind), kind)
    return sorted(((kind, label) for label, kind in first.items()), key=lambda choice: _sort_key(said(choice[1])))


def _sort_key(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(ch))


def kinds_like(kind: str) -> tuple[str, ...]:
    """The kinds the filter for ``kind`` lists: every kind shown under its label."""
    if kind not in KNOWN_KINDS:
        raise InvalidValue("kind", N_("that kind of event is not known; choose one from the list"))
    return tuple(known for known in KNOWN_KINDS if kind_label(known) == kind_label(kind))


CLI_ADDRESS = "cli"
MAX_ADDRESS_LENGTH = 64  # what audit_events.client_address holds: any IPv6 address with a zone
MAX_USER_AGENT_LENGTH = 255


@dataclass
class RequestOrigin:
    """Where the request being served comes from, stamped by AuditTrail on every event it records.

    The entrypoint provides one per request, so no feature passes it along: the web app from the
    connection (entrypoints/web/wiring.py), the operator's command line as ``command_line()``. It
    is not frozen for one reason: the SCIM API learns which token acts only once it has
    authenticated it, and sets ``token_id`` then; every event of that request is the token's doing.
    """

    client_address: str | None = None
    user_agent: str | None = None
    token_id: str | None = None

    @classmethod
    def command_line(cls) -> RequestOrigin:
        return cls(CLI_ADDRESS)


def loggable(value: str | None, limit: int) -> str | None:
    """What a client sent (a header, a typed email) as the log keeps it: one line of storable text
    that fits its column. A client sends what it likes; an odd character becomes "?"."""
    if not value:
        return None
    return "".join(ch if is_one_line(ch) else "?" for ch in value[:limit])


@dataclass(eq=False)
class AuditEvent:
    tenant_id: str
    kind: str
    at: datetime
    summary: str
    actor_id: str | None = None  # the person who acted, or for whom the acting SCIM token acts
    subject_id: str | None = None  # whom the event is about, if anyone
    actor_token_id: str | None = None  # the SCIM token that acted, if one did
    client_address: str | None = None  # CLI_ADDRESS for the operator's command line
    user_agent: str | None = None
    id: str = field(default_factory=new_id)


@dataclass(frozen=True)
class AuditQuery:
    """Which of a tenant's events to list; a criterion left at None lets every event through."""

    kinds: tuple[str, ...] | None = None
    people: frozenset[str] | None = None  # practitioner ids, each matching as actor or as subject
    since: datetime | None = None  # from this moment on
    until: datetime | None = None  # before this moment


_CURSOR = re.compile(r"^([0-9]{20})-([0-9A-Za-z]{1,32})$")


@dataclass(frozen=True)
class AuditCursor:
    """Where a page ended: the next page holds the events before this (time, id). Events at the
    same moment are ordered by id, so no page boundary skips or repeats one."""

    at: datetime
    id: str

    @classmethod
    def after(cls, event: AuditEvent) -> AuditCursor:
        return cls(event.at, event.id)

    def text(self) -> str:
        return f"{self.at.astimezone(timezone.utc):%Y%m%d%H%M%S%f}-{self.id}"

    @classmethod
    def parse(cls, text: str) -> AuditCursor:
        found = _CURSOR.match(text)
        try:
            if found is None:
                raise ValueError(text)
            at = datetime.strptime(found.group(1), "%Y%m%d%H%M%S%f").replace(tzinfo=timezone.utc)
        except ValueError:
            raise InvalidValue("before", N_("that page link is broken; start again from the newest events")) from None
        return cls(at, found.group(2))


class AuditLog(Protocol):
    def record(self, event: AuditEvent) -> None: ...

    def page(self, tenant_id: str, query: AuditQuery, before: AuditCursor | None, limit: int) -> list[AuditEvent]:
        """Up to ``limit`` of the tenant's events that meet ``query``, newest first (at the same
        moment, the higher id first), and only those before ``before`` when it is given."""


@dataclass(frozen=True)
class AuditTrail:
    """The one way a feature writes an event: stamped with the tenant, the current time and the
    request's origin. Callers name who acted (``actor_id``) and whom it is about (``subject_id``)."""

    _log: AuditLog
    _clock: Clock
    _origin: RequestOrigin

    def record(
        self, tenant: Tenant, kind: str, summary: str, actor_id: str | None = None, *, subject_id: str | None = None
    ) -> None:
        origin = self._origin
        self._log.record(
            AuditEvent(
                tenant.id,
                kind,
                self._clock.now(),
                summary,
                actor_id,
                subject_id=subject_id,
                actor_token_id=origin.token_id,
                client_address=loggable(origin.client_address, MAX_ADDRESS_LENGTH),
                user_agent=loggable(origin.user_agent, MAX_USER_AGENT_LENGTH),
            )
        )


# ---- reading the trail ------------------------------------------------------------------------

PAGE_SIZE = 50
EXPORT_BATCH = 500  # events read at a time for a download: memory stays bounded whatever the volume
MAX_PEOPLE = 100  # practitioners a person filter may name; more, and the admin types more of the name
NOBODY = "—"
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class ListedEvent:
    """An event as the audit page and its download show it, with the people named."""

    event: AuditEvent
    label: str
    who: str  # the actor's email, the SCIM token (and for whom it acts), or NOBODY
    about: str  # the subject's email, or NOBODY


@dataclass(frozen=True)
class AuditPage:
    events: list[ListedEvent]
    older: AuditCursor | None  # where the next, older page starts; None on the last page


def _day(text: str, field_name: str, not_a_date: str) -> date | None:
    """The day ``text`` names, None for no text; ``not_a_date`` is the whole sentence refusing it."""
    text = text.strip()
    if not text:
        return None
    try:
        if not _DAY.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValue(field_name, not_a_date) from None


def _midnight(day: date, zone: tzinfo) -> datetime | None:
    """The moment ``day`` begins on the practice's clock, in UTC; None (an open end) where that is
    beyond what a datetime holds, on the calendar's first and last days."""
    try:
        return datetime.combine(day, time(), zone).astimezone(timezone.utc)
    except OverflowError:
        return None


def _whole_days(text: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 6):
        raise InvalidValue("audit_retention_days", N_("give a whole number of days, such as 365"))
    return int(text)


@dataclass(frozen=True)
class AuditReport:
    """The audit page: a practice's events filtered and paged by time, their download, and how
    long they are kept. The pages' ACL lets only the owner and holders of the Authentication
    right in; changing the retention checks it again here, as every change does."""

    _log: AuditLog
    _practitioners: PractitionerRepository
    _tokens: ScimTokenRepository
    _audit: AuditTrail

    def query(self, tenant: Tenant, kind: str, person: str, first_day: str, last_day: str) -> AuditQuery:
        """The filter from what the admin typed: a kind, a person's email or name, a range of days on
        the practice's clock (``Tenant.zone``), the last one included."""
        since = _day(first_day, "from", N_("the first day is not a date; write it as YYYY-MM-DD, such as 2026-01-31"))
        last = _day(last_day, "to", N_("the last day is not a date; write it as YYYY-MM-DD, such as 2026-01-31"))
        if since is not None and last is not None and last < since:
            raise InvalidValue("to", N_("the last day is before the first day"))
        return AuditQuery(
            kinds_like(kind) if kind else None,
            self._people(tenant, person.strip()),
            _midnight(since, tenant.zone) if since is not None else None,
            _midnight(last + timedelta(days=1), tenant.zone) if last is not None and last < date.max else None,
        )

    def _people(self, tenant: Tenant, person: str) -> frozenset[str] | None:
        if not person:
            return None
        if len(person) > 254:
            raise InvalidValue("person", N_("type at most 254 characters of a name or an email"))
        found = self._practitioners.search(tenant.id, person, 0, MAX_PEOPLE)
        if found.total > MAX_PEOPLE:
            raise InvalidValue(
                "person", N_("more than %(count)s people match; type more of the name or email", count=MAX_PEOPLE)
            )
        return frozenset(p.id for p in found.items)

    def page(self, tenant: Tenant, query: AuditQuery, before: AuditCursor | None) -> AuditPage:
        """A page of events, newest first; one more is read to know whether an older page exists."""
        if query.people == frozenset():  # a person was asked for, and nobody has that name or email
            return AuditPage([], None)
        events = self._log.page(tenant.id, query, before, PAGE_SIZE + 1)
        shown = events[:PAGE_SIZE]
        return AuditPage(self._listed(tenant, shown), AuditCursor.after(shown[-1]) if len(events) > PAGE_SIZE else None)

    def export(self, tenant: Tenant, query: AuditQuery) -> Iterator[ListedEvent]:
        """Every event the query finds, newest first, read a batch at a time."""
        before = None
        while query.people != frozenset():
            batch = self._log.page(tenant.id, query, before, EXPORT_BATCH)
            yield from self._listed(tenant, batch)
            if len(batch) < EXPORT_BATCH:
                return
            before = AuditCursor.after(batch[-1])

    def _listed(self, tenant: Tenant, events: list[AuditEvent]) -> list[ListedEvent]:
        ids = {e.actor_id for e in events if e.actor_id} | {e.subject_id for e in events if e.subject_id}
        emails = {p.id: p.email for p in self._practitioners.get_many(tenant.id, ids)} if ids else {}
        tokens = {t.id: t.name for t in self._tokens.list(tenant.id)} if any(e.actor_token_id for e in events) else {}
        return [
            ListedEvent(e, kind_label(e.kind), _who(e, emails, tokens), _person(e.subject_id, emails)) for e in events
        ]

    def keep_events_for(self, actor: Practitioner, tenant: Tenant, days: str) -> None:
        """Events older than this many days go at the next clean-up (the worker's, or `purge`)."""
        Authority.of(actor, tenant).require_may_administer_authentication(
            N_("only the account owner or someone with the Authentication right decides this")
        )
        was = tenant.audit_retention_days
        tenant.keep_audit_events_for(_whole_days(days))
        if tenant.audit_retention_days != was:
            summary = Nn_(
                "audit events are kept for %(count)s day (were %(was)s)",
                "audit events are kept for %(count)s days (were %(was)s)",
                tenant.audit_retention_days,
                was=was,
            )
            self._audit.record(tenant, AuditKind.SETTINGS_CHANGED, summary, actor.id)


def _person(practitioner_id: str | None, emails: dict[str, str]) -> str:
    if practitioner_id is None:
        return NOBODY
    return emails.get(practitioner_id, N_("a deleted practitioner"))


def _who(event: AuditEvent, emails: dict[str, str], tokens: dict[str, str]) -> str:
    if event.actor_token_id is not None:
        token = tokens.get(event.actor_token_id)
        if event.actor_id is None:
            return N_("SCIM token %(name)r", name=token) if token is not None else N_("a SCIM token")
        person = _person(event.actor_id, emails)
        if token is None:
            return N_("a SCIM token for %(person)s", person=person)
        return N_("SCIM token %(name)r for %(person)s", name=token, person=person)
    if event.actor_id is None and event.client_address == CLI_ADDRESS:
        return N_("the operator (command line)")
    return _person(event.actor_id, emails)
