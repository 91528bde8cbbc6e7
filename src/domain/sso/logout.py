"""Logout that follows the identity provider: the portal session remembers the provider's session
(``ProviderSession``); logout sends the browser on to the provider (OpenID Connect RP-Initiated
Logout 1.0: ``ProviderLogout``); the provider's own logouts end portal sessions (Back-Channel
Logout 1.0: ``LogoutToken``, ``BackChannelLogout``)."""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeGuard

from domain.audit import AuditKind, AuditTrail
from domain.errors import LogoutTokenRefused, N_, Nn_
from domain.identifiers import digest
from domain.ports import (
    Clock,
    IdentityProviderClient,
    IdentityProviderRepository,
    LogoutTokenReplays,
    SessionRevocation,
    TokenSource,
)
from domain.practitioners.practitioner import Practitioner
from domain.sso.identity import MAX_CLAIM_LENGTH, ProviderSession, usable_claim
from domain.sso.provider import IdentityProvider
from domain.tenancy.tenant import Tenant
from domain.text import is_storable

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
CLOCK_LEEWAY = timedelta(seconds=60)  # clock difference tolerated between us and the provider
# A logout token is sent the moment the provider's session ends: one issued longer ago than this
# is refused, so its jti needs remembering only this long (the replay store's expiry).
LOGOUT_TOKEN_MAX_AGE = timedelta(minutes=10)
# How long the browser may take at the provider's logout page before its return is not accepted.
PENDING_LOGOUT_LIFETIME = timedelta(minutes=30)


def is_instant(value: object) -> TypeGuard[int | float]:
    """A JSON number that can name a moment: not a bool (an int to Python), not NaN or infinite."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def audiences(claims: Mapping[str, Any]) -> list[str]:
    """The ``aud`` claim as a list: one audience or several."""
    audience = claims.get("aud")
    listed = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    return [name for name in listed if isinstance(name, str)]


@dataclass(frozen=True)
class PendingLogout:
    """A logout sent on to the provider: the state its return must bring back, and the URL."""

    state: str
    started_at: datetime
    url: str = ""

    def accepts(self, state: str, now: datetime) -> bool:
        """The same state (compared in constant time), back within PENDING_LOGOUT_LIFETIME."""
        same = hmac.compare_digest(state.encode(errors="surrogatepass"), self.state.encode())
        return same and self.started_at <= now <= self.started_at + PENDING_LOGOUT_LIFETIME

    def to_dict(self) -> dict[str, str]:
        return {"state": self.state, "started_at": self.started_at.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PendingLogout:
        started = datetime.fromisoformat(str(data["started_at"]))
        return cls(state=str(data["state"]), started_at=started.replace(tzinfo=started.tzinfo or timezone.utc))


@dataclass(frozen=True)
class ProviderLogout:
    """Logout: audited, and sent on to the provider's end-session endpoint when the session was
    opened there and the provider is set to log out too."""

    _providers: IdentityProviderRepository
    _client: IdentityProviderClient
    _token_source: TokenSource
    _audit: AuditTrail
    _clock: Clock

    def log_out(
        self, tenant: Tenant, practitioner: Practitioner, through: ProviderSession | None, return_uri: str
    ) -> PendingLogout | None:
        """The logout at the provider to send the browser to, or None: the logout stays here."""
        provider = self._providers.get(tenant.id, through.provider_id) if through is not None else None
        if through is None or provider is None or not provider.settings.logs_out_at_provider:
            summary = N_("%(email)s logged out", email=practitioner.email)
            self._audit.record(tenant, AuditKind.LOGGED_OUT, summary, practitioner.id, subject_id=practitioner.id)
            return None
        state = self._token_source.new_token()
        url = self._client.end_session_url(provider, through.id_token, return_uri, state)
        summary = N_(
            "%(email)s logged out, and is sent to log out at %(provider)s",
            email=practitioner.email,
            provider=provider.display_name,
        )
        self._audit.record(tenant, AuditKind.LOGGED_OUT, summary, practitioner.id, subject_id=practitioner.id)
        return PendingLogout(state, self._clock.now(), url)

    def came_back(self, pending: PendingLogout | None, state: str) -> bool:
        """Whether the provider's redirect brings back the state of the logout this browser began."""
        return pending is not None and pending.accepts(state, self._clock.now())


