"""What the domain needs from outside. Adapters implement these; tests/fakes.py fakes them.

Every repository method that reads practitioner data takes the tenant id: a port cannot be
asked for another tenant's rows by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from collections.abc import Mapping
from typing import Any, Protocol

from domain.passwords.reset_token import PasswordResetToken
from domain.practitioners.practitioner import LoginMethod, Practitioner
from domain.provisioning.bearer_token import ScimToken
from domain.provisioning.scim_group import GroupQuery, Membership, ScimGroup
from domain.provisioning.scim_user import ScimQuery
from domain.sso.challenge import LinkChallenge
from domain.sso.checks import Diagnosis
from domain.sso.identity import IdentityLink, VerifiedIdentity
from domain.sso.provider import DiscoveredConfiguration, IdentityProvider
from domain.sso.redemption import CodeRedemption
from domain.tenancy.tenant import Tenant


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

    def lock(self, tenant: Tenant) -> None:
        """Holds the tenant's row until the unit of work ends, and has everything this unit of work
        read before read again as now committed: of concurrent changes to a practice's ways in (its
        login policy, its providers), each decides on what the one before it left."""


class PractitionerRepository(Protocol):
    def add(self, practitioner: Practitioner) -> None:
        """Raises EmailAlreadyRegistered when the tenant has that email already, and
        NotUnique("userName") when its user_name_key is another's there (EmailAlreadyRegistered
        when it has no userName: its email is its userName). Concurrent duplicates raise too."""

    def get(self, tenant_id: str, practitioner_id: str) -> Practitioner | None: ...

    def get_by_email(self, tenant_id: str, email: str) -> Practitioner | None:
        """``email`` is already normalized (see domain.practitioners.email.normalize_email)."""

    def get_many(self, tenant_id: str, practitioner_ids: set[str]) -> list[Practitioner]:
        """Those of the ids that are practitioners of this tenant, in one lookup."""

    def get_owner(self, tenant_id: str) -> Practitioner | None: ...

    def scim_search(self, tenant_id: str, query: ScimQuery, offset: int, limit: int) -> tuple[list[Practitioner], int]:
        """Practitioners meeting every criterion: userName without case, email in its stored form
        (``query.email`` is already normalized, see domain.practitioners.email.normalize_email)."""

    def remove(self, practitioner: Practitioner) -> None:
        """Deletes the practitioner with their links, challenges and sessions."""

    def search(self, tenant_id: str, query: str, offset: int, limit: int) -> Page:
        """Practitioners whose email or name contains ``query`` (any case), by last name."""


class PasswordResetTokenRepository(Protocol):
    def add(self, token: PasswordResetToken) -> None: ...

    def get_by_digest(self, tenant_id: str, token_digest: str) -> PasswordResetToken | None: ...

    def discard_open(self, tenant_id: str, practitioner_id: str, purposes: tuple[str, ...] | None = None) -> None:
        """Forget every unused link of the practitioner (a newer one supersedes them), or only
        those of these purposes."""

    def claim(self, tenant_id: str, token_digest: str) -> PasswordResetToken | None:
        """The link about to be redeemed: read afresh and locked until the unit of work ends, so of
        concurrent redemptions of one link each sees the one before it."""

    def latest(self, tenant_id: str, purpose: str) -> PasswordResetToken | None:
        """The tenant's most recently sent link of this purpose, used or not, while it is kept."""


class SessionRevocation(Protocol):
    def end_sessions_of(self, tenant_id: str, practitioner_id: str) -> None:
        """Ends every open browser session of the practitioner."""

    def end_sessions_opened_by(self, tenant_id: str, method: LoginMethod) -> None:
        """Ends every session of the tenant that was opened this way (a password, say)."""

    def end_provider_sessions(self, tenant_id: str, provider_id: str, sid: str | None, subject: str | None) -> int:
        """Ends the tenant's sessions opened through the provider with that provider session id
        and subject (each only where given; at least one is); returns how many ended."""

    def stop_following(self, tenant_id: str, provider_id: str) -> int:
        """The tenant's sessions opened through the provider stay open but no longer follow it: their
        logout stays in the portal, no logout token names them, and their ID token is forgotten;
        returns how many."""


class LogoutTokenReplays(Protocol):
    def first_use(self, tenant_id: str, provider_id: str, jti_digest: str, until: datetime) -> bool:
        """Remembers a logout token's jti until ``until``; False when it was seen before, also
        when a concurrent request recorded it first (exactly one of them is the first)."""


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...

    def spend_verify_time(self, password: str) -> None:
        """Does the work of one verify, so a missing account answers in the same time."""


class Translator(Protocol):
    def say(self, text: str, language: str) -> str:
        """``text`` in ``language`` (en, de, nl): a ``domain.errors.Message`` translated (its English
        where the catalog has none), with the values that are Messages translated too; any other
        text as it is."""


class Mailer(Protocol):
    def send(self, message: MailMessage) -> None:
        """Queues the message; it leaves only if the unit of work commits."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""


class TokenSource(Protocol):
    def new_token(self, nbytes: int = 32) -> str:
        """A URL-safe token from a CSPRNG."""

    def new_digits(self, count: int) -> str:
        """A code of ``count`` decimal digits from a CSPRNG."""


class Links(Protocol):
    """Absolute links into the tenant's instance, for mail."""

    def password_link(self, token: str) -> str: ...

    def email_change_link(self, token: str) -> str:
        """The link that proves a new email address (mailed to that address)."""


