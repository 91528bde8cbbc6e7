"""A practitioner: their account, their rights and the rules the account owns."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from domain.identifiers import new_id
from domain.practitioners.email import normalize_email
from domain.practitioners.rights import ModuleRight
from domain.practitioners.profile import (
    MAX_JOB_TITLE_LENGTH,
    MAX_PHONE_LENGTH,
    ProfileField,
    clean_name,
    clean_optional,
    clean_salutation,
)
from domain.errors import InvalidValue, N_
from domain.tenancy.language import DEFAULT_LANGUAGE, first_spoken, language_tag, spoken
from domain.tenancy.tenant import Tenant


class LoginMethod(str, Enum):
    """How a browser session was opened."""

    PASSWORD = "password"
    SSO = "sso"
    RECOVERY = "recovery"  # the owner's single-use recovery link, mailed by the operator


def fold_user_name(user_name: str) -> str:
    """The key SCIM userNames are compared by: a userName is unique per tenant without regard
    to case, so names that differ only in case or in Unicode compatibility form (NFKC: a
    full-width letter, a ligature) are one name. A SHA-256 digest of the folded name, so the
    key has a fixed length however much folding expands the name (the database indexes it)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", user_name).casefold())
    # surrogatepass: every str has a key, even text the edge ought to have refused.
    return hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(eq=False)