@dataclass(frozen=True)
class LogoutToken:
    """A back-channel logout token's claims after its signature held, each checked (Back-Channel
    Logout 1.0, 2.4 and 2.6): whose sessions it ends, and its jti against replays."""

    sid: str | None
    subject: str | None
    jti: str
    issued_at: datetime

    @classmethod
    def of(cls, claims: Mapping[str, Any], provider: IdentityProvider, now: datetime) -> LogoutToken:
        _check_sender(claims, provider)
        issued_at = _check_times(claims, now)
        _check_event(claims)
        sid, subject, jti = claims.get("sid"), claims.get("sub"), claims.get("jti")
        for name, value in (("sid", sid), ("sub", subject)):
            if value is not None and not usable_claim(value):
                raise LogoutTokenRefused(f"the {name} claim is not a text of 1 to {MAX_CLAIM_LENGTH} characters")
        if sid is None and subject is None:
            raise LogoutTokenRefused("the token names neither a session (sid) nor a subject (sub)")
        # storable: a lone surrogate (JSON's "\ud800") has no UTF-8 form for the replay store's digest
        if not isinstance(jti, str) or not jti or len(jti) > 1000 or not is_storable(jti):
            raise LogoutTokenRefused("the token has no usable jti")
        return cls(sid, subject, jti, issued_at)

    @property
    def remembered_until(self) -> datetime:
        """When its jti may be forgotten: later, the token is refused for its age anyway."""
        return self.issued_at + LOGOUT_TOKEN_MAX_AGE + CLOCK_LEEWAY


def _check_sender(claims: Mapping[str, Any], provider: IdentityProvider) -> None:
    if claims.get("iss") != provider.settings.issuer:
        raise LogoutTokenRefused("the token's issuer (iss) is not the provider's")
    if provider.settings.client_id not in audiences(claims):
        raise LogoutTokenRefused("the token is meant for another client (aud)")


def _check_times(claims: Mapping[str, Any], now: datetime) -> datetime:
    issued, expires = claims.get("iat"), claims.get("exp")
    if not is_instant(issued):
        raise LogoutTokenRefused("the token has no issue time (iat)")
    moment = now.timestamp()
    if issued > moment + CLOCK_LEEWAY.total_seconds():
        raise LogoutTokenRefused("the token was issued in the future (iat)")
    if issued < moment - (LOGOUT_TOKEN_MAX_AGE + CLOCK_LEEWAY).total_seconds():
        raise LogoutTokenRefused("the token was issued too long ago (iat)")
    # compared, never added to: a JSON integer beyond any float would overflow the sum
    if expires is not None and (not is_instant(expires) or expires <= moment - CLOCK_LEEWAY.total_seconds()):
        raise LogoutTokenRefused("the token has expired (exp)")
    return datetime.fromtimestamp(issued, timezone.utc)


def _check_event(claims: Mapping[str, Any]) -> None:
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise LogoutTokenRefused("the token has no back-channel logout event (events)")
    if "nonce" in claims:  # 2.4: a logout token must not be mistaken for an ID token, nor one for it
        raise LogoutTokenRefused("a logout token must not carry a nonce")


@dataclass(frozen=True)
class BackChannelLogout:
    """The provider says a session there ended: the portal sessions opened through it end too."""

    _providers: IdentityProviderRepository
    _client: IdentityProviderClient
    _replays: LogoutTokenReplays
    _sessions: SessionRevocation
    _audit: AuditTrail
    _clock: Clock

    def end_sessions(self, tenant: Tenant, raw_token: str) -> int:
        """Verifies the token completely and ends its sessions; returns how many ended."""
        provider = self._sender(tenant, self._client.unverified_claims(raw_token))
        now = self._clock.now()
        token = LogoutToken.of(self._client.signed_claims(provider, raw_token), provider, now)
        # the provider's id in the digest: one digest is one provider's jti, whichever provider says it
        jti_digest = digest(f"{provider.id} {token.jti}")
        if not self._replays.first_use(tenant.id, provider.id, jti_digest, token.remembered_until):
            raise LogoutTokenRefused("this token was used before (jti)")
        ended = self._sessions.end_provider_sessions(tenant.id, provider.id, token.sid, token.subject)
        summary = Nn_(
            "%(provider)s ended %(count)s session by back-channel logout",
            "%(provider)s ended %(count)s sessions by back-channel logout",
            ended,
            provider=provider.display_name,
        )
        self._audit.record(tenant, AuditKind.SSO_BACKCHANNEL_LOGOUT, summary)
        return ended

    def _sender(self, tenant: Tenant, unverified: Mapping[str, Any]) -> IdentityProvider:
        """The enabled OpenID Connect provider of this practice the token claims to come from and
        be for; only a choice of whose keys check it: every claim is checked once they have."""
        named = audiences(unverified)
        for provider in self._providers.list(tenant.id):
            settings = provider.settings
            if settings.enabled and settings.protocol == "oidc" and settings.issuer == unverified.get("iss"):
                if settings.client_id in named:
                    return provider
        raise LogoutTokenRefused("the token's issuer and audience name no enabled provider of this practice")
