"""PyoidcClient: the IdentityProviderClient port over pyoidc's messages and GuardedFetcher."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
import json
from typing import Any, TypeVar
from urllib.parse import quote_plus

from oic.oauth2.message import AccessTokenRequest
from oic.oic.message import AccessTokenResponse, AuthorizationRequest, EndSessionRequest

from adapters.http_fetch.fetcher import FetchFailed, FetchResponse, GuardedFetcher
from adapters.oidc.id_token import (
    EXPIRED,
    ID_TOKEN as ID_TOKEN_NAME,
    ISSUED_IN_THE_FUTURE,
    CLOCK_LEEWAY,
    UnknownSigningKey,
    parsed,
    signed_claims,
    unsigned_claims,
    verified_claims,
)
from adapters.oidc.keys import KeyCache, SigningKey, problem_at
from domain.sso.checks import (
    DISCOVERY,
    ID_TOKEN,
    KEYS,
    TOKEN,
    USERINFO,
    Check,
    Diagnosis,
    Status,
    clock_skew,
    token_refused,
)
from domain.sso.claims import claim_value
from domain.errors import DomainError, IdentityRejected, N_, Nn_, ProviderUnavailable, UnsafeUrl
from domain.sso.identity import VerifiedIdentity
from domain.sso.provider import DiscoveredConfiguration, IdentityProvider
from domain.sso.redemption import CodeRedemption

DISCOVERY_FIELDS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")
# id_token.py's refusals of a signed token's times: between two synchronised clocks a fresh token passes.
CLOCK_REASONS = (EXPIRED, ISSUED_IN_THE_FUTURE)
NO_DISCOVERY = N_("plain OAuth 2.0 has no discovery document; the userinfo answer says who it is")
NO_KEYS = N_("plain OAuth 2.0 has no signing keys; the userinfo answer says who it is")
NO_ID_TOKEN = N_("plain OAuth 2.0 has no ID token; the userinfo answer says who it is")

LOGOUT_TOKEN = N_("the logout token")
# The places the client talks to, as its refusals name them.
_ISSUER = N_("the issuer")
_TOKEN_ENDPOINT = N_("the token endpoint")
_USERINFO_ENDPOINT = N_("the userinfo endpoint")  # as a refusal names it

T = TypeVar("T")
V = TypeVar("V")


class TokenEndpointRefused(ProviderUnavailable):
    """The token endpoint answered with an error: its status and OAuth error (RFC 6749 5.2), kept
    so a test sign-in can say what is wrong; a login says only that it answered HTTP n."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"the token endpoint answered HTTP {status}")
        self.status, self.error, self.description = status, error, description

    @classmethod
    def of(cls, response: FetchResponse) -> TokenEndpointRefused:
        try:
            document = response.json()
        except FetchFailed:
            document = {}
        said = document if isinstance(document, dict) else {}
        error, description = said.get("error"), said.get("error_description")
        return cls(
            response.status,
            error[:100] if isinstance(error, str) else "",
            description[:300] if isinstance(description, str) else "",
        )


class _Steps:
    """The checks of a diagnosis as they run: a step that fails is reported, and the steps that
    need its result are skipped."""

    def __init__(self) -> None:
        self.checks: list[Check] = []

    def add(self, check: Check) -> None:
        self.checks.append(check)

    def run(self, step: str, action: Callable[[], tuple[T, str]]) -> T | None:
        try:
            value, explanation = action()
        except IdentityRejected as rejected:
            self.add(Check.failed(step, rejected.reason))
        except DomainError as err:
            self.add(Check.failed(step, str(err)))
        else:
            self.add(Check.passed(step, explanation or N_("passed")))
            return value
        return None

    def after(self, needed: V | None, step: str, action: Callable[[V], tuple[T, str]]) -> T | None:
        if needed is None:
            self.add(Check.skipped(step))
            return None
        return self.run(step, lambda: action(needed))

    def diagnosis(self, identity: VerifiedIdentity | None) -> Diagnosis:
        return Diagnosis(tuple(self.checks), identity)


def _id_token_of(tokens: dict[str, Any]) -> str:
    if not isinstance(tokens.get("id_token"), str):
        raise IdentityRejected(N_("the token endpoint answered without an ID token"))
    return str(tokens["id_token"])


def _clock_difference(raw: str, now: float) -> float | None:
    """How far the provider's clock is ahead of ours (behind: negative), judged by when it says it
    issued the token it just sent (its signature held); None when that is within the leeway."""
    issued = json.loads(parsed(raw).payload).get("iat")
    if isinstance(issued, bool) or not isinstance(issued, (int, float)) or abs(issued - now) <= CLOCK_LEEWAY:
        return None
    return float(issued - now)


