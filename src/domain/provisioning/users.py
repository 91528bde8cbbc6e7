"""Provisioning: SCIM users in domain terms: create, replace, patch, delete and search."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from domain.audit import AuditKind, AuditTrail
from domain.errors import (
    N_,
    InvalidValue,
    NotUnique,
    SsoRefused,
    UnknownPractitioner,
    UnknownProvider,
    known,
)
from domain.ports import (
    Clock,
    IdentityLinkRepository,
    IdentityProviderRepository,
    PasswordResetTokenRepository,
    PractitionerRepository,
    SessionRevocation,
)
from domain.passwords.reset_token import ResetPurpose
from domain.practitioners.authority import Authority, Ending
from domain.practitioners.email import normalize_email
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.profile import ProfileField, clean_name
from domain.provisioning.bearer_token import ProvisioningKind
from domain.provisioning.scim_user import BLANK_USER, ScimQuery, ScimUser, UserValues
from domain.provisioning.version import require_version
from domain.sso.linking import link_identity
from domain.sso.provider import IdentityProvider
from domain.tenancy.language import language_tag
from domain.tenancy.tenant import Tenant
from domain.text import one_line_text

# The links mailed to a practitioner's registered address to set a password or sign in.
LINKS_TO_THE_ADDRESS = (ResetPurpose.RESET, ResetPurpose.SET, ResetPurpose.RECOVERY)


@dataclass(frozen=True)
class Provisioning:
    _practitioners: PractitionerRepository
    _providers: IdentityProviderRepository
    _links: IdentityLinkRepository
    _sessions: SessionRevocation
    _reset_tokens: PasswordResetTokenRepository
    _audit: AuditTrail
    _clock: Clock

    def get(self, tenant: Tenant, practitioner_id: str) -> Practitioner:
        return known(self._practitioners.get(tenant.id, practitioner_id), UnknownPractitioner)

    def search(self, tenant: Tenant, query: ScimQuery, offset: int, limit: int) -> tuple[list[Practitioner], int]:
        if query.email is not None:
            try:
                query = replace(query, email=normalize_email(query.email))
            except InvalidValue:
                return [], 0  # no one is registered with an address the email rule refuses
        return self._practitioners.scim_search(tenant.id, query, offset, limit)

    # Every write takes the Authority of the token that asks (ProvisioningTokens.authority_of):
    # a refused write raises before anything changes.

    def create(self, tenant: Tenant, authority: Authority, user: ScimUser) -> Practitioner:
        """A new plain practitioner: SCIM grants no module rights, so any working token may."""
        authority.require_may_provision()
        values = user.over(BLANK_USER)
        user_name, email, first, last = self._required(values)
        self._require_unique(tenant, None, user_name, email)
        practitioner = Practitioner.register(tenant, email, first, last, self._clock.now())
        practitioner.user_name = user_name
        self._apply_optional(practitioner, values)
        practitioner.active = values.active
        self._require_free_subject(tenant, practitioner, practitioner.external_id)
        self._practitioners.add(practitioner)
        self._link_external_id(tenant, practitioner)
        self._record_write(tenant, authority, ProvisioningKind.USER_CREATED, practitioner)
        return practitioner

    # patch, replace and delete take the practitioner the caller loaded with ``get`` (the view
    # needs it to read a PATCH and to answer), so a write reads it once.

    def replace(
        self, tenant: Tenant, authority: Authority, practitioner: Practitioner, user: ScimUser, if_match: str | None
    ) -> Practitioner:
        """PUT: the whole user; attributes left out are cleared where they may be empty."""
        return self._update(tenant, authority, practitioner, user.over(BLANK_USER), if_match)

    def patch(
        self, tenant: Tenant, authority: Authority, practitioner: Practitioner, changes: ScimUser, if_match: str | None
    ) -> Practitioner:
        """PATCH: the attributes ``changes`` names; the others keep their values."""
        return self._update(tenant, authority, practitioner, changes.over(UserValues.of(practitioner)), if_match)

    def delete(self, tenant: Tenant, authority: Authority, practitioner: Practitioner, if_match: str | None) -> None:
        """Removes the account with its links and pending challenges; its sessions end."""
        self._require_own(tenant, practitioner)
        authority.require_may_end(practitioner, Ending.DELETE)
        require_version(practitioner, if_match)
        self._sessions.end_sessions_of(tenant.id, practitioner.id)
        self._practitioners.remove(practitioner)
        self._record_write(tenant, authority, ProvisioningKind.USER_DELETED, practitioner)

    def _update(
        self, tenant: Tenant, authority: Authority, practitioner: Practitioner, values: UserValues, if_match: str | None
    ) -> Practitioner:
        self._require_own(tenant, practitioner)
        if practitioner.active and not values.active:
            authority.require_may_end(practitioner, Ending.DEACTIVATE)
        else:
            authority.require_may_manage(practitioner)
        require_version(practitioner, if_match)
        user_name, email, first, last = self._required(values)
        # Checked before anything changes: a refused update leaves the practitioner as it was.
        self._require_unique(tenant, practitioner.id, user_name, email)
        self._require_free_subject(tenant, practitioner, values.external_id)
        if email != practitioner.email:
            # The links mailed to the address the client replaced open nothing any more: whoever
            # reads it (a typo's stranger, a mailbox given up) must not set this practitioner's
            # password. Before the practitioner's row is written, as a link's redemption goes.
            self._reset_tokens.discard_open(tenant.id, practitioner.id, LINKS_TO_THE_ADDRESS)
        was_active = practitioner.active
        practitioner.update_profile({ProfileField.FIRST_NAME: first, ProfileField.LAST_NAME: last})
        practitioner.user_name = user_name
        practitioner.change_email(email, proven=False)  # a provisioning client vouches for no mailbox
        self._apply_optional(practitioner, values)
        practitioner.active = values.active
        self._link_external_id(tenant, practitioner)
        if was_active and not practitioner.active:
            self._sessions.end_sessions_of(tenant.id, practitioner.id)
            self._record_write(tenant, authority, ProvisioningKind.USER_DEACTIVATED, practitioner)
        elif practitioner.active and not was_active:
            self._record_write(tenant, authority, AuditKind.PRACTITIONER_REACTIVATED, practitioner)
        else:
            self._record_write(tenant, authority, ProvisioningKind.USER_UPDATED, practitioner)
        return practitioner

    @staticmethod
    def _require_own(tenant: Tenant, practitioner: Practitioner) -> None:
        # Another tenant's practitioner is not there for this tenant's token, as ``get`` says.
        if practitioner.tenant_id != tenant.id:
            raise UnknownPractitioner()

    def use_external_id_as_subject_of(self, actor: Practitioner, tenant: Tenant, provider_id: str | None) -> None:
        """From now on a provisioned externalId is the subject at this provider (None: at none).

        It decides who signs in as whom, so it takes the Authentication right, not only Practitioners.
        """
        Authority.of(actor, tenant).require_may_administer_authentication(
            N_("only the account owner or someone with the Authentication right decides this")
        )
        if provider_id is not None and self._providers.get(tenant.id, provider_id) is None:
            raise UnknownProvider()
        if tenant.scim_subject_provider_id != provider_id:
            tenant.scim_subject_provider_id = provider_id
            summary = (
                N_("SCIM externalId is the SSO subject at provider %(provider)s", provider=provider_id)
                if provider_id
                else N_("SCIM externalId is the SSO subject at no provider")
            )
            self._audit.record(tenant, AuditKind.SETTINGS_CHANGED, summary, actor.id)

    def _subject_provider(self, tenant: Tenant) -> IdentityProvider | None:
        if tenant.scim_subject_provider_id is None:
            return None
        return self._providers.get(tenant.id, tenant.scim_subject_provider_id)

    def _require_free_subject(self, tenant: Tenant, practitioner: Practitioner, subject: str | None) -> None:
        provider = self._subject_provider(tenant)
        if provider is None or not subject:
            return
        taken = self._links.find(tenant.id, provider.id, provider.identity_issuer, subject)
        if taken is not None and taken.practitioner_id != practitioner.id:
            raise NotUnique("externalId", subject)

    def _link_external_id(self, tenant: Tenant, practitioner: Practitioner) -> None:
        """The provisioned person signs in with SSO straight away: no one-time password needed."""
        provider = self._subject_provider(tenant)
        if provider is None or not practitioner.external_id:
            return
        try:
            link_identity(
                self._links,
                practitioner,
                provider.id,
                provider.identity_issuer,
                practitioner.external_id,
                self._clock.now(),
            )
        except SsoRefused:
            raise NotUnique("externalId", practitioner.external_id) from None

    @classmethod
    def _required(cls, values: UserValues) -> tuple[str, str, str, str]:
        """What every practitioner has, checked: userName, email, given and family name."""
        user_name = cls._user_name(values.user_name)
        return user_name, cls._email(values.email, user_name), *cls._names(values, user_name)

    @staticmethod
    def _user_name(value: str | None) -> str:
        if value is None or not value.strip():
            raise InvalidValue("userName", "userName is required")
        if len(value) > 254:
            raise InvalidValue("userName", "userName has at most 254 characters")
        return one_line_text(value, "userName", "userName").strip()

    @staticmethod
    def _email(value: str | None, user_name: str) -> str:
        if value is not None and value.strip():
            try:
                return normalize_email(value)
            except InvalidValue as err:
                raise InvalidValue("emails", err.message) from None
        try:
            return normalize_email(user_name)
        except InvalidValue as err:
            raise InvalidValue(
                "emails", f"a user needs an email address: send emails, or a userName that is one ({err.message})"
            ) from None

    @staticmethod
    def _names(values: UserValues, user_name: str) -> tuple[str, str]:
        # SCIM requires only userName; a practitioner needs names, so fall back to it.
        fallback = user_name.split("@")[0] or user_name
        first = values.given_name if values.given_name and values.given_name.strip() else fallback
        last = values.family_name if values.family_name and values.family_name.strip() else fallback
        return clean_name(first, "name.givenName", "given name"), clean_name(last, "name.familyName", "family name")

    @staticmethod
    def _apply_optional(practitioner: Practitioner, values: UserValues) -> None:
        external_id = values.external_id or None  # an empty externalId is none
        if external_id is not None and len(external_id) > 255:
            raise InvalidValue("externalId", "externalId has at most 255 characters")
        if external_id is not None:
            one_line_text(external_id, "externalId", "externalId")  # it may become an SSO subject
        practitioner.external_id = external_id
        practitioner.display_name = Provisioning._display_name(practitioner.display_name, values.display_name)
        practitioner.email_primary = values.email_primary
        practitioner.provide_language(language_tag(values.preferred_language or "", "preferredLanguage"))
        practitioner.update_profile({ProfileField.PHONE: values.phone, ProfileField.JOB_TITLE: values.title})

    @staticmethod
    def _display_name(current: str | None, value: str | None) -> str | None:
        """Kept as sent, to be returned as sent. Until a client sends one it stays None (the full
        name stands in); once sent, taking it away leaves it empty: none is returned, as removed."""
        if not value:
            return None if current is None else ""
        if len(value) > 255:
            raise InvalidValue("displayName", "displayName has at most 255 characters")
        return one_line_text(value, "displayName", "displayName")

    def _require_unique(self, tenant: Tenant, practitioner_id: str | None, user_name: str, email: str) -> None:
        """Refuses a clash before anything changes. Concurrent writers can pass this check
        together; the repository's unique keys then refuse all but one (NotUnique as well)."""
        others = self._practitioners.scim_search(tenant.id, ScimQuery(user_name=user_name), 0, 2)[0]
        if any(p.id != practitioner_id for p in others):
            raise NotUnique("userName", user_name)
        same_email = self._practitioners.get_by_email(tenant.id, email)
        if same_email is not None and same_email.id != practitioner_id:
            raise NotUnique("email", email)

    def _record_write(self, tenant: Tenant, authority: Authority, kind: str, practitioner: Practitioner) -> None:
        # The actor is the person the token acts for (the SCIM API stamps the token itself on the
        # request's origin); the summary names the token too.
        summary = _WRITTEN[kind](practitioner.email, authority.name)
        self._audit.record(tenant, kind, summary, authority.practitioner_id, subject_id=practitioner.id)


# What the trail says of each write, by the kind recorded: (the practitioner's email, the token's name).
_WRITTEN: dict[str, Callable[[str, str], str]] = {
    ProvisioningKind.USER_CREATED: lambda email, by: N_("%(email)s created by %(by)s", email=email, by=by),
    ProvisioningKind.USER_UPDATED: lambda email, by: N_("%(email)s updated by %(by)s", email=email, by=by),
    ProvisioningKind.USER_DEACTIVATED: lambda email, by: N_("%(email)s deactivated by %(by)s", email=email, by=by),
    AuditKind.PRACTITIONER_REACTIVATED: lambda email, by: N_("%(email)s reactivated by %(by)s", email=email, by=by),
    ProvisioningKind.USER_DELETED: lambda email, by: N_("%(email)s deleted by %(by)s", email=email, by=by),
}
