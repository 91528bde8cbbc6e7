"""A sign-in in progress, kept in the browser session: state, nonce and PKCE, and the identity
waiting for its one-time password."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from domain.errors import N_, SsoRefused
from domain.sso.identity import ProviderSession
from domain.sso.mirror import ProviderProfile
from domain.sso.provider import IdentityProvider
from domain.sso.redemption import CodeRedemption
from domain.tenancy.language import claimed_tag


LOGIN_LIFETIME = timedelta(minutes=10)

NOT_STARTED = N_("this sign-in was not started in this browser, or was already used; start again")
EXPIRED = N_("this sign-in has expired; start again with Single Sign On")


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _SessionRecord:
    """Something kept in the browser's session for at most LOGIN_LIFETIME."""

    started_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return now >= self.started_at + LOGIN_LIFETIME

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)  # type: ignore[call-overload]
        data["started_at"] = self.started_at.isoformat()
        return data  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls: type[_R], data: Mapping[str, Any]) -> _R:
        return cls(**{**data, "started_at": datetime.fromisoformat(data["started_at"])})


_R = TypeVar("_R", bound=_SessionRecord)


@dataclass(frozen=True)
class PendingLogin(_SessionRecord):
    """One authorization-code flow in progress, kept in the browser's session, used once."""

    tenant_id: str
    provider_id: str
    state: str
    nonce: str
    code_verifier: str
    next_path: str
    started_at: datetime
    # Set when a logged-in practitioner links a provider from their account.
    linking_practitioner_id: str | None = None
    # Set when an admin tests the provider (the admin's id): the callback logs nobody in, links
    # nothing, and answers only in this admin's session. A session from before reads as a login.
    tested_by: str | None = None

    def redemption(self, code: str, client_secret: str, redirect_uri: str) -> CodeRedemption:
        """The code as this login redeems it: with its own PKCE verifier and nonce."""
        return CodeRedemption(code, client_secret, self.code_verifier, redirect_uri, self.nonce)

    @property
    def is_test(self) -> bool:
        return self.tested_by is not None

    def accept(self, callback: Mapping[str, str], tenant_id: str, now: datetime) -> ProviderAnswer:
        """The callback answers this login only with its state, on its tenant, within its lifetime.

        What the answer says is checked against the provider afterwards (``code_for``): the
        provider is looked up only for a callback this browser is waiting for.
        """
        state = callback.get("state", "")
        if self.tenant_id != tenant_id or not hmac.compare_digest(self.state.encode(), state.encode()):
            raise SsoRefused(NOT_STARTED)
        if self.is_expired(now):
            raise SsoRefused(EXPIRED)
        return ProviderAnswer(callback)


@dataclass(frozen=True)
class ProviderAnswer:
    """The provider's redirect back to us, accepted as the answer to one pending login."""

    parameters: Mapping[str, str]

    def code_for(self, provider: IdentityProvider) -> str:
        """The authorization code to redeem, or the refusal the provider's answer amounts to."""
        error = self.parameters.get("error")
        if error:
            detail = self.parameters.get("error_description") or error
            raise SsoRefused(
                N_("%(provider)s did not sign you in: %(detail)s", provider=provider.display_name, detail=detail[:200])
            )
        # RFC 9207: a provider that names itself must be the one this login went to. A plain
        # OAuth 2.0 provider has no issuer configured to compare with.
        issuer = self.parameters.get("iss")
        if provider.settings.protocol == "oidc" and issuer is not None and issuer != provider.settings.issuer:
            raise SsoRefused(N_("the answer came from another identity provider than the one this sign-in went to"))
        code = self.parameters.get("code")
        if not code:
            raise SsoRefused(N_("%(provider)s sent no authorization code; start again", provider=provider.display_name))
        return code


@dataclass(frozen=True)
class PendingLink(_SessionRecord):
    """An identity that passed the provider's checks and waits for the one-time password.

    ``binding`` is a random value kept only in this browser's session: a code sent for it
    links nothing when typed into another browser. ``profile``: in pseudo-SSO, what the
    provider said of this person, mirrored once the code confirms the link (the session is
    kept on the server, so this personal data never travels in a cookie).
    """

    tenant_id: str
    provider_id: str
    issuer: str
    subject: str
    binding: str
    next_path: str
    started_at: datetime
    practitioner_id: str | None = None  # known when linking from account settings
    profile: ProviderProfile | None = None
    # Where the policy applies the provider's roles: the roles claim's values that the mapping
    # names (at most one per mapping row, so small), applied once the code confirms the link.
    roles: tuple[str, ...] | None = None
    # The provider's ``locale`` claim (VerifiedIdentity.locale), kept once the code confirms the link.
    locale: str | None = None
    # The ID token's sid and the token itself: the session a confirmed login opens remembers them.
    sid: str | None = None
    id_token: str | None = None

    def provider_session(self) -> ProviderSession:
        """What the session a confirmed login opens remembers of the provider."""
        return ProviderSession(self.provider_id, self.subject, self.sid, self.id_token)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "profile": None if self.profile is None else self.profile.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PendingLink:
        profile, roles = data.get("profile"), data.get("roles")
        if roles is not None and not (isinstance(roles, list) and all(isinstance(r, str) for r in roles)):
            raise TypeError("the roles are not a list of texts")
        if claimed_tag(data.get("locale")) != data.get("locale"):
            raise TypeError("the locale is not a language tag")
        return super().from_dict(
            {
                **data,
                "profile": None if profile is None else ProviderProfile.from_dict(profile),
                "roles": None if roles is None else tuple(roles),
            }
        )
