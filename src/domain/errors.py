"""Errors the domain raises, and ``Message``: the words a person reads, in English, translatable.

The domain speaks English and never translates: a text meant for a person is a ``Message`` (made
with ``N_`` or, where a count decides the form, ``Nn_``), which is its English text as a ``str``
(so logs, the CLI and SCIM use it as it is) and keeps its message id and values, so an entrypoint
can say it in the reader's language (``domain.ports.Translator``). ``N_`` and ``Nn_`` are the
keywords the catalogs are extracted by (babel.cfg, ``make translations``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TypeVar

T = TypeVar("T")


class Message(str):
    """English text with what it takes to translate it.

    ``msgid`` is the catalog's key (``%(name)s`` placeholders), ``plural`` and ``number`` the
    plural form and the number that chooses between them, ``values`` what fills the placeholders.
    """

    __slots__ = ("msgid", "plural", "number", "values")
    msgid: str
    plural: str | None
    number: int | None
    values: Mapping[str, object]

    def __new__(
        cls, msgid: str, values: Mapping[str, object], plural: str | None = None, number: int | None = None
    ) -> Message:
        english = msgid if plural is None or number == 1 else plural
        self = super().__new__(cls, english % values if values else english)
        self.msgid, self.plural, self.number = msgid, plural, number
        self.values = MappingProxyType(dict(values))
        return self


def N_(msgid: str, **values: object) -> Message:
    """Marks ``msgid`` for translation; ``values`` fill its ``%(name)s`` placeholders."""
    return Message(msgid, values)


def Nn_(singular: str, plural: str, count: int, **values: object) -> Message:
    """Marks a text whose form depends on ``count`` (``%(count)s`` names it in the text)."""
    return Message(singular, {"count": count, **values}, plural, count)


def known(thing: T | None, missing: Callable[[], Exception]) -> T:
    """What a lookup found; when it found nothing (None), raises what ``missing`` makes, such as
    ``known(repository.get(tenant.id, group_id), UnknownGroup)``."""
    if thing is None:
        raise missing()
    return thing


class DomainError(Exception):
    """Base for every rule the domain refuses to break. ``str(err)`` is user-facing: the ``Message``
    it was raised with (not a plain copy, as ``Exception`` makes), so a page can translate it."""

    def __str__(self) -> str:
        said = self.args[0] if len(self.args) == 1 else None
        return said if isinstance(said, str) else super().__str__()


class InvalidValue(DomainError):
    """A value does not satisfy a rule (bad email, empty name, short password)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class EmailAlreadyRegistered(DomainError):
    def __init__(self, email: str) -> None:
        super().__init__(N_("%(email)s is already registered in this practice", email=email))
        self.email = email


class TenantAlreadyExists(DomainError):
    def __init__(self, slug: str) -> None:
        super().__init__(N_("an instance called %(slug)s already exists", slug=repr(slug)))
        self.slug = slug


class UnknownTenant(DomainError):
    def __init__(self, slug: str) -> None:
        super().__init__(N_("there is no instance called %(slug)s", slug=repr(slug)))
        self.slug = slug


class UnknownPractitioner(DomainError):
    def __init__(self) -> None:
        super().__init__(N_("that practitioner does not exist in this practice"))


class NotAllowed(DomainError):
    """The tenant's policy forbids the action (for example password login under restrict-to-SSO)."""


class ProtectedState(NotAllowed):
    """A change refused whoever asks, such as ending the account owner: a practice keeps its owner.

    ``attribute`` names the attribute whose change is refused (``active``), if there is one.
    """

    def __init__(self, message: str, attribute: str | None = None) -> None:
        super().__init__(message)
        self.attribute = attribute


class InvalidResetToken(DomainError):
    def __init__(self) -> None:
        super().__init__(N_("this link is invalid, already used or expired; ask for a new one"))


class LoginFailed(DomainError):
    """Wrong email or password. Deliberately says nothing about which one."""

    def __init__(self) -> None:
        super().__init__(N_("email or password is wrong"))


class LoginThrottled(DomainError):
    def __init__(self, minutes: int) -> None:
        super().__init__(
            Nn_(
                "too many failed attempts; wait %(count)s minute and try again, or reset your password",
                "too many failed attempts; wait %(count)s minutes and try again, or reset your password",
                minutes,
            )
        )
        self.minutes = minutes


class AccountDeactivated(DomainError):
    def __init__(self) -> None:
        super().__init__(N_("your account is deactivated; ask your practice's administrator to reactivate it"))


class UnsafeUrl(DomainError):
    """A URL the server would fetch points somewhere it must not (SSRF guard)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(N_("%(url)s cannot be used: %(reason)s", url=url, reason=reason))
        self.url = url
        self.reason = reason


class ProviderUnavailable(DomainError):
    """The identity provider could not be reached or answered unusably. ``what`` names the step."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class InvalidForm(DomainError):
    """Several fields are wrong at once; ``errors`` maps each field name to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class UnknownProvider(DomainError):
    def __init__(self) -> None:
        super().__init__(N_("this Single Sign On provider does not exist or is switched off"))


class IdentityRejected(DomainError):
    """The provider answered, but its answer failed verification. Never log anyone in."""

    def __init__(self, reason: str) -> None:
        super().__init__(N_("the identity provider's answer failed verification: %(reason)s", reason=reason))
        self.reason = reason


class SsoRefused(DomainError):
    """The login cannot go on; ``str(err)`` tells the practitioner why and what to do."""


class LogoutTokenRefused(DomainError):
    """A back-channel logout token failed a check (OpenID Connect Back-Channel Logout 1.0, 2.6):
    nobody is logged out. ``reason`` is for the provider's operator, in English."""

    def __init__(self, reason: str) -> None:
        super().__init__(N_("the logout token is refused: %(reason)s", reason=reason))
        self.reason = reason


class LinkCodeRefused(DomainError):
    """A one-time password was wrong, expired, used up or is not for this browser."""


class CodeRequestsThrottled(LinkCodeRefused):
    """Too many one-time passwords were asked for; none was sent, and the page must say so."""

    def __init__(self, minutes: int) -> None:
        super().__init__(
            Nn_(
                "too many codes were requested, so none was sent; wait %(count)s minute and try again",
                "too many codes were requested, so none was sent; wait %(count)s minutes and try again",
                minutes,
            )
        )
        self.minutes = minutes


class UnknownLink(DomainError):
    def __init__(self) -> None:
        super().__init__(N_("that linked account does not exist"))


class NotUnique(DomainError):
    """A provisioning client sent a userName or email that another practitioner here has."""

    def __init__(self, attribute: str, value: str) -> None:
        super().__init__(f"{attribute} {value!r} is already taken in this practice")
        self.attribute = attribute


class VersionMismatch(DomainError):
    def __init__(self) -> None:
        super().__init__("the resource changed since it was read (If-Match does not match its ETag)")


class UnknownToken(DomainError):
    def __init__(self) -> None:
        super().__init__(N_("that token does not exist"))
