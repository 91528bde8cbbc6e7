"""LoginPolicyAdministration: the workflow, unknown-identity handling, claim mappings and the
registration link; RegistrationOffer, what the registration page offers under the policy."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from domain.audit import AuditKind, AuditTrail
from domain.errors import IdentityRejected, InvalidForm, N_
from domain.ports import IdentityProviderRepository, SessionRevocation, TenantRepository
from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.profile import ProfileField
from domain.sso.claims import ClaimMapper, claim_name_problem, validate_mappings
from domain.sso.provider import IdentityProvider
from domain.tenancy.policy import TenantAuthPolicy
from domain.tenancy.tenant import (
    AuthSettings,
    ClaimMapping,
    RoleMapping,
    Tenant,
    UnknownIdentityHandling,
    Workflow,
)
from domain.text import (
    MAX_URL_LENGTH,
    URL_NOT_ONE_TOKEN,
    URL_TOO_LONG,
    document_problem,
    in_a_row,
    is_one_line,
    url_shape_problem,
)


@dataclass(frozen=True)
class LoginPolicy:
    workflow: Workflow
    unknown_identity: UnknownIdentityHandling
    self_registration: bool
    claim_mappings: tuple[ClaimMapping, ...]
    registration_url: str = ""  # as typed; empty: no link
    roles_claim: str = ""  # as typed; empty: no roles from the provider
    role_mappings: tuple[RoleMapping, ...] = ()
    roles_from_provider: bool = False


UNCHANGED = N_("login policy: saved without changes")
MAX_ROLE_MAPPINGS = 50
MAX_ROLE_VALUE_LENGTH = 255


def role_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be a role or group value in the mapping, or None."""
    if not value.strip():
        return N_("type the role or group value this right comes from")
    if len(value) > MAX_ROLE_VALUE_LENGTH:
        return N_("a role or group value has at most %(limit)s characters", limit=MAX_ROLE_VALUE_LENGTH)
    if not is_one_line(value):
        return N_("a role or group value is one line, without control characters")
    return None


def _roles_problems(policy: LoginPolicy, claim: str, mappings: tuple[RoleMapping, ...]) -> dict[str, str]:
    """Field-keyed problems of the roles part of the policy (``claim`` and ``mappings`` as saved)."""
    errors: dict[str, str] = {}
    if claim and (problem := claim_name_problem(claim)):
        errors["roles_claim"] = problem
    problems = [problem for mapping in mappings if (problem := role_value_problem(mapping.value))]
    if problems:
        errors["role_mappings"] = problems[0]
    elif len(mappings) > MAX_ROLE_MAPPINGS:
        errors["role_mappings"] = N_("map at most %(limit)s role or group values", limit=MAX_ROLE_MAPPINGS)
    elif mappings and not claim:
        errors["roles_claim"] = N_("name the claim that holds the roles or groups, or remove the mapping")
    if policy.roles_from_provider and not (claim and mappings):
        errors.setdefault(
            "roles_from_provider", N_("to apply the provider's roles, name their claim and map at least one value")
        )
    return errors


# The one URL rule's problems (domain.text), said of the registration link.
_LINK_SHAPE_PROBLEMS: dict[str, str] = {
    URL_TOO_LONG: N_("the link is longer than %(limit)s characters", limit=MAX_URL_LENGTH),
    URL_NOT_ONE_TOKEN: N_("the link has spaces or control characters"),
}


def registration_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the link to the provider's registration page, or None.

    The server never fetches it (it is a link shown to browsers), so no address is checked;
    it must be https all the same, since the page behind it takes a newcomer's personal data."""
    shape = url_shape_problem(url)
    if shape is not None:
        return _LINK_SHAPE_PROBLEMS[shape]
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # such as an unclosed [IPv6 literal
        host = None
    if host is None or parts.scheme.lower() != "https":
        return N_("enter a full address that starts with https://, such as https://login.example.com/register")
    if parts.username or parts.password:
        return N_("a link with a user name or password in it is not accepted")
    return None


NO_REGISTRATIONS = N_("this practice does not take registrations; ask its administrator for an account")


@dataclass(frozen=True)
class RegistrationOffer:
    """What the registration page offers a newcomer under a tenant's policy; nothing at all when
    ``closed_because`` says why.

    Standard workflow, self-registration on: the portal's form where passwords are used, and a
    button per enabled provider, whose sign-in follows the unknown-identity handling: it
    registers a newcomer where the policy registers newcomers (``providers_register``), and
    otherwise links the account registered under their email, after a code. With neither the
    form nor a provider that registers, the page is closed. Pseudo-SSO: only the admin's link
    to the provider's own registration page, since accounts come from the provider."""

    form: bool = False
    providers: tuple[IdentityProvider, ...] = ()
    providers_register: bool = False
    provider_page: str | None = None
    closed_because: str | None = None

    @classmethod
    def of(cls, tenant: Tenant, enabled_providers: Iterable[IdentityProvider]) -> RegistrationOffer:
        policy = TenantAuthPolicy.of(tenant)
        if policy.is_pseudo_sso:
            if tenant.auth.registration_url is None:
                return cls(
                    closed_because=N_(
                        "accounts here come from this practice's identity provider, and no link to "
                        "its registration page is set up; ask the practice's administrator for an account"
                    )
                )
            return cls(provider_page=tenant.auth.registration_url)
        if policy.self_registration_shown:
            offer = cls(
                form=policy.self_registration_allowed,
                providers=tuple(enabled_providers),
                providers_register=policy.jit_registration_allowed,
            )
            if offer.form or (offer.providers and offer.providers_register):
                return offer
        return cls(closed_because=NO_REGISTRATIONS)