class PyoidcClient:
    # One client serves every login of the process; with slots no login can leave an attribute behind.
    __slots__ = ("_fetcher", "_keys", "_wall_clock")

    def __init__(self, fetcher: GuardedFetcher, keys: KeyCache, wall_clock: Callable[[], float] = time.time) -> None:
        self._fetcher = fetcher
        self._keys = keys
        self._wall_clock = wall_clock

    def cached_keys(self) -> int:
        """The signing keys held for all providers together: all the client keeps between logins."""
        return self._keys.key_count()

    def discover(self, issuer: str) -> DiscoveredConfiguration:
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = self._json(self._call(_ISSUER, lambda: self._fetcher.get(url)), _ISSUER)
        missing = [name for name in ("issuer", *DISCOVERY_FIELDS) if not isinstance(document.get(name), str)]
        if missing:
            raise ProviderUnavailable(N_("the issuer's document has no %(fields)s", fields=", ".join(missing)))
        methods = document.get("token_endpoint_auth_methods_supported") or []
        end_session = document.get("end_session_endpoint")
        return DiscoveredConfiguration(
            issuer=document["issuer"],
            **{name: document[name] for name in DISCOVERY_FIELDS},
            token_endpoint_auth_methods_supported=tuple(m for m in methods if isinstance(m, str)),
            end_session_endpoint=end_session if isinstance(end_session, str) else "",
            backchannel_logout_supported=document.get("backchannel_logout_supported") is True,
        )

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
        settings = provider.settings
        request = AuthorizationRequest(
            response_type="code",
            client_id=settings.client_id,
            redirect_uri=redirect_uri,
            scope=settings.scope,
            state=state,
            code_challenge=code_challenge,
            code_challenge_method="S256",
        )
        if settings.protocol == "oidc":  # a plain OAuth 2.0 provider sends no ID token to carry the nonce back
            request["nonce"] = nonce
        # Providers that do not know a hint ignore it (OpenID Connect Core 3.1.2.1).
        if settings.domain_hint:
            request["domain_hint"] = settings.domain_hint
        if login_hint:
            request["login_hint"] = login_hint
        if ui_locales:
            request["ui_locales"] = ui_locales
        return str(request.request(settings.authorization_endpoint))

    def end_session_url(
        self, provider: IdentityProvider, id_token_hint: str | None, post_logout_redirect_uri: str, state: str
    ) -> str:
        request = EndSessionRequest(
            client_id=provider.settings.client_id, post_logout_redirect_uri=post_logout_redirect_uri, state=state
        )
        if id_token_hint:
            request["id_token_hint"] = id_token_hint
        return str(request.request(provider.settings.end_session_endpoint))

    def unverified_claims(self, raw_token: str) -> dict[str, Any]:
        return unsigned_claims(raw_token, LOGOUT_TOKEN)

    def signed_claims(self, provider: IdentityProvider, raw_token: str) -> dict[str, Any]:
        # A provider sends a back-channel logout again when it is answered "unavailable": a token
        # signed with a new key while the keys cannot be read must not be refused for good.
        return self._signed(
            provider,
            lambda keys: signed_claims(raw_token, keys, LOGOUT_TOKEN),
            LOGOUT_TOKEN,
            unreadable_keys_are_temporary=True,
        )

    def redeem(self, provider: IdentityProvider, redemption: CodeRedemption) -> VerifiedIdentity:
        tokens = self._exchange_code(provider, redemption)
        if provider.settings.protocol == "oauth2":
            return self._oauth2_identity(provider, tokens["access_token"])
        raw = _id_token_of(tokens)
        claims = self._verify_id_token(provider, raw, redemption.nonce)
        return self._oidc_identity(provider, tokens["access_token"], claims, raw)

    def diagnose(self, provider: IdentityProvider, redemption: CodeRedemption) -> Diagnosis:
        """What ``redeem`` checks, each step reported on its own: the same steps, run one by one."""
        steps = _Steps()
        oidc = provider.settings.protocol == "oidc"
        steps.add(self._discovery_check(provider) if oidc else Check.skipped(DISCOVERY, NO_DISCOVERY))
        if oidc:
            steps.run(KEYS, lambda: self._keys_found(provider))
        else:
            steps.add(Check.skipped(KEYS, NO_KEYS))
        tokens = steps.run(TOKEN, lambda: self._tokens(provider, redemption))
        if not oidc:
            steps.add(Check.skipped(ID_TOKEN, NO_ID_TOKEN))
            identity = steps.after(tokens, USERINFO, lambda t: (self._oauth2_identity(provider, t["access_token"]), ""))
            return steps.diagnosis(identity)
        signed = steps.after(tokens, ID_TOKEN, lambda t: self._id_token_claims(provider, t, redemption.nonce))
        identity = steps.after(signed, USERINFO, lambda s: (self._oidc_identity(provider, *s), ""))
        return steps.diagnosis(identity)

    def _discovery_check(self, provider: IdentityProvider) -> Check:
        """Informational: the saved endpoints are what a login uses, whatever the issuer publishes now."""
        try:
            found = self.discover(provider.settings.issuer)
        except DomainError as err:
            return Check(
                DISCOVERY, Status.NOTE, N_("%(problem)s; the saved endpoints are used without it", problem=str(err))
            )
        differ = [name for name in DISCOVERY_FIELDS if getattr(found, name) != getattr(provider.settings, name)]
        if differ:
            named = ", ".join(differ)  # the form's field names: the same in every language
            differs = N_("the issuer now publishes other values than the ones saved here for %(fields)s", fields=named)
            return Check(DISCOVERY, Status.NOTE, differs)
        return Check.passed(DISCOVERY, N_("the issuer's discovery document names the endpoints saved here"))

    def _keys_found(self, provider: IdentityProvider) -> tuple[int, str]:
        count = len(self._keys.keys(provider))
        return count, Nn_(
            "%(count)s signing key published at the JWKS URI", "%(count)s signing keys published at the JWKS URI", count
        )

    def _tokens(self, provider: IdentityProvider, redemption: CodeRedemption) -> tuple[dict[str, Any], str]:
        try:
            tokens = self._exchange_code(provider, redemption)
        except TokenEndpointRefused as refused:
            raise ProviderUnavailable(
                token_refused(refused.status, refused.error, refused.description, redemption.redirect_uri)
            ) from refused
        return tokens, N_("the client id and secret were accepted and the code was exchanged for tokens")

    def _id_token_claims(
        self, provider: IdentityProvider, tokens: dict[str, Any], nonce: str
    ) -> tuple[tuple[str, dict[str, Any]], str]:
        """The access token and the ID token's verified claims; a time refused is told as a clock problem."""
        raw = _id_token_of(tokens)
        try:
            claims = self._verify_id_token(provider, raw, nonce)
        except IdentityRejected as rejected:
            difference = _clock_difference(raw, self._wall_clock()) if rejected.reason in CLOCK_REASONS else None
            if difference is None:
                raise
            raise IdentityRejected(clock_skew(difference)) from rejected
        return (tokens["access_token"], claims), N_(
            "signature, issuer, audience, expiry, issue time and nonce are right"
        )

    def _oidc_identity(
        self, provider: IdentityProvider, access_token: str, claims: dict[str, Any], raw_id_token: str | None = None
    ) -> VerifiedIdentity:
        """``raw_id_token``: the token as sent, kept by a login's session (a test sign-in keeps none)."""
        userinfo = self._userinfo(provider, access_token)
        if userinfo.get("sub") != claims["sub"]:
            raise IdentityRejected(N_("the userinfo answer is about another subject than the ID token"))
        # The signed ID token wins where both speak; the sid is the ID token's alone.
        sid = claims.get("sid") if "sid" in claims else None
        merged = {**userinfo, **claims}
        if "email_verified" not in claims and merged.get("email") != userinfo.get("email"):
            # The userinfo's email_verified speaks of its own email, not of another the ID token names.
            merged.pop("email_verified", None)
        return VerifiedIdentity(claims["iss"], claims["sub"], merged, sid=sid, id_token=raw_id_token)

    def _oauth2_identity(self, provider: IdentityProvider, access_token: str) -> VerifiedIdentity:
        """Plain OAuth 2.0: no ID token to verify (one in the answer is ignored), so the identity is
        what the userinfo endpoint says for the access token, keyed by the provider itself."""
        userinfo = self._userinfo(provider, access_token)
        foreign_id = claim_value(userinfo, provider.settings.subject_field)  # a name or a dotted path
        if isinstance(foreign_id, bool) or not isinstance(foreign_id, (str, int)) or str(foreign_id) == "":
            raise IdentityRejected(N_("the userinfo answer has no %(field)s", field=provider.settings.subject_field))
        subject = str(foreign_id)
        if len(subject) > 255:
            raise IdentityRejected(
                N_(
                    "the userinfo answer's %(field)s is longer than 255 characters",
                    field=provider.settings.subject_field,
                )
            )
        claims = {name: value for name, value in userinfo.items() if name != "email_verified"}
        claims["sub"] = subject
        for claim, field in (
            ("email", provider.settings.email_field),
            ("given_name", provider.settings.given_name_field),
            ("family_name", provider.settings.family_name_field),
        ):
            value = claim_value(userinfo, field)
            if isinstance(value, str):
                claims[claim] = value
            else:  # not the standard claim of the same name either: the configured field wins
                claims.pop(claim, None)
        # Only the userinfo's own word, and only on its own email: a configured field holding
        # another address (one the person may set at will) is not what the provider checked.
        if isinstance(userinfo.get("email_verified"), bool) and claims.get("email") == userinfo.get("email"):
            claims["email_verified"] = userinfo["email_verified"]
        return VerifiedIdentity(issuer=provider.identity_issuer, subject=subject, claims=claims)

    def _exchange_code(self, provider: IdentityProvider, redemption: CodeRedemption) -> dict[str, Any]:
        client_secret = redemption.client_secret
        request = AccessTokenRequest(
            grant_type="authorization_code",
            code=redemption.code,
            redirect_uri=redemption.redirect_uri,
            code_verifier=redemption.code_verifier,
        ).to_dict()
        headers = {"Accept": "application/json"}
        if provider.settings.token_endpoint_auth_method == "client_secret_post":
            request.update(client_id=provider.settings.client_id, client_secret=client_secret)
        else:  # RFC 6749 2.3.1: both parts form-encoded before Basic encoding
            pair = f"{quote_plus(provider.settings.client_id)}:{quote_plus(client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        response = self._call(
            _TOKEN_ENDPOINT,
            lambda: self._fetcher.post(provider.settings.token_endpoint, data=request, headers=headers),
            require_ok=False,
        )
        if not response.ok:
            raise TokenEndpointRefused.of(response)
        document = self._json(response, _TOKEN_ENDPOINT)
        tokens = AccessTokenResponse().from_dict(document)
        if not isinstance(tokens.get("access_token"), str):
            raise ProviderUnavailable(N_("the token endpoint answered without an access token"))
        if str(tokens.get("token_type", "")).lower() != "bearer":
            raise ProviderUnavailable(N_("the token endpoint answered with a token type other than Bearer"))
        return dict(tokens.to_dict())

    def _verify_id_token(self, provider: IdentityProvider, raw: str, nonce: str) -> dict[str, Any]:
        return self._signed(
            provider, lambda keys: verified_claims(raw, keys, provider, nonce, self._wall_clock()), ID_TOKEN_NAME
        )

    def _signed(
        self,
        provider: IdentityProvider,
        check: Callable[[list[SigningKey]], T],
        what: str,
        unreadable_keys_are_temporary: bool = False,
    ) -> T:
        """``check`` with the provider's keys; on an unknown key id, with its keys refreshed once.
        A refresh that fails refuses the token, or with ``unreadable_keys_are_temporary`` raises
        ProviderUnavailable (the keys may hold it once they can be read)."""
        try:
            return check(self._keys.keys(provider))
        except UnknownSigningKey:
            # Key rotation: refresh once (rate-limited), then decide; never skip the check.
            failure = self._keys.refresh_for_unknown_kid(provider)
            if failure is None:
                try:
                    return check(self._keys.keys(provider))
                except UnknownSigningKey:
                    pass
            elif unreadable_keys_are_temporary:
                raise ProviderUnavailable(failure.what) from None
            raise IdentityRejected(
                N_("%(what)s is signed with a key the provider does not publish", what=what)
            ) from None

    def _userinfo(self, provider: IdentityProvider, access_token: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        response = self._call(
            _USERINFO_ENDPOINT, lambda: self._fetcher.get(provider.settings.userinfo_endpoint, headers=headers)
        )
        return self._json(response, _USERINFO_ENDPOINT)

    @staticmethod
    def _call(what: str, request: Callable[[], FetchResponse], require_ok: bool = True) -> FetchResponse:
        try:
            response = request()
            if require_ok:
                response.require_ok(what)
            return response
        except FetchFailed as failed:
            message = failed.message if failed.message.startswith(what) else problem_at(what, failed.message)
            raise ProviderUnavailable(message) from failed
        except UnsafeUrl as unsafe:
            raise ProviderUnavailable(problem_at(what, unsafe.reason)) from unsafe

    @staticmethod
    def _json(response: FetchResponse, what: str) -> dict[str, Any]:
        try:
            document = response.json()
        except FetchFailed as failed:
            raise ProviderUnavailable(problem_at(what, failed.message)) from failed
        if not isinstance(document, dict):
            raise ProviderUnavailable(N_("%(what)s answered with something other than a JSON object", what=what))
        return document
