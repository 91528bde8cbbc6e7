"""SignInTest: an admin's test sign-in at a provider, which logs nobody in and links nothing.

The admin signs in at the provider for real; its answer is checked step by step by the client
(``IdentityProviderClient.diagnose``), the verified claims go through the tenant's claim
mappings, and the matcher says what a real sign-in would do. Only the audit event is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from domain.audit import AuditKind, AuditTrail
from domain.errors import (
    AccountDeactivated,
    DomainError,
    IdentityRejected,
    Message,
    N_,
    NotAllowed,
    SsoRefused,
    UnknownProvider,
    known,
)
from domain.ports import Clock, IdentityProviderClient, IdentityProviderRepository, SecretBox
from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.profile import ProfileField
from domain.text import one_after_another
from domain.sso.checks import AT_PROVIDER, CLAIMS, PROVIDER_STEPS, Check, Status, callback_error
from domain.sso.identity import VerifiedIdentity
from domain.sso.matching import ConfirmByCode, LinkByVerifiedEmail, Linked, RegisterNew, UserMatcher
from domain.sso.mirror import ProviderProfile
from domain.sso.pending import NOT_STARTED, PendingLogin, ProviderAnswer
from domain.sso.provider import IdentityProvider
from domain.tenancy.tenant import Tenant

NOT_YOURS = N_(
    "this test sign-in was started by another administrator or in a session that has ended; "
    "start it again from the Authentication page"
)
CODE_CAME_BACK = N_("you signed in at the provider, and it sent your browser back here with a code")
# Which scope makes a provider send the standard claim a profile field is read from by default.
SCOPE_FOR = {ProfileField.EMAIL: "email", ProfileField.FIRST_NAME: "profile", ProfileField.LAST_NAME: "profile"}
# What to do when the provider sent no value for such a field (the claim it was looked for in, the scope).
NOT_SENT = {
    ProfileField.EMAIL: N_(
        "the provider sent no email (claim %(claim)s): add the scope %(scope)s at the provider, or map the "
        "email to a claim it sends on the login policy page"
    ),
    ProfileField.FIRST_NAME: N_(
        "the provider sent no first name (claim %(claim)s): add the scope %(scope)s at the provider, or map "
        "the first name to a claim it sends on the login policy page"
    ),
    ProfileField.LAST_NAME: N_(
        "the provider sent no last name (claim %(claim)s): add the scope %(scope)s at the provider, or map "
        "the last name to a claim it sends on the login policy page"
    ),
}
EMAIL_NOT_VERIFIED = N_(
    "the provider does not mark the email as verified (email_verified): the portal never links "
    "by it or takes it as proven; a one-time password mailed to it confirms who it is"
)


@dataclass(frozen=True)
class SignInTestResult:
    """What the test found: each check, and for a verified identity its claims, what the claim
    mappings make of them, and what a real sign-in with it would do."""

    provider: IdentityProvider
    checks: tuple[Check, ...]
    identity: VerifiedIdentity | None = None
    profile: ProviderProfile | None = None
    verdict: str | None = None  # a whole sentence: "With this identity, ..."

    @property
    def passed(self) -> bool:
        return all(check.status is not Status.FAILED for check in self.checks)

    @property
    def failed_step(self) -> str | None:
        return next((check.step for check in self.checks if check.status is Status.FAILED), None)


@dataclass(frozen=True)
class SignInTest:
    _providers: IdentityProviderRepository
    _client: IdentityProviderClient
    _secret_box: SecretBox
    _matcher: UserMatcher
    _audit: AuditTrail
    _clock: Clock

    def run(
        self,
        tenant: Tenant,
        admin: Practitioner | None,
        pending: PendingLogin | None,
        callback: Mapping[str, str],
        redirect_uri: str,
    ) -> SignInTestResult:
        """The callback of a test this admin started in this session: refused (raised) otherwise.
        Whatever the provider answered, a result, audited once as passed or failed."""
        tester, test, answer = self._accepted(tenant, admin, pending, callback)
        # Enabled or not: testing comes first.
        provider = known(self._providers.get(tenant.id, test.provider_id), UnknownProvider)
        result = self._checked(tenant, provider, test, answer, redirect_uri)
        name = provider.display_name
        summary = (
            N_("Test sign-in with %(provider)s passed", provider=name)
            if result.passed
            else N_("Test sign-in with %(provider)s failed at %(step)s", provider=name, step=result.failed_step)
        )
        self._audit.record(tenant, AuditKind.PROVIDER_TEST_SIGN_IN, summary, tester.id)
        return result

    def _accepted(
        self, tenant: Tenant, admin: Practitioner | None, pending: PendingLogin | None, callback: Mapping[str, str]
    ) -> tuple[Practitioner, PendingLogin, ProviderAnswer]:
        """The admin, their test and the provider's answer to it."""
        if pending is None or not pending.is_test:
            raise SsoRefused(NOT_STARTED)
        if admin is None or admin.id != pending.tested_by:
            raise NotAllowed(NOT_YOURS)
        Authority.of(admin, tenant).require_may_administer_authentication(
            N_("only an administrator of the Authentication module can test a provider")
        )
        return admin, pending, pending.accept(callback, tenant.id, self._clock.now())

    def _checked(
        self,
        tenant: Tenant,
        provider: IdentityProvider,
        pending: PendingLogin,
        answer: ProviderAnswer,
        redirect_uri: str,
    ) -> SignInTestResult:
        try:
            code = self._code(provider, answer)
        except SsoRefused as refused:
            failed = Check.failed(AT_PROVIDER, str(refused))
            return SignInTestResult(provider, (failed, *(Check.skipped(step) for step in PROVIDER_STEPS)))
        secret = self._secret_box.open(provider.sealed_client_secret)
        diagnosis = self._client.diagnose(provider, pending.redemption(code, secret, redirect_uri))
        checks = (Check.passed(AT_PROVIDER, CODE_CAME_BACK), *diagnosis.checks)
        if diagnosis.identity is None:
            return SignInTestResult(provider, checks)
        identity = diagnosis.identity
        claims_check, profile = self._profile(tenant, identity)
        verdict = self._verdict(tenant, provider, identity) if profile is not None else None
        return SignInTestResult(provider, (*checks, claims_check), identity, profile, verdict)

    @staticmethod
    def _code(provider: IdentityProvider, answer: ProviderAnswer) -> str:
        """The code; the provider's error= explained for an admin rather than a practitioner."""
        if answer.parameters.get("error"):
            raise SsoRefused(callback_error(answer.parameters))
        return answer.code_for(provider)

    @staticmethod
    def _profile(tenant: Tenant, identity: VerifiedIdentity) -> tuple[Check, ProviderProfile | None]:
        """What the tenant's claim mappings make of the claims, and what is missing for the portal."""
        try:
            profile = ProviderProfile.of(tenant, identity)
        except IdentityRejected as rejected:
            return Check.failed(CLAIMS, rejected.reason), None
        claim_of = {mapping.field: mapping.claim for mapping in tenant.auth.claim_mappings}
        missing = [field for field in SCOPE_FOR if field not in profile.values]
        advice = [
            Message(NOT_SENT[field].msgid, {"claim": claim_of.get(field, "?"), "scope": SCOPE_FOR[field]})
            for field in missing
        ]
        if ProfileField.EMAIL in missing:
            return Check.failed(CLAIMS, one_after_another(advice)), profile
        if not profile.email_verified:
            advice.append(EMAIL_NOT_VERIFIED)
        if advice:
            return Check(CLAIMS, Status.NOTE, one_after_another(advice)), profile
        found = N_("the claim mappings find an email the provider vouches for and both names")
        return Check.passed(CLAIMS, found), profile

    def _verdict(self, tenant: Tenant, provider: IdentityProvider, identity: VerifiedIdentity) -> str:
        """What a real sign-in with this identity would do now; the matcher only reads."""
        try:
            match = self._matcher.match(tenant, provider, identity)
        except AccountDeactivated:
            return N_("With this identity, it would be refused: the account of this person is deactivated.")
        except DomainError as refused:
            return N_("With this identity, it would be refused: %(reason)s.", reason=str(refused))
        match match:
            case Linked(practitioner):
                return N_(
                    "With this identity, it signs in as %(name)s (%(email)s), linked to this identity.",
                    name=practitioner.full_name,
                    email=practitioner.email,
                )
            case LinkByVerifiedEmail(practitioner):
                return N_(
                    "With this identity, it links this identity to %(name)s (%(email)s) by the email "
                    "the provider vouches for, and signs them in.",
                    name=practitioner.full_name,
                    email=practitioner.email,
                )
            case RegisterNew(profile):
                return N_(
                    "With this identity, it registers a new practitioner, %(email)s, from these claims.",
                    email=profile[ProfileField.EMAIL],
                )
            case ConfirmByCode():
                return N_(
                    "With this identity, it asks for the email registered here and mails a one-time password to "
                    "it; the identity is linked once the code is entered."
                )