@dataclass(frozen=True)
class LoginPolicyAdministration:
    _tenants: TenantRepository
    _providers: IdentityProviderRepository
    _sessions: SessionRevocation
    _audit: AuditTrail

    def save(self, actor: Practitioner, tenant: Tenant, policy: LoginPolicy) -> list[str]:
        """Validates, saves and audits; returns what changed. Nothing is saved on an error."""
        Authority.of(actor, tenant).require_may_administer_authentication()
        self._tenants.lock(tenant)  # a provider switched off meanwhile is counted below
        before = tenant.auth
        registration_url = policy.registration_url.strip()
        roles_claim = policy.roles_claim.strip()
        # A value named twice for the same right is one mapping; the order the admin chose is kept.
        role_mappings = tuple(dict.fromkeys(RoleMapping(m.value.strip(), m.right) for m in policy.role_mappings))
        after = before.but(
            workflow=policy.workflow,
            unknown_identity=policy.unknown_identity,
            self_registration=policy.self_registration,
            claim_mappings=tuple(sorted(policy.claim_mappings, key=lambda m: list(ProfileField).index(m.field))),
            registration_url=registration_url or None,
            roles_claim=roles_claim,
            role_mappings=role_mappings,
            roles_from_provider=policy.roles_from_provider,
        )
        errors = validate_mappings(policy.claim_mappings) | _roles_problems(policy, roles_claim, role_mappings)
        enabled_providers = sum(1 for p in self._providers.list(tenant.id) if p.settings.enabled)
        if not TenantAuthPolicy(after).leaves_a_way_in(enabled_providers):
            errors["workflow"] = N_("pseudo-SSO needs an enabled Single Sign On provider, or nobody could log in")
        if registration_url and (problem := registration_url_problem(registration_url)):
            errors["registration_url"] = problem
        if errors:
            raise InvalidForm(errors)
        changed = _changes(before, after)
        tenant.auth = after
        if before.workflow != after.workflow:
            TenantAuthPolicy.of(tenant).end_closed_sessions(tenant.id, self._sessions)
        summary = N_("login policy: %(changes)s", changes=in_a_row(changed)) if changed else UNCHANGED
        self._audit.record(tenant, AuditKind.SETTINGS_CHANGED, summary, actor.id)
        return changed

    @staticmethod
    def preview(mappings: tuple[ClaimMapping, ...], sample_claims: str) -> dict[ProfileField, str | None]:
        """What the mappings make of a sample of claims (JSON), before anyone logs in with them."""
        try:
            claims: Any = json.loads(sample_claims)
        except (ValueError, RecursionError):
            raise InvalidForm(
                {"sample_claims": N_('paste the claims as a JSON object, such as {"given_name": "Ann"}')}
            ) from None
        if not isinstance(claims, dict):
            raise InvalidForm({"sample_claims": N_("the claims must be a JSON object")})
        # The same checks as a provider's answer at sign-in (VerifiedIdentity, ClaimMapper).
        problem = document_problem(claims)
        if problem is not None:
            raise InvalidForm({"sample_claims": problem})
        try:
            return ClaimMapper(mappings).profile_from(claims)
        except IdentityRejected as rejected:
            raise InvalidForm({"sample_claims": rejected.reason}) from None


# What the trail says of each setting's new value: each a whole item, translated as one.
_WORKFLOW_CHANGED = {Workflow.STANDARD: N_("workflow standard"), Workflow.PSEUDO_SSO: N_("workflow pseudo_sso")}
_UNKNOWN_IDENTITIES_CHANGED = {
    UnknownIdentityHandling.CONFIRM_BY_OTP: N_("unknown identities confirm_by_otp"),
    UnknownIdentityHandling.LINK_VERIFIED_EMAIL: N_("unknown identities link_verified_email"),
    UnknownIdentityHandling.REGISTER: N_("unknown identities register"),
}
_SELF_REGISTRATION_CHANGED = {True: N_("self-registration on"), False: N_("self-registration off")}
_ROLES_FROM_PROVIDER_CHANGED = {True: N_("roles from the provider on"), False: N_("roles from the provider off")}


def _changes(before: AuthSettings, after: AuthSettings) -> list[str]:
    """What a save changed, in the words of the audit trail (each item a Message)."""
    chosen: tuple[tuple[Mapping[Any, str], object, object], ...] = (
        (_WORKFLOW_CHANGED, before.workflow, after.workflow),
        (_UNKNOWN_IDENTITIES_CHANGED, before.unknown_identity, after.unknown_identity),
        (_SELF_REGISTRATION_CHANGED, before.self_registration, after.self_registration),
    )
    changed = [said[new] for said, old, new in chosen if old != new]
    if before.roles_claim != after.roles_claim:
        claim = after.roles_claim
        changed.append(N_("roles claim %(claim)s", claim=claim) if claim else N_("roles claim none"))
    if before.roles_from_provider != after.roles_from_provider:
        changed.append(_ROLES_FROM_PROVIDER_CHANGED[after.roles_from_provider])
    if before.claim_mappings != after.claim_mappings:
        changed.append(N_("claim mappings changed"))
    if before.role_mappings != after.role_mappings:
        # Each mapping: a right given by a value is a right given to whoever the provider gives it.
        shown = "; ".join(f"{m.value} = {m.right.value}" for m in after.role_mappings)
        changed.append(N_("role mappings %(mappings)s", mappings=shown) if shown else N_("role mappings removed"))
    if before.registration_url != after.registration_url:
        # The address itself: a changed link sends newcomers elsewhere, so the trail says where.
        url = after.registration_url
        changed.append(N_("registration link %(url)s", url=url) if url else N_("registration link removed"))
    return changed
