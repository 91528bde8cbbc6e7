"""In-memory implementations of the domain's ports. tests/contract keeps them honest."""

from __future__ import annotations

import hashlib
import itertools
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from domain.sso.challenge import LinkChallenge
from domain.errors import (
    EmailAlreadyRegistered,
    Message,
    VersionMismatch,
    IdentityRejected,
    NotUnique,
    ProviderUnavailable,
    TenantAlreadyExists,
    UnsafeUrl,
)
from domain.passwords.reset_token import PasswordResetToken
from domain.practitioners.practitioner import Practitioner, fold_user_name
from domain.tenancy.tenant import Tenant
from domain import ports
from domain.throttle import Throttle, ThrottleRule
from domain.ports import MailMessage, Page
from domain.provisioning.bearer_token import ScimToken
from domain.provisioning.scim_group import GroupQuery, Membership, ScimGroup
from domain.provisioning.scim_user import ScimQuery
from domain.audit import AuditCursor, AuditEvent, AuditLog, AuditQuery
from domain.sso import checks
from domain.sso.checks import Diagnosis
from domain.sso.identity import IdentityLink, ProviderSession, VerifiedIdentity
from domain.sso.provider import DiscoveredConfiguration, IdentityProvider
from domain.sso.redemption import CodeRedemption
from domain.practitioners.practitioner import LoginMethod


class FakeTenantRepository:
    def __init__(self) -> None:
        self._by_id: dict[str, Tenant] = {}

    def add(self, tenant: Tenant) -> None:
        if self.get_by_slug(tenant.slug) is not None:
            raise TenantAlreadyExists(tenant.slug)
        self._by_id[tenant.id] = tenant

    def get(self, tenant_id: str) -> Tenant | None:
        return self._by_id.get(tenant_id)

    def get_by_slug(self, slug: str) -> Tenant | None:
        return next((t for t in self._by_id.values() if t.slug == slug), None)

    def list(self) -> list[Tenant]:
        return sorted(self._by_id.values(), key=lambda t: t.slug)

    def lock(self, tenant: Tenant) -> None:
        """In memory one change runs at a time: there is nothing to wait for or read again."""


