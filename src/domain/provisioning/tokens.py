"""ProvisioningTokens: SCIM bearer tokens created, listed, revoked, and who each acts for."""

from __future__ import annotations

from dataclasses import dataclass
import hmac

from domain.audit import AuditTrail
from domain.errors import N_, NotAllowed, UnknownToken, known
from domain.identifiers import digest
from domain.ports import Clock, PractitionerRepository, ScimTokenRepository, TokenSource
from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.profile import clean_name
from domain.provisioning.bearer_token import ListedToken, ProvisioningKind, ScimToken, TOKEN_PREFIX
from domain.tenancy.tenant import Tenant


@dataclass(frozen=True)
class ProvisioningTokens:
    _tokens: ScimTokenRepository
    _practitioners: PractitionerRepository
    _token_source: TokenSource
    _audit: AuditTrail
    _clock: Clock

    def create(self, tenant: Tenant, name: str, creator: Practitioner) -> tuple[ScimToken, str]:
        """A new token acting for ``creator``: the record, and the token itself, shown once and never stored."""
        Authority.of(creator, tenant).require_may_provision()
        name = clean_name(name, "name", N_("token name"))
        secret = TOKEN_PREFIX + self._token_source.new_token(32)
        token = ScimToken(tenant.id, name, digest(secret), self._clock.now(), created_by=creator.id)
        self._tokens.add(token)
        self._audit.record(
            tenant, ProvisioningKind.TOKEN_CREATED, N_("SCIM token %(name)r created", name=name), creator.id
        )
        return token, secret

    def tokens(self, tenant: Tenant) -> list[ScimToken]:
        return self._tokens.list(tenant.id)

    def listed(self, tenant: Tenant) -> list[ListedToken]:
        """The tenant's tokens, newest first, each with its creator and what it may do now."""
        listed = []
        for token in self._tokens.list(tenant.id):
            creator = self._creator(tenant, token)
            try:
                listed.append(
                    ListedToken(
                        token, creator, Authority.for_token(tenant.id, token.name, token.created_by, creator), None
                    )
                )
            except NotAllowed as refused:
                listed.append(ListedToken(token, creator, None, str(refused)))
        return listed

    def authority_of(self, tenant: Tenant, token: ScimToken) -> Authority:
        """What an authenticated token may do: what its creator may now (NotAllowed when nothing)."""
        return Authority.for_token(tenant.id, token.name, token.created_by, self._creator(tenant, token))

    def _creator(self, tenant: Tenant, token: ScimToken) -> Practitioner | None:
        return None if token.created_by is None else self._practitioners.get(tenant.id, token.created_by)

    def revoke(self, tenant: Tenant, token_id: str, actor_id: str | None = None) -> ScimToken:
        token = known(self._tokens.get(tenant.id, token_id), UnknownToken)
        if token.active:
            token.revoked_at = self._clock.now()
            revoked = N_("SCIM token %(name)r revoked", name=token.name)
            self._audit.record(tenant, ProvisioningKind.TOKEN_REVOKED, revoked, actor_id)
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
