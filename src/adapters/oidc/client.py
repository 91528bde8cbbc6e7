"""PyoidcClient: the IdentityProviderClient port over pyoidc's messages and GuardedFetcher."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from oic.oauth2.message import AccessTokenRequest
from oic.oic.message import AccessTokenResponse, AuthorizationRequest

from adapters.http_fetch.fetcher import FetchFailed, FetchResponse, GuardedFetcher
from adapters.oidc.id_token import UnknownSigningKey, verified_claims
from adapters.oidc.keys import KeyCache
from domain.sso.claims import claim_value
from domain.errors import IdentityRejected, ProviderUnavailable, UnsafeUrl
from domain.sso.identity import VerifiedIdentity
from domain.sso.provider import DiscoveredConfiguration, IdentityProvider

SCOPE = "openid email profile"
# Plain OAuth 2.0 servers often refuse the unknown scope "openid".
OAUTH2_SCOPE = "email profile"
DISCOVERY_FIELDS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")


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
        document = self._json(self._call("the issuer", lambda: self._fetcher.get(url)), "the issuer")
        missing = [name for name in ("issuer", *DISCOVERY_FIELDS) if not isinstance(document.get(name), str)]
        if missing:
            raise ProviderUnavailable(f"the issuer's document has no {', '.join(missing)}")
        methods = document.get("token_endpoint_auth_methods_supported") or []
        return DiscoveredConfiguration(
            issuer=document["issuer"],
            **{name: document[name] for name in DISCOVERY_FIELDS},
            token_endpoint_auth_methods_supported=tuple(m for m in methods if isinstance(m, str)),
        )

    def authorization_url(
        self, provider: IdentityProvider, redirect_uri: str, state: str, nonce: str, code_challenge: str
    ) -> str:
        oauth2 = provider.settings.protocol == "oauth2"
        request = AuthorizationRequest(
            response_type="code",
            client_id=provider.settings.client_id,
            redirect_uri=redirect_uri,
            scope=OAUTH2_SCOPE if oauth2 else SCOPE,
            state=state,
            code_challenge=code_challenge,
            code_challenge_method="S256",
        )
        if not oauth2:  # no ID token, so nothing would carry the nonce back
            request["nonce"] = nonce
        return str(request.request(provider.settings.authorization_endpoint))

    def redeem(
        self,
        provider: IdentityProvider,
        client_secret: str,
        code: str,
        code_verifier: str,
        redirect_uri: str,
        nonce: str,
    ) -> VerifiedIdentity:
        if provider.settings.protocol == "oauth2":
            return self._redeem_oauth2(provider, client_secret, code, code_verifier, redirect_uri)
        tokens = self._exchange_code(provider, client_secret, code, code_verifier, redirect_uri)
        if not isinstance(tokens.get("id_token"), str):
            raise IdentityRejected("the token endpoint answered without an ID token")
        claims = self._verify_id_token(provider, tokens["id_token"], nonce)
        userinfo = self._userinfo(provider, tokens["access_token"])
        if userinfo.get("sub") != claims["sub"]:
            raise IdentityRejected("the userinfo answer is about another subject than the ID token")
        # The signed ID token wins where both speak.
        return VerifiedIdentity(issuer=claims["iss"], subject=claims["sub"], claims={**userinfo, **claims})

    def _redeem_oauth2(
        self, provider: IdentityProvider, client_secret: str, code: str, code_verifier: str, redirect_uri: str
    ) -> VerifiedIdentity:
        """Plain OAuth 2.0: no ID token to verify (one in the answer is ignored), so the identity is
        what the userinfo endpoint says for the access token, keyed by the provider itself."""
        tokens = self._exchange_code(provider, client_secret, code, code_verifier, redirect_uri)
        userinfo = self._userinfo(provider, tokens["access_token"])
        foreign_id = claim_value(userinfo, provider.settings.subject_field)  # a name or a dotted path
        if isinstance(foreign_id, bool) or not isinstance(foreign_id, (str, int)) or str(foreign_id) == "":
            raise IdentityRejected(f"the userinfo answer has no {provider.settings.subject_field}")
        subject = str(foreign_id)
        if len(subject) > 255:
            raise IdentityRejected(
                f"the userinfo answer's {provider.settings.subject_field} is longer than 255 characters"
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
        if isinstance(userinfo.get("email_verified"), bool):  # only the userinfo's own word on it
            claims["email_verified"] = userinfo["email_verified"]
        return VerifiedIdentity(issuer=provider.identity_issuer, subject=subject, claims=claims)

    def _exchange_code(
        self, provider: IdentityProvider, client_secret: str, code: str, code_verifier: str, redirect_uri: str
    ) -> dict[str, Any]:
        request = AccessTokenRequest(
            grant_type="authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
        ).to_dict()
        headers = {"Accept": "application/json"}
        if provider.settings.token_endpoint_auth_method == "client_secret_post":
            request.update(client_id=provider.settings.client_id, client_secret=client_secret)
        else:  # RFC 6749 2.3.1: both parts form-encoded before Basic encoding
            pair = f"{quote_plus(provider.settings.client_id)}:{quote_plus(client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        response = self._call(
            "the token endpoint",
            lambda: self._fetcher.post(provider.settings.token_endpoint, data=request, headers=headers),
        )
        document = self._json(response, "the token endpoint")
        tokens = AccessTokenResponse().from_dict(document)
        if not isinstance(tokens.get("access_token"), str):
            raise ProviderUnavailable("the token endpoint answered without an access token")
        if str(tokens.get("token_type", "")).lower() != "bearer":
            raise ProviderUnavailable("the token endpoint answered with a token type other than Bearer")
        return dict(tokens.to_dict())

    def _verify_id_token(self, provider: IdentityProvider, raw: str, nonce: str) -> dict[str, Any]:
        try:
            return verified_claims(raw, self._keys.keys(provider), provider, nonce, self._wall_clock())
        except UnknownSigningKey:
            # Key rotation: refresh once (rate-limited), then decide; never skip the check.
            if self._keys.refresh_for_unknown_kid(provider):
                try:
                    return verified_claims(raw, self._keys.keys(provider), provider, nonce, self._wall_clock())
                except UnknownSigningKey:
                    pass
            raise IdentityRejected("the ID token is signed with a key the provider does not publish") from None

    def _userinfo(self, provider: IdentityProvider, access_token: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        response = self._call(
            "the userinfo endpoint", lambda: self._fetcher.get(provider.settings.userinfo_endpoint, headers=headers)
        )
        return self._json(response, "the userinfo endpoint")

    @staticmethod
    def _call(what: str, request: Callable[[], FetchResponse]) -> FetchResponse:
        try:
            response = request()
            response.require_ok(what)
            return response
        except FetchFailed as failed:
            message = failed.message if failed.message.startswith(what) else f"{what}: {failed.message}"
            raise ProviderUnavailable(message) from failed
        except UnsafeUrl as unsafe:
            raise ProviderUnavailable(f"{what}: {unsafe.reason}") from unsafe

    @staticmethod
    def _json(response: FetchResponse, what: str) -> dict[str, Any]:
        try:
            document = response.json()
        except FetchFailed as failed:
            raise ProviderUnavailable(f"{what}: {failed.message}") from failed
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{what} answered with something other than a JSON object")
        return document