class FakePractitionerRepository:
    def __init__(self) -> None:
        self._by_id: dict[str, Practitioner] = {}

    def add(self, practitioner: Practitioner) -> None:
        if self.get_by_email(practitioner.tenant_id, practitioner.email) is not None:
            raise EmailAlreadyRegistered(practitioner.email)
        key = practitioner.user_name_key
        if any(p.tenant_id == practitioner.tenant_id and p.user_name_key == key for p in self._by_id.values()):
            if practitioner.user_name is not None:
                raise NotUnique("userName", practitioner.user_name)
            raise EmailAlreadyRegistered(practitioner.email)
        self._by_id[practitioner.id] = practitioner

    def get(self, tenant_id: str, practitioner_id: str) -> Practitioner | None:
        found = self._by_id.get(practitioner_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    def get_by_email(self, tenant_id: str, email: str) -> Practitioner | None:
        return next(
            (p for p in self._by_id.values() if p.tenant_id == tenant_id and p.email == email),
            None,
        )

    def get_many(self, tenant_id: str, practitioner_ids: set[str]) -> list[Practitioner]:
        return [p for p in self._by_id.values() if p.tenant_id == tenant_id and p.id in practitioner_ids]

    def scim_search(self, tenant_id: str, query: ScimQuery, offset: int, limit: int) -> tuple[list[Practitioner], int]:
        def meets(p: Practitioner) -> bool:
            return (
                p.tenant_id == tenant_id
                and (query.user_name is None or p.user_name_key == fold_user_name(query.user_name))
                and (query.external_id is None or p.external_id == query.external_id)
                and (query.email is None or p.email == query.email)
                and (query.active is None or p.active is query.active)
            )

        found = sorted((p for p in self._by_id.values() if meets(p)), key=lambda p: (p.created_at, p.id))
        return found[offset : offset + limit], len(found)

    def remove(self, practitioner: Practitioner) -> None:
        self._by_id.pop(practitioner.id, None)

    def get_owner(self, tenant_id: str) -> Practitioner | None:
        return next((p for p in self._by_id.values() if p.tenant_id == tenant_id and p.is_owner), None)

    def search(self, tenant_id: str, query: str, offset: int, limit: int) -> Page:
        needle = query.lower()
        matches = sorted(
            (
                p
                for p in self._by_id.values()
                if p.tenant_id == tenant_id and any(needle in v.lower() for v in (p.email, p.first_name, p.last_name))
            ),
            key=lambda p: (p.last_name.lower(), p.first_name.lower(), p.email),
        )
        return Page(items=matches[offset : offset + limit], total=len(matches))


class FakePasswordResetTokenRepository:
    def __init__(self) -> None:
        self.tokens: list[PasswordResetToken] = []

    def add(self, token: PasswordResetToken) -> None:
        self.tokens.append(token)

    def get_by_digest(self, tenant_id: str, token_digest: str) -> PasswordResetToken | None:
        return next(
            (t for t in self.tokens if t.tenant_id == tenant_id and t.token_digest == token_digest),
            None,
        )

    def discard_open(self, tenant_id: str, practitioner_id: str, purposes: tuple[str, ...] | None = None) -> None:
        self.tokens = [
            t
            for t in self.tokens
            if not (
                t.tenant_id == tenant_id
                and t.practitioner_id == practitioner_id
                and t.used_at is None
                and (purposes is None or t.purpose in purposes)
            )
        ]

    def claim(self, tenant_id: str, token_digest: str) -> PasswordResetToken | None:
        return self.get_by_digest(tenant_id, token_digest)

    def latest(self, tenant_id: str, purpose: str) -> PasswordResetToken | None:
        sent = [t for t in self.tokens if t.tenant_id == tenant_id and t.purpose == purpose]
        return max(sent, key=lambda t: t.expires_at, default=None)


class FakeThrottle:
    """Each bucket's (uses, window opened at). A lock makes every call one indivisible step, as
    the database's conditional upsert is, so threads cannot overshoot a limit here either."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, tuple[int, datetime]] = {}

    def take(self, bucket: str, rule: ThrottleRule, now: datetime) -> bool:
        with self._lock:
            uses, opened_at = self.counters.get(bucket, (0, now))
            if rule.window_closed(opened_at, now):
                uses, opened_at = 0, now
            if uses >= rule.max_uses:
                return False
            self.counters[bucket] = (uses + 1, opened_at)
            return True

    def give_back(self, bucket: str) -> None:
        with self._lock:
            if bucket in self.counters:
                uses, opened_at = self.counters[bucket]
                self.counters[bucket] = (max(uses - 1, 0), opened_at)

    def clear(self, bucket: str) -> None:
        with self._lock:
            self.counters.pop(bucket, None)


@dataclass(frozen=True)
class OpenSession:
    tenant_id: str
    practitioner_id: str | None  # None: nobody logged in yet
    method: LoginMethod | None
    through: ProviderSession | None = None


class FakeSessionRevocation:
    """The browser sessions that are open, by id: a test opens them, the domain ends them."""

    def __init__(self) -> None:
        self.open: dict[str, OpenSession] = {}
        self._ids = itertools.count(1)

    def open_session(
        self,
        tenant_id: str,
        practitioner_id: str | None,
        method: LoginMethod | None = LoginMethod.PASSWORD,
        through: ProviderSession | None = None,
    ) -> str:
        session_id = f"session-{next(self._ids)}"
        self.open[session_id] = OpenSession(tenant_id, practitioner_id, method, through)
        return session_id

    def is_open(self, session_id: str) -> bool:
        return session_id in self.open

    def end_sessions_of(self, tenant_id: str, practitioner_id: str) -> None:
        mine = (tenant_id, practitioner_id)
        self.open = {k: s for k, s in self.open.items() if (s.tenant_id, s.practitioner_id) != mine}

    def end_sessions_opened_by(self, tenant_id: str, method: LoginMethod) -> None:
        self.open = {k: s for k, s in self.open.items() if (s.tenant_id, s.method) != (tenant_id, method)}

    def end_provider_sessions(self, tenant_id: str, provider_id: str, sid: str | None, subject: str | None) -> int:
        def named(s: OpenSession) -> bool:
            through = s.through
            if s.tenant_id != tenant_id or through is None or through.provider_id != provider_id:
                return False
            return (
                (sid is not None or subject is not None)
                and sid in (None, through.sid)
                and subject in (None, through.subject)
            )

        before = len(self.open)
        self.open = {k: s for k, s in self.open.items() if not named(s)}
        return before - len(self.open)

    def stop_following(self, tenant_id: str, provider_id: str) -> int:
        def follows(s: OpenSession) -> bool:
            return s.tenant_id == tenant_id and s.through is not None and s.through.provider_id == provider_id

        following = {k for k, s in self.open.items() if follows(s)}
        self.open = {k: replace(s, through=None) if k in following else s for k, s in self.open.items()}
        return len(following)


class FakeLogoutTokenReplays:
    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], datetime] = {}

    def first_use(self, tenant_id: str, provider_id: str, jti_digest: str, until: datetime) -> bool:
        if (provider_id, jti_digest) in self.seen:
            return False
        self.seen[(provider_id, jti_digest)] = until
        return True


class FakePasswordHasher:
    """Transparent but honest: verify succeeds only for the password that was hashed."""

    def __init__(self, version: int = 1) -> None:
        self.version = version
        self.dummy_verifications = 0

    def hash(self, password: str) -> str:
        return f"v{self.version}${hashlib.sha256(password.encode()).hexdigest()}"

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash.split("$", 1)[1] == hashlib.sha256(password.encode()).hexdigest()

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"v{self.version}$")

    def spend_verify_time(self, password: str) -> None:
        self.dummy_verifications += 1


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[MailMessage] = []

    def send(self, message: MailMessage) -> None:
        self.sent.append(message)


class FakeTranslator:
    """A catalog in a dict, per language: a msgid says its translation (a plural msgid its two
    forms, the singular for a count of 1, as in German, Dutch and English), filled in with the
    Message's values; an unknown msgid, an unknown language and English say the English."""

    def __init__(self) -> None:
        self._catalogs: dict[str, dict[str, str | tuple[str, str]]] = {}

    def learn(self, language: str, msgid: str, said: str | tuple[str, str]) -> None:
        self._catalogs.setdefault(language, {})[msgid] = said

    def say(self, text: str, language: str) -> str:
        if not isinstance(text, Message):
            return text
        found = self._catalogs.get(language, {}).get(text.msgid)
        if found is None:
            return str(text)
        form = found if isinstance(found, str) else found[0 if text.number == 1 else 1]
        return form % text.values if text.values else form


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


class FakeTokenSource:
    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self.issued: list[str] = []

    def new_token(self, nbytes: int = 32) -> str:
        token = f"token-{next(self._counter):04d}-" + "x" * nbytes
        self.issued.append(token)
        return token

    def new_digits(self, count: int) -> str:
        code = f"{next(self._counter):0{count}d}"[-count:]
        self.issued.append(code)
        return code


class FakeLinks:
    def password_link(self, token: str) -> str:
        return f"https://acme.portal.test/password/reset/{token}"

    def email_change_link(self, token: str) -> str:
        return f"https://acme.portal.test/email/confirm/{token}"


class FakeRecoveryLinks:
    def recovery_link(self, tenant: Tenant, token: str) -> str:
        return f"https://{tenant.slug}.portal.test/recover/{token}"


class FakeIdentityProviderRepository:
    def __init__(self, links: "FakeIdentityLinkRepository | None" = None) -> None:
        self._by_id: dict[str, IdentityProvider] = {}
        self._links = links  # removing a provider removes its links, as the database cascades

    def remove(self, provider: IdentityProvider) -> None:
        self._by_id.pop(provider.id, None)
        if self._links is not None:
            self._links.links = [link for link in self._links.links if link.provider_id != provider.id]

    def add(self, provider: IdentityProvider) -> None:
        self._by_id[provider.id] = provider

    def get(self, tenant_id: str, provider_id: str) -> IdentityProvider | None:
        found = self._by_id.get(provider_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    def list(self, tenant_id: str) -> list[IdentityProvider]:
        return sorted(
            (p for p in self._by_id.values() if p.tenant_id == tenant_id),
            key=lambda p: (p.display_name.lower(), p.id),
        )


class FakeIdentityLinkRepository:
    def __init__(self) -> None:
        self.links: list[IdentityLink] = []

    def require_reconfirmation(self, tenant_id: str, provider_id: str) -> int:
        mine = [link for link in self.links if link.tenant_id == tenant_id and link.provider_id == provider_id]
        for link in mine:
            link.needs_reconfirmation = True
        return len(mine)

    def add(self, link: IdentityLink) -> None:
        self.links.append(link)

    def find(self, tenant_id: str, provider_id: str, issuer: str, subject: str) -> IdentityLink | None:
        key = (tenant_id, provider_id, issuer, subject)
        return next(
            (link for link in self.links if (link.tenant_id, link.provider_id, link.issuer, link.subject) == key), None
        )

    def of_practitioner(self, tenant_id: str, practitioner_id: str) -> list[IdentityLink]:
        return [link for link in self.links if link.tenant_id == tenant_id and link.practitioner_id == practitioner_id]

    def remove(self, link: IdentityLink) -> None:
        self.links.remove(link)


class FakeLinkChallengeRepository:
    def __init__(self) -> None:
        self.challenges: list[LinkChallenge] = []

    def add(self, challenge: LinkChallenge) -> None:
        self.challenges.append(challenge)

    def open_for(self, tenant_id: str, binding_digest: str) -> LinkChallenge | None:
        open_ones = [
            c
            for c in self.challenges
            if c.tenant_id == tenant_id and c.binding_digest == binding_digest and c.used_at is None
        ]
        return max(open_ones, key=lambda c: c.created_at, default=None)

    def discard_open(self, tenant_id: str, binding_digest: str) -> None:
        self.challenges = [
            c
            for c in self.challenges
            if not (c.tenant_id == tenant_id and c.binding_digest == binding_digest and c.used_at is None)
        ]


class FakeAuditLog:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    def page(self, tenant_id: str, query: AuditQuery, before: AuditCursor | None, limit: int) -> list[AuditEvent]:
        def meets(e: AuditEvent) -> bool:
            return (
                e.tenant_id == tenant_id
                and (query.kinds is None or e.kind in query.kinds)
                and (query.people is None or bool({e.actor_id, e.subject_id} & query.people))
                and (query.since is None or e.at >= query.since)
                and (query.until is None or e.at < query.until)
                and (before is None or (e.at, e.id) < (before.at, before.id))
            )

        return sorted(filter(meets, self.events), key=lambda e: (e.at, e.id), reverse=True)[:limit]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


class FakeSecretBox:
    def seal(self, secret: str) -> str:
        return "sealed:" + secret[::-1]

    def open(self, sealed: str) -> str:
        return sealed.removeprefix("sealed:")[::-1]


class FakeUrlSafety:
    """Refuses any URL whose host is listed in ``unsafe_hosts``."""

    def __init__(self) -> None:
        self.unsafe_hosts: set[str] = set()

    def check(self, url: str) -> None:
        from urllib.parse import urlsplit

        host = urlsplit(url).hostname or ""
        if host in self.unsafe_hosts:
            raise UnsafeUrl(url, f"{host} is a private address")


class FakeIdentityProviderClient:
    """Answers as a provider would; a test sets the identity or the failure of the next redeem."""

    def __init__(self) -> None:
        self.identity: VerifiedIdentity | None = None
        self.failure: Exception | None = None
        self.redeemed: list[CodeRedemption] = []
        self.documents: dict[str, DiscoveredConfiguration] = {}
        # Logout tokens a test made: each raw token's claims, and which of them a foreign key signed.
        self.tokens: dict[str, dict[str, Any]] = {}
        self.forged: set[str] = set()

    def end_session_url(
        self, provider: IdentityProvider, id_token_hint: str | None, post_logout_redirect_uri: str, state: str
    ) -> str:
        query = {"client_id": provider.settings.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        hint = {"id_token_hint": id_token_hint} if id_token_hint else {}
        return f"{provider.settings.end_session_endpoint}?{urlencode({**query, **hint, 'state': state})}"

    def unverified_claims(self, raw_token: str) -> dict[str, Any]:
        if raw_token not in self.tokens:
            raise IdentityRejected("the logout token is not a signed JWT")
        return self.tokens[raw_token]

    def signed_claims(self, provider: IdentityProvider, raw_token: str) -> dict[str, Any]:
        claims = self.unverified_claims(raw_token)
        if raw_token in self.forged:
            raise IdentityRejected("the logout token's signature is not valid")
        return claims

    def discover(self, issuer: str) -> DiscoveredConfiguration:
        if issuer not in self.documents:
            raise ProviderUnavailable("the issuer answered HTTP 404")
        return self.documents[issuer]

    def authorization_url(
        self,
        provider: IdentityProvider,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_challenge: str,
        login_hint: str | None = None,
        ui_locales: str | None = None,
    ) -> str:
        query = {
            "response_type": "code",
            "client_id": provider.settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": provider.settings.scope,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if provider.settings.protocol == "oidc":  # only an ID token would carry the nonce back
            query["nonce"] = nonce
        if provider.settings.domain_hint:
            query["domain_hint"] = provider.settings.domain_hint
        if login_hint:
            query["login_hint"] = login_hint
        if ui_locales:
            query["ui_locales"] = ui_locales
        return f"{provider.settings.authorization_endpoint}?{urlencode(query)}"

    def redeem(self, provider: IdentityProvider, redemption: CodeRedemption) -> VerifiedIdentity:
        self.redeemed.append(redemption)
        if self.failure is not None:
            raise self.failure
        if self.identity is None:
            raise IdentityRejected("no identity configured in the fake")
        return self.identity

    def diagnose(self, provider: IdentityProvider, redemption: CodeRedemption) -> Diagnosis:
        """What redeem would say, as checks: a failure at the token step (the provider was
        unavailable) or at the ID token (its answer failed verification)."""
        try:
            identity = self.redeem(provider, redemption)
        except (ProviderUnavailable, IdentityRejected) as failure:
            failed_step = checks.TOKEN if isinstance(failure, ProviderUnavailable) else checks.ID_TOKEN
            steps = checks.PROVIDER_STEPS
            reason = failure.reason if isinstance(failure, IdentityRejected) else str(failure)
            found = [checks.Check.passed(step, "passed") for step in steps[: steps.index(failed_step)]]
            found.append(checks.Check.failed(failed_step, reason))
            found += [checks.Check.skipped(step) for step in steps[steps.index(failed_step) + 1 :]]
            return checks.Diagnosis(tuple(found), None)
        return checks.Diagnosis(tuple(checks.Check.passed(step, "passed") for step in checks.PROVIDER_STEPS), identity)


class FakeScimTokenRepository:
    def __init__(self) -> None:
        self.tokens: list[ScimToken] = []

    def add(self, token: ScimToken) -> None:
        self.tokens.append(token)

    def get(self, tenant_id: str, token_id: str) -> ScimToken | None:
        return next((t for t in self.tokens if t.tenant_id == tenant_id and t.id == token_id), None)

    def get_by_digest(self, tenant_id: str, token_digest: str) -> ScimToken | None:
        return next((t for t in self.tokens if t.tenant_id == tenant_id and t.token_digest == token_digest), None)

    def list(self, tenant_id: str) -> list[ScimToken]:
        return sorted(
            (t for t in self.tokens if t.tenant_id == tenant_id), key=lambda t: (t.created_at, t.id), reverse=True
        )


class FakeScimGroupRepository:
    """Keeps copies, as a database keeps rows: a group changes here only when saved."""

    def __init__(self) -> None:
        self._rows: dict[str, ScimGroup] = {}

    def _clash(self, group: ScimGroup) -> None:
        if any(
            g.tenant_id == group.tenant_id and g.display_name_key == group.display_name_key and g.id != group.id
            for g in self._rows.values()
        ):
            raise NotUnique("displayName", group.display_name)

    def add(self, group: ScimGroup) -> None:
        self._clash(group)
        self._rows[group.id] = replace(group)

    def get(self, tenant_id: str, group_id: str) -> ScimGroup | None:
        found = self._rows.get(group_id)
        return replace(found) if found is not None and found.tenant_id == tenant_id else None

    def search(self, tenant_id: str, query: GroupQuery, offset: int, limit: int) -> tuple[list[ScimGroup], int]:
        def meets(g: ScimGroup) -> bool:
            return (
                g.tenant_id == tenant_id
                and (query.display_name is None or g.display_name_key == fold_user_name(query.display_name))
                and (query.external_id is None or g.external_id == query.external_id)
            )

        found = sorted((g for g in self._rows.values() if meets(g)), key=lambda g: (g.created_at, g.id))
        return [replace(g) for g in found[offset : offset + limit]], len(found)

    def save(self, group: ScimGroup) -> None:
        stored = self._rows.get(group.id)
        if stored is None or stored.version != group.version - 1:
            raise VersionMismatch()
        self._clash(group)
        self._rows[group.id] = replace(group)

    def remove(self, group: ScimGroup) -> None:
        self._rows.pop(group.id, None)

    def forget_member(self, practitioner_id: str) -> None:
        """What the database's cascade does when a practitioner is deleted."""
        for group in self._rows.values():
            group.member_ids -= {practitioner_id}

    def memberships(self, tenant_id: str, practitioner_ids: set[str]) -> dict[str, list[Membership]]:
        found: dict[str, list[Membership]] = {}
        for group in sorted(self._rows.values(), key=lambda g: (g.display_name.lower(), g.id)):
            for member in sorted(group.member_ids & practitioner_ids):
                if group.tenant_id == tenant_id:
                    found.setdefault(member, []).append(Membership(group.id, group.display_name))
        return found


# Each fake stands in for its port in the unit tests' world; `make typecheck` holds it to that port.
_tenants: type[ports.TenantRepository] = FakeTenantRepository
_practitioners: type[ports.PractitionerRepository] = FakePractitionerRepository
_reset_tokens: type[ports.PasswordResetTokenRepository] = FakePasswordResetTokenRepository
_throttle: type[Throttle] = FakeThrottle
_sessions: type[ports.SessionRevocation] = FakeSessionRevocation
_hasher: type[ports.PasswordHasher] = FakePasswordHasher
_mailer: type[ports.Mailer] = FakeMailer
_translator: type[ports.Translator] = FakeTranslator
_clock: type[ports.Clock] = FakeClock
_token_source: type[ports.TokenSource] = FakeTokenSource
_page_links: type[ports.Links] = FakeLinks
_recovery_links: type[ports.RecoveryLinks] = FakeRecoveryLinks
_providers: type[ports.IdentityProviderRepository] = FakeIdentityProviderRepository
_links: type[ports.IdentityLinkRepository] = FakeIdentityLinkRepository
_challenges: type[ports.LinkChallengeRepository] = FakeLinkChallengeRepository
_audit: type[AuditLog] = FakeAuditLog
_secret_box: type[ports.SecretBox] = FakeSecretBox
_url_safety: type[ports.UrlSafety] = FakeUrlSafety
_idp: type[ports.IdentityProviderClient] = FakeIdentityProviderClient
_logout_replays: type[ports.LogoutTokenReplays] = FakeLogoutTokenReplays
_scim_tokens: type[ports.ScimTokenRepository] = FakeScimTokenRepository
_scim_groups: type[ports.ScimGroupRepository] = FakeScimGroupRepository
