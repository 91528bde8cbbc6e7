"""Provisioning over SCIM: bearer tokens and the user operations, in domain terms.

The SCIM wire format (schemas, filters, PATCH documents) is translated in entrypoints/scim;
here a user is a ``ScimUser`` and a PATCH is a ``ScimUser`` holding only what changes.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field, fields, replace
from datetime import datetime

from domain.authority import Authority, Ending
from domain.errors import InvalidValue, NotAllowed, NotUnique, SsoRefused, UnknownPractitioner, UnknownProvider, UnknownToken, VersionMismatch
from domain.linking import link_identity
from domain.model import Practitioner, Tenant, digest, new_id
from domain.ports import (
    AuditLog,
    Clock,
    IdentityLinkRepository,
    IdentityProviderRepository,
    PractitionerRepository,
    ScimTokenRepository,
    SessionRevocation,
    TokenSource,
)
from domain.sso import AuditEvent, AuditKind, IdentityProvider
from domain.text import one_line_text
from domain.values import ModuleRight, ProfileField, clean_name, normalize_email

TOKEN_PREFIX = "ppscim_"
UNCHANGED: object = object()


class ProvisioningKind:
    TOKEN_CREATED = "scim_token_created"
    TOKEN_REVOKED = "scim_token_revoked"
    USER_CREATED = "scim_user_created"
    USER_UPDATED = "scim_user_updated"
    USER_DEACTIVATED = "scim_user_deactivated"
    USER_DELETED = "scim_user_deleted"


@dataclass(eq=False)
class ScimToken:
    tenant_id: str
    name: str
    token_digest: str
    created_at: datetime
    id: str = field(default_factory=new_id)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    # The practitioner the token acts for: who created it (the owner, for the CLI). None only
    # for tokens made before tokens recorded it; those act with the least authority.
    created_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class ListedToken:
    """A token as the provisioning page lists it: whom it acts for, and whether it works now."""

    token: ScimToken
    creator: Practitioner | None
    authority: Authority | None  # None: it does not work now, see ``refusal``
    refusal: str | None


@dataclass(frozen=True)
class ScimUser:
    """A user as a provisioning client describes it; UNCHANGED marks what a PATCH leaves alone."""

    user_name: object = UNCHANGED  # str
    email: object = UNCHANGED  # str | None: the primary (else first) entry of emails
    given_name: object = UNCHANGED  # str | None
    family_name: object = UNCHANGED  # str | None
    active: object = UNCHANGED  # bool
    external_id: object = UNCHANGED  # str | None
    phone: object = UNCHANGED  # str | None
    title: object = UNCHANGED  # str | None
    email_primary: object = UNCHANGED  # bool: how the client marked the email it sent

    def over(self, base: ScimUser) -> ScimUser:
        """This user's values where set, ``base``'s elsewhere."""
        return replace(base, **{f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not UNCHANGED})


# What a user is when the client says nothing: a POST starts from it, a PUT falls back to it.
BLANK_USER = ScimUser(
    user_name=None,
    email=None,
    given_name=None,
    family_name=None,
    active=True,
    external_id=None,
    phone=None,
    title=None,
    email_primary=True,
)


@dataclass(frozen=True)
class ScimQuery:
    """Equality criteria combined with AND; None means no criterion.

    Repositories compare ``email`` as given: Provisioning.search brings it to its stored form.
    """

    user_name: str | None = None
    external_id: str | None = None
    email: str | None = None
    active: bool | None = None


class ProvisioningTokens:
    def __init__(
        self,
        tokens: ScimTokenRepository,
        practitioners: PractitionerRepository,
        token_source: TokenSource,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self._tokens = tokens
        self._practitioners = practitioners
        self._token_source = token_source
        self._audit = audit
        self._clock = clock

    def create(self, tenant: Tenant, name: str, creator: Practitioner) -> tuple[ScimToken, str]:
        """A new token acting for ``creator``: the record, and the token itself, shown once and never stored."""
        Authority.of(creator).require_may_provision()
        name = clean_name(name, "name", "token name")
        secret = TOKEN_PREFIX + self._token_source.new_token(32)
        token = ScimToken(tenant.id, name, digest(secret), self._clock.now(), created_by=creator.id)
        self._tokens.add(token)
        self._audit.record(AuditEvent(tenant.id, ProvisioningKind.TOKEN_CREATED, self._clock.now(), f"SCIM token {name!r} created", creator.id))
        return token, secret

    def tokens(self, tenant: Tenant) -> list[ScimToken]:
        return self._tokens.list(tenant.id)

    def listed(self, tenant: Tenant) -> list[ListedToken]:
        """The tenant's tokens, newest first, each with its creator and what it may do now."""
        listed = []
        for token in self._tokens.list(tenant.id):
            creator = self._creator(tenant, token)
            try:
                listed.append(ListedToken(token, creator, Authority.for_token(tenant.id, token.name, token.created_by, creator), None))
            except NotAllowed as refused:
                listed.append(ListedToken(token, creator, None, str(refused)))
        return listed

    def authority_of(self, tenant: Tenant, token: ScimToken) -> Authority:
        """What an authenticated token may do: what its creator may now (NotAllowed when nothing)."""
        return Authority.for_token(tenant.id, token.name, token.created_by, self._creator(tenant, token))

    def _creator(self, tenant: Tenant, token: ScimToken) -> Practitioner | None:
        return None if token.created_by is None else self._practitioners.get(tenant.id, token.created_by)

    def revoke(self, tenant: Tenant, token_id: str, actor_id: str | None = None) -> ScimToken:
        token = self._tokens.get(tenant.id, token_id)
        if token is None:
            raise UnknownToken()
        if token.active:
            token.revoked_at = self._clock.now()
            self._audit.record(AuditEvent(tenant.id, ProvisioningKind.TOKEN_REVOKED, self._clock.now(), f"SCIM token {token.name!r} revoked", actor_id))
        return token

    def authenticate(self, tenant: Tenant, presented: str) -> ScimToken | None:
        """The tenant's active token with this value, or None. Another tenant's token is None."""
        if not presented.startswith(TOKEN_PREFIX):
            return None
        wanted = digest(presented)
        token = self._tokens.get_by_digest(tenant.id, wanted)
        if token is None or not token.active or not hmac.compare_digest(token.token_digest, wanted):
            return None
        now = self._clock.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
            token.last_used_at = now  # at most one write a minute for a busy client
        return token


