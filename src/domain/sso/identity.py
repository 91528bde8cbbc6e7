"""Who a provider says someone is, and the link from that identity to a practitioner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard

from domain.errors import N_, IdentityRejected, InvalidValue
from domain.identifiers import new_id
from domain.practitioners.email import normalize_email
from domain.tenancy.language import claimed_tag
from domain.text import document_problem, is_one_line

MAX_CLAIM_LENGTH = 255  # what web_sessions.provider_sid and provider_subject hold


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who the provider says this is, after every check passed. Keyed by issuer and subject."""

    issuer: str
    subject: str
    claims: Mapping[str, Any]
    # From the ID token only: the provider's session id (sid), which a back-channel logout names,
    # and the token itself, the hint of a logout at the provider. None without an ID token.
    sid: str | None = None
    id_token: str | None = None

    def __post_init__(self) -> None:
        # The provider's answer enters the domain here, so it is checked here, once: nothing
        # that follows stores or shows a claim that a database, a page or a mail cannot hold.
        for claim, value in (("iss", self.issuer), ("sub", self.subject)):
            if not is_one_line(value):
                raise IdentityRejected(N_("the %(claim)s claim is not one line of text", claim=claim))
        if self.sid is not None and not usable_claim(self.sid):
            raise IdentityRejected(
                N_("the sid claim is not a text of 1 to %(limit)s characters", limit=MAX_CLAIM_LENGTH)
            )
        problem = document_problem(self.claims)
        if problem is not None:
            raise IdentityRejected(N_("a claim cannot be kept: %(problem)s", problem=problem))

    @property
    def email(self) -> str | None:
        value = self.claims.get("email")
        return value if isinstance(value, str) else None

    @property
    def locale(self) -> str | None:
        """The ``locale`` claim as a language tag to keep as sent (``nl-NL``), or None when the
        provider sends none or nothing that fits (OpenID Connect Core 5.1)."""
        return claimed_tag(self.claims.get("locale"))

    @property
    def email_verified(self) -> bool:
        """Only a literal true counts: "false", "False", 1 or a missing claim do not."""
        return self.claims.get("email_verified") is True

    def vouches_for(self, email: str | None) -> bool:
        """Whether the provider vouches for ``email`` (a mapped value, in its stored form): its
        ``email_verified`` speaks of its ``email`` claim only, so another claim's address counts
        only when it is that same address. Used wherever a token's email becomes a proven one."""
        return self.email_verified and email is not None and email == _stored_form(self.email)


def usable_claim(value: object) -> TypeGuard[str]:
    """A sid or sub a session row can hold and a logout token can name: one line, 1-255 characters."""
    return isinstance(value, str) and 0 < len(value) <= MAX_CLAIM_LENGTH and is_one_line(value)


def _stored_form(email: str | None) -> str | None:
    try:
        return normalize_email(email or "")
    except InvalidValue:
        return None


@dataclass(frozen=True)
class ProviderSession:
    """A portal session opened through an identity provider: which one, the provider's session id
    (``sid``) and subject, and the raw ID token (the hint of a logout at the provider)."""

    provider_id: str
    subject: str
    sid: str | None = None
    id_token: str | None = None


@dataclass(eq=False)
class IdentityLink:
    """The link between a practitioner and an identity at a provider: (provider, issuer, sub)."""

    tenant_id: str
    practitioner_id: str
    provider_id: str
    issuer: str
    subject: str
    linked_at: datetime
    last_used_at: datetime | None = None
    # Set when the provider's issuer or client id changed: the next login confirms by code.
    needs_reconfirmation: bool = False
    id: str = field(default_factory=new_id)