class RecoveryLinks(Protocol):
    """The owner's recovery link: the operator's command line sends it, outside any request to the
    instance, so the tenant is named rather than taken from a request."""

    def recovery_link(self, tenant: Tenant, token: str) -> str: ...


class IdentityProviderRepository(Protocol):
    def add(self, provider: IdentityProvider) -> None: ...

    def get(self, tenant_id: str, provider_id: str) -> IdentityProvider | None: ...

    def list(self, tenant_id: str) -> list[IdentityProvider]:
        """The tenant's providers, by display name."""

    def remove(self, provider: IdentityProvider) -> None:
        """Removes the provider with its links and pending challenges."""


class IdentityLinkRepository(Protocol):
    def add(self, link: IdentityLink) -> None: ...

    def find(self, tenant_id: str, provider_id: str, issuer: str, subject: str) -> IdentityLink | None: ...

    def of_practitioner(self, tenant_id: str, practitioner_id: str) -> list[IdentityLink]: ...

    def remove(self, link: IdentityLink) -> None: ...

    def require_reconfirmation(self, tenant_id: str, provider_id: str) -> int:
        """Marks every link of the provider as waiting for re-confirmation; returns how many."""


class LinkChallengeRepository(Protocol):
    def add(self, challenge: LinkChallenge) -> None: ...

    def open_for(self, tenant_id: str, binding_digest: str) -> LinkChallenge | None:
        """The newest unused challenge sent for this browser's pending link, held for this unit
        of work: a concurrent open_for of it waits until this one ends, then sees its changes."""

    def discard_open(self, tenant_id: str, binding_digest: str) -> None: ...


class SecretBox(Protocol):
    """Seals secrets (client secrets) for storage; only the box can open them again."""

    def seal(self, secret: str) -> str: ...

    def open(self, sealed: str) -> str: ...


class UrlSafety(Protocol):
    def check(self, url: str) -> None:
        """Raises UnsafeUrl when the server must not fetch this URL (SSRF)."""


class IdentityProviderClient(Protocol):
    """The OpenID Connect Relying Party. Every failure is ProviderUnavailable or IdentityRejected."""

    def discover(self, issuer: str) -> DiscoveredConfiguration: ...

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
        """Where the browser goes: the provider's scopes and domain hint from its settings, and
        ``login_hint`` when given (ProviderSettings.login_hint decides); ``ui_locales`` (the
        language of the page the practitioner came from) when given."""

    def redeem(self, provider: IdentityProvider, redemption: CodeRedemption) -> VerifiedIdentity:
        """Exchanges the code and returns the identity only after every check passed."""

    def diagnose(self, provider: IdentityProvider, redemption: CodeRedemption) -> Diagnosis:
        """An admin's test sign-in: the checks ``redeem`` makes, each reported passed, failed or
        skipped in an admin's words, and the identity only when none failed. Never raises for
        what the provider answers."""

    def end_session_url(
        self, provider: IdentityProvider, id_token_hint: str | None, post_logout_redirect_uri: str, state: str
    ) -> str:
        """Where logout sends the browser: the provider's end-session endpoint with the hint, the
        client id, where to come back to and the state (RP-Initiated Logout 1.0, 2)."""

    def unverified_claims(self, raw_token: str) -> Mapping[str, Any]:
        """The claims a signed JWT states, NOT verified: only to choose whose keys check it.
        IdentityRejected when it is not a signed JWT with a JSON object as claims."""

    def signed_claims(self, provider: IdentityProvider, raw_token: str) -> Mapping[str, Any]:
        """The claims of a JWT signed by one of the provider's published keys (an unknown key id
        refreshes them once, as for ID tokens); IdentityRejected otherwise. Claims unchecked."""


class ScimTokenRepository(Protocol):
    def add(self, token: ScimToken) -> None: ...

    def get(self, tenant_id: str, token_id: str) -> ScimToken | None: ...

    def get_by_digest(self, tenant_id: str, token_digest: str) -> ScimToken | None: ...

    def list(self, tenant_id: str) -> list[ScimToken]:
        """The tenant's tokens, newest first, revoked ones included."""


class ScimGroupRepository(Protocol):
    def add(self, group: ScimGroup) -> None:
        """Raises NotUnique("displayName") when another group of the tenant has its display_name_key,
        also when a concurrent request took it first."""

    def get(self, tenant_id: str, group_id: str) -> ScimGroup | None: ...

    def search(self, tenant_id: str, query: GroupQuery, offset: int, limit: int) -> tuple[list[ScimGroup], int]:
        """Groups meeting every criterion, oldest first, and how many there are."""

    def save(self, group: ScimGroup) -> None:
        """Writes a group changed by ScimGroup.apply. Raises NotUnique("displayName") as ``add`` does,
        and VersionMismatch when another request changed it since it was read."""

    def remove(self, group: ScimGroup) -> None: ...

    def memberships(self, tenant_id: str, practitioner_ids: set[str]) -> dict[str, list[Membership]]:
        """The groups of each of these practitioners (by display name), in one lookup; an id in no
        group has no entry."""