class Provisioning:
    def __init__(
        self,
        practitioners: PractitionerRepository,
        providers: IdentityProviderRepository,
        links: IdentityLinkRepository,
        sessions: SessionRevocation,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self._providers = providers
        self._links = links
        self._practitioners = practitioners
        self._sessions = sessions
        self._audit = audit
        self._clock = clock

    def get(self, tenant: Tenant, practitioner_id: str) -> Practitioner:
        practitioner = self._practitioners.get(tenant.id, practitioner_id)
        if practitioner is None:
            raise UnknownPractitioner()
        return practitioner

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
        user_name = self._user_name(values.user_name)
        email = self._email(values.email, user_name)
        first, last = self._names(values, user_name)
        self._require_unique(tenant, None, user_name, email)
        practitioner = Practitioner.register(tenant, email, first, last, self._clock.now())
        practitioner.user_name = user_name
        self._apply_optional(practitioner, values)
        practitioner.active = values.active is not False
        self._require_free_subject(tenant, practitioner)
        self._practitioners.add(practitioner)
        self._link_external_id(tenant, practitioner)
        self._record(tenant, authority, ProvisioningKind.USER_CREATED, f"{practitioner.email} created")
        return practitioner

    def replace(self, tenant: Tenant, authority: Authority, practitioner_id: str, user: ScimUser, if_match: str | None) -> Practitioner:
        """PUT: the whole user; attributes left out are cleared where they may be empty."""
        return self._update(tenant, authority, practitioner_id, user.over(BLANK_USER), if_match)

    def patch(self, tenant: Tenant, authority: Authority, practitioner_id: str, changes: ScimUser, if_match: str | None) -> Practitioner:
        practitioner = self.get(tenant, practitioner_id)
        current = ScimUser(
            practitioner.scim_user_name, practitioner.email, practitioner.first_name, practitioner.last_name,
            practitioner.active, practitioner.external_id, practitioner.phone, practitioner.job_title,
            practitioner.email_primary,
        )
        return self._update(tenant, authority, practitioner_id, changes.over(current), if_match)

    def delete(self, tenant: Tenant, authority: Authority, practitioner_id: str, if_match: str | None) -> None:
        """Removes the account with its links and pending challenges; its sessions end."""
        practitioner = self.get(tenant, practitioner_id)
        authority.require_may_end(practitioner, Ending.DELETE)
        self._require_version(practitioner, if_match)
        self._sessions.end_sessions_of(tenant.id, practitioner.id)
        self._practitioners.remove(practitioner)
        self._record(tenant, authority, ProvisioningKind.USER_DELETED, f"{practitioner.email} deleted")

    def _update(self, tenant: Tenant, authority: Authority, practitioner_id: str, values: ScimUser, if_match: str | None) -> Practitioner:
        practitioner = self.get(tenant, practitioner_id)
        if practitioner.active and values.active is False:
            authority.require_may_end(practitioner, Ending.DEACTIVATE)
        else:
            authority.require_may_manage(practitioner)
        self._require_version(practitioner, if_match)
        user_name = self._user_name(values.user_name)
        email = self._email(values.email, user_name)
        first, last = self._names(values, user_name)
        # Checked before anything changes: a refused update leaves the practitioner as it was.
        self._require_unique(tenant, practitioner.id, user_name, email)
        self._require_free_subject(tenant, practitioner, values.external_id)
        was_active = practitioner.active
        practitioner.update_profile({ProfileField.FIRST_NAME: first, ProfileField.LAST_NAME: last})
        practitioner.user_name = user_name
        if email != practitioner.email:
            practitioner.email = email
            practitioner.email_proven = False
        self._apply_optional(practitioner, values)
        practitioner.active = values.active is not False
        self._link_external_id(tenant, practitioner)
        if was_active and not practitioner.active:
            self._sessions.end_sessions_of(tenant.id, practitioner.id)
            self._record(tenant, authority, ProvisioningKind.USER_DEACTIVATED, f"{practitioner.email} deactivated")
        else:
            self._record(tenant, authority, ProvisioningKind.USER_UPDATED, f"{practitioner.email} updated")
        return practitioner

    def use_external_id_as_subject_of(self, actor: Practitioner, tenant: Tenant, provider_id: str | None) -> None:
        """From now on a provisioned externalId is the subject at this provider (None: at none).

        It decides who signs in as whom, so it takes the Authentication right, not only Practitioners.
        """
        if not actor.holds(ModuleRight.AUTHENTICATION):
            raise NotAllowed("only the account owner or someone with the Authentication right decides this")
        if provider_id is not None and self._providers.get(tenant.id, provider_id) is None:
            raise UnknownProvider()
        if tenant.scim_subject_provider_id != provider_id:
            tenant.scim_subject_provider_id = provider_id
            what = f"provider {provider_id}" if provider_id else "no provider"
            self._audit.record(AuditEvent(tenant.id, AuditKind.SETTINGS_CHANGED, self._clock.now(), f"SCIM externalId is the SSO subject at {what}", actor.id))

    def _subject_provider(self, tenant: Tenant) -> IdentityProvider | None:
        if tenant.scim_subject_provider_id is None:
            return None
        return self._providers.get(tenant.id, tenant.scim_subject_provider_id)

    def _require_free_subject(self, tenant: Tenant, practitioner: Practitioner, external_id: object = UNCHANGED) -> None:
        provider = self._subject_provider(tenant)
        subject = practitioner.external_id if external_id is UNCHANGED else external_id
        if provider is None or not isinstance(subject, str) or not subject:
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
            link_identity(self._links, practitioner, provider.id, provider.identity_issuer, practitioner.external_id, self._clock.now())
        except SsoRefused:
            raise NotUnique("externalId", practitioner.external_id) from None

    @staticmethod
    def etag(practitioner: Practitioner) -> str:
        return f'W/"{practitioner.version}"'

    @classmethod
    def _require_version(cls, practitioner: Practitioner, if_match: str | None) -> None:
        if if_match is not None and if_match not in ("*", cls.etag(practitioner)):
            raise VersionMismatch()

    @staticmethod
    def _user_name(value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise InvalidValue("userName", "userName is required")
        if len(value) > 254:
            raise InvalidValue("userName", "userName has at most 254 characters")
        return one_line_text(value, "userName", "userName").strip()

    @staticmethod
    def _email(value: object, user_name: str) -> str:
        if isinstance(value, str) and value.strip():
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
    def _names(values: ScimUser, user_name: str) -> tuple[str, str]:
        # SCIM requires only userName; a practitioner needs names, so fall back to it.
        fallback = user_name.split("@")[0] or user_name
        first = values.given_name if isinstance(values.given_name, str) and values.given_name.strip() else fallback
        last = values.family_name if isinstance(values.family_name, str) and values.family_name.strip() else fallback
        return clean_name(first, "name.givenName", "given name"), clean_name(last, "name.familyName", "family name")

    @staticmethod
    def _apply_optional(practitioner: Practitioner, values: ScimUser) -> None:
        external_id = values.external_id if isinstance(values.external_id, str) and values.external_id else None
        if external_id is not None and len(external_id) > 255:
            raise InvalidValue("externalId", "externalId has at most 255 characters")
        if external_id is not None:
            one_line_text(external_id, "externalId", "externalId")  # it may become an SSO subject
        practitioner.external_id = external_id
        practitioner.email_primary = values.email_primary is not False
        practitioner.update_profile({
            ProfileField.PHONE: values.phone if isinstance(values.phone, str) else None,
            ProfileField.JOB_TITLE: values.title if isinstance(values.title, str) else None,
        })

    def _require_unique(self, tenant: Tenant, practitioner_id: str | None, user_name: str, email: str) -> None:
        """Refuses a clash before anything changes. Concurrent writers can pass this check
        together; the repository's unique keys then refuse all but one (NotUnique as well)."""
        others = self._practitioners.scim_search(tenant.id, ScimQuery(user_name=user_name), 0, 2)[0]
        if any(p.id != practitioner_id for p in others):
            raise NotUnique("userName", user_name)
        same_email = self._practitioners.get_by_email(tenant.id, email)
        if same_email is not None and same_email.id != practitioner_id:
            raise NotUnique("email", email)

    def _record(self, tenant: Tenant, authority: Authority, kind: str, summary: str) -> None:
        # The actor is the person the token acts for; the summary names the token itself.
        self._audit.record(AuditEvent(tenant.id, kind, self._clock.now(), f"{summary} by {authority.name}", authority.practitioner_id))