class Practitioner:
    tenant_id: str
    email: str
    first_name: str
    last_name: str
    created_at: datetime
    id: str = field(default_factory=new_id)
    password_hash: str | None = None
    active: bool = True
    is_owner: bool = False
    rights: frozenset[ModuleRight] = frozenset()
    salutation: str | None = None
    phone: str | None = None
    job_title: str | None = None
    # Whether the owner of the account showed control of its email: a mailed link or code
    # was used, or the identity provider vouched for it. Email linking relies on it.
    email_proven: bool = False
    # SCIM: the provisioning client's login identifier (as sent) and its own id for the user.
    user_name: str | None = None
    external_id: str | None = None
    # The SCIM client's displayName exactly as sent. None: no client ever sent one, and the full
    # name stands in; empty: a client took it away, and there is none.
    display_name: str | None = None
    email_primary: bool = True  # as the provisioning client marked its one email
    # Bumped by the data layer at every change of the row: the SCIM ETag.
    version: int = 0
    updated_at: datetime | None = None
    # An address an admin entered, waiting for its mailed link: the registered email stays until then.
    pending_email: str | None = None
    # The practitioner's own choice of language (None: none made), and the language tag the identity
    # provider's `locale` claim or SCIM's `preferredLanguage` sent, as sent.
    language: str | None = None
    provided_language: str | None = None

    def language_in(self, tenant: Tenant) -> str:
        """The language this practitioner is spoken to in wherever no browser says more (a mail,
        whoever triggers it): their own choice, else what their provider or SCIM client sent, else
        the practice's default, else English."""
        return first_spoken(self.language, self.provided_language, tenant.default_language) or DEFAULT_LANGUAGE

    def choose_language(self, language: str | None) -> bool:
        """The practitioner's own choice of language (None or empty: none, so their provider, their
        practice or their browser decides). Only a language the product speaks can be chosen.
        Returns whether the choice changed."""
        chosen = spoken(language) if language else None
        if language and chosen is None:
            raise InvalidValue("language", N_("choose one of the languages offered"))
        if chosen == self.language:
            return False
        self.language = chosen
        return True

    def provide_language(self, tag: str | None) -> bool:
        """The language tag the identity provider (``locale``) or the SCIM client
        (``preferredLanguage``) sent, kept as sent (None or empty: none); it counts wherever the
        practitioner chose none. Returns whether it changed (the same tag leaves the row alone)."""
        kept = language_tag(tag or "", "provided_language")
        if kept == self.provided_language:
            return False
        self.provided_language = kept
        return True

    @property
    def scim_user_name(self) -> str:
        return self.user_name or self.email

    @property
    def scim_display_name(self) -> str | None:
        return self.full_name if self.display_name is None else self.display_name or None

    @property
    def user_name_key(self) -> str:
        """Unique per tenant: the data layer stores it and a unique index holds it."""
        return fold_user_name(self.scim_user_name)

    @classmethod
    def register(
        cls,
        tenant: Tenant,
        email: str,
        first_name: str,
        last_name: str,
        now: datetime,
        *,
        is_owner: bool = False,
        rights: frozenset[ModuleRight] = frozenset(),
        email_proven: bool = False,
    ) -> Practitioner:
        """``email_proven`` only when whoever gives the email vouches for it (a provider's
        verified email at first sign-in)."""
        return cls(
            tenant_id=tenant.id,
            email=normalize_email(email),
            first_name=clean_name(first_name, "first_name", N_("first name")),
            last_name=clean_name(last_name, "last_name", N_("last name")),
            created_at=now,
            is_owner=is_owner,
            rights=rights,
            email_proven=email_proven,
        )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def holds(self, right: ModuleRight) -> bool:
        """The owner holds every right; others hold what was granted."""
        return self.is_owner or right in self.rights

    def hold_rights(self, rights: frozenset[ModuleRight]) -> tuple[frozenset[ModuleRight], frozenset[ModuleRight]]:
        """Exactly these module rights from now on; the owner flag is not a module right and never
        changes here. Returns the rights granted and those revoked.

        A grant ends an email change waiting for its link: it was asked under the rule for whom the
        practitioner was then (``Authority``), and whoever asked may not reach a holder of the right;
        the new address would otherwise take over the account, rights and all, once proven."""
        held, self.rights = self.rights, rights
        if rights - held:
            self.pending_email = None
        return rights - held, held - rights

    @property
    def has_usable_password(self) -> bool:
        return self.password_hash is not None

    def set_password(self, password_hash: str) -> None:
        """A new password, hashed already: the domain never holds one in clear."""
        self.password_hash = password_hash

    def prove_email(self) -> None:
        """The owner of the account showed control of its email: a link or code mailed to it
        was used. From then on a provider's verified email may link to the account."""
        self.email_proven = True

    def change_email(self, email: str, *, proven: bool) -> bool:
        """A new email carries its own proof, never the old one's: ``proven`` only when whoever
        gives it vouches for it. Returns whether the email changed (the same one keeps its proof).

        A change still waiting for its link ends: it was asked to replace the address that is now
        gone, and following it later would override what the provisioning client or provider set."""
        if email == self.email:
            return False
        self.email = email
        self.email_proven = proven
        self.pending_email = None
        return True

    def await_email(self, email: str) -> None:
        """An admin entered a new address (in its stored form): it takes effect only once the link
        mailed to it is followed. A newer one replaces it."""
        self.pending_email = email

    def adopt_pending_email(self) -> bool:
        """The link mailed to the pending address was followed: that proves it, so it becomes the
        registered email. Returns whether the email changed."""
        email, self.pending_email = self.pending_email, None
        return email is not None and self.change_email(email, proven=True)

    def take_over(self) -> bool:
        """Pre-hijacking defence, when the owner of the email proves it: an account nobody had
        proven loses the password whoever set it up chose, and is proven from now on.

        Returns whether it was unproven: then its sessions and linked identities must go too,
        which the caller ends (they are not the practitioner's to hold)."""
        was_unproven = not self.email_proven
        if was_unproven:
            self.password_hash = None
        self.email_proven = True
        return was_unproven

    def profile(self) -> dict[ProfileField, str | None]:
        return {f: getattr(self, f.value) for f in ProfileField}

    def update_profile(self, changes: dict[ProfileField, str | None]) -> list[ProfileField]:
        """Validates and applies the changes; returns the fields whose value really changed.

        The email is not changed here: it identifies the account and needs its own proof.
        """
        cleaned: dict[ProfileField, str | None] = {}
        for profile_field, raw in changes.items():
            if profile_field is ProfileField.FIRST_NAME:
                cleaned[profile_field] = clean_name(raw or "", "first_name", N_("first name"))
            elif profile_field is ProfileField.LAST_NAME:
                cleaned[profile_field] = clean_name(raw or "", "last_name", N_("last name"))
            elif profile_field is ProfileField.SALUTATION:
                cleaned[profile_field] = clean_salutation(raw)
            elif profile_field is ProfileField.PHONE:
                cleaned[profile_field] = clean_optional(raw, "phone", N_("phone"), MAX_PHONE_LENGTH)
            elif profile_field is ProfileField.JOB_TITLE:
                cleaned[profile_field] = clean_optional(raw, "job_title", N_("job title"), MAX_JOB_TITLE_LENGTH)
        changed = [f for f, value in cleaned.items() if getattr(self, f.value) != value]
        for profile_field in changed:
            setattr(self, profile_field.value, cleaned[profile_field])
        return changed

    def deactivate(self) -> None:
        self.active = False

    def reactivate(self) -> None:
        self.active = True
