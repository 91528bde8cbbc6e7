"""OpenIDProvider: pyoidc's OpenID Provider wired up once, for the demo provider and the tests' OP.

It is pyoidc's ``oic.oic.provider.Provider`` (session db, client db, an AuthnBroker whose one
method logs in whoever the caller says is logged in, an RSA signing key with a ``kid``) behind
methods that take a request's parts and give a ``Reply``; serving them over HTTP is the caller's.
What pyoidc does not do itself is done here: PKCE (RFC 7636, S256 only) at the token endpoint, a
``sid`` in every ID token (the caller's login session), RP-Initiated Logout, logout tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote_plus, urlsplit, urlunsplit

from jwkest.jwk import RSAKey
from oic import rndstr
from oic.exception import PyoidcError
from oic.oic.message import AuthorizationErrorResponse
from oic.oic.provider import Provider
from oic.utils.authn.authn_context import AuthnBroker
from oic.utils.authn.client import verify_client
from oic.utils.authn.user import UserAuthnMethod
from oic.utils.authz import AuthzHandling
from oic.utils.clientdb import BaseClientDatabase
from oic.utils.http_util import Response
from oic.utils.keyio import KeyBundle, KeyJar
from oic.utils.sdb import create_session_db
from oic.utils.userinfo import UserInfo

from entrypoints.openid_provider.keys import b64url
from entrypoints.openid_provider.logout import EndSession, end_session, logout_token_claims
from entrypoints.openid_provider.replies import Reply, error_reply, from_pyoidc, redirect_reply

DISCOVERY = "/.well-known/openid-configuration"
AUTHORIZATION, TOKEN, USERINFO, JWKS = "/authorization", "/token", "/userinfo", "/jwks"
END_SESSION = "/end_session"
ACR = "urn:practice-portal:openid-provider:login"

# RFC 7636 §4.1: 43 to 128 unreserved characters.
_CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


@dataclass(frozen=True)
class Login:
    """Who is logged in at the provider, and the provider's session id for that login (``sid``)."""

    uid: str
    sid: str


@dataclass(frozen=True)
class SignedIn:
    """A client that was given an ID token for a login: whom to tell when that login ends."""

    client_id: str
    sub: str


class _Clients(BaseClientDatabase):
    """pyoidc's client db is any mapping, but it warns unless it is a BaseClientDatabase."""

    def __init__(self) -> None:
        self._clients: dict[str, dict[str, Any]] = {}

    def __getitem__(self, key: str) -> dict[str, Any]:
        return self._clients[key]

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        self._clients[key] = value

    def __delitem__(self, key: str) -> None:
        del self._clients[key]

    def keys(self) -> list[str]:
        return list(self._clients)

    def items(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self._clients.items())


class _CurrentLogin(UserAuthnMethod):
    """The only authentication method: whoever the caller says is logged in, no form here."""

    def __init__(self, login: Callable[[], Login | None], not_logged_in: Callable[[str], Response]) -> None:
        super().__init__(None)
        self._login, self._not_logged_in = login, not_logged_in

    def authenticated_as(self, cookie: Any = None, **kwargs: Any) -> tuple[dict[str, str] | None, int]:
        login = self._login()
        return ({"uid": login.uid}, int(time.time())) if login else (None, 0)

    def done(self, areq: Any) -> bool:
        # prompt=login: the user "logs in again" instantly instead of getting a form.
        return False

    def __call__(self, **kwargs: Any) -> Response:
        # pyoidc calls this to show a login form; we only get here when nobody is logged in.
        return self._not_logged_in(str(kwargs.get("query", "")))


class _PyoidcProvider(Provider):
    """pyoidc's Provider with the behaviours changed that the overrides name."""

    claims_in_id_token = True
    login: Login | None = None  # set by OpenIDProvider.authorize, under its lock
    last_sid: str | None = None
    signed_in: dict[str, set[SignedIn]]  # sid -> the clients given an ID token for that login

    def setup_session(self, areq: Any, authn_event: Any, cinfo: Any) -> str:
        key: str = super().setup_session(areq, authn_event, cinfo)
        # pyoidc derives sub = sha256(uid + salt); the uid is the subject here, as the users db has it.
        self.sdb.update(key, "sub", authn_event.uid)
        # pyoidc's session key is a secret; the login's own id is the `sid` clients may see.
        self.sdb.update(key, "op_sid", self.login.sid if self.login else rndstr(24))
        return key

    def id_token_as_signed_jwt(self, session: Any, *args: Any, **kwargs: Any) -> Any:
        # pyoidc passes everything but the session by keyword, extra_claims never.
        self.last_sid = session["op_sid"]
        kwargs["extra_claims"] = {**(kwargs.get("extra_claims") or {}), "sid": self.last_sid}
        self.signed_in.setdefault(session["op_sid"], set()).add(SignedIn(session["client_id"], session["sub"]))
        return super().id_token_as_signed_jwt(session, *args, **kwargs)

    def userinfo_in_id_token_claims(self, session: Any) -> Any:
        claims = super().userinfo_in_id_token_claims(session)
        if claims is None and self.claims_in_id_token:
            # pyoidc only copies user claims into the ID token when the RP sends a `claims`
            # request parameter; real providers put the scope's claims (email, names) there too.
            claims = self._collect_user_info(session)
        return claims


def _client_authn(provider: Provider, areq: Any, authn: str) -> str:
    """pyoidc's verify_client, after undoing the form-encoding of Basic credentials.

    RFC 6749 §2.3.1 form-encodes client_id and secret before base64; pyoidc's own client does,
    its server doesn't decode them (and it splits on every ':', so secrets must not contain one).
    """
    if authn and authn.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(authn[6:], validate=True).decode("utf-8").partition(":")
        except ValueError:
            client_id = secret = ""
        plain = f"{unquote_plus(client_id)}:{unquote_plus(secret)}".encode()
        authn = "Basic " + base64.b64encode(plain).decode("ascii")
    cid: str = verify_client(provider, areq, authn)
    return cid


def pkce_refusal(authzreq: Mapping[str, Any], form: Mapping[str, str]) -> str | None:
    """RFC 7636 §4.6 at the token endpoint, which pyoidc's oic Provider doesn't check at all."""
    challenge, verifier = authzreq.get("code_challenge"), form.get("code_verifier")
    if challenge is None:
        # A verifier for a request that had no challenge smells of a PKCE downgrade.
        return "code_verifier sent but the authorization request had no code_challenge" if verifier else None
    if verifier is None or not _CODE_VERIFIER.fullmatch(verifier):
        return "missing or malformed code_verifier"
    computed = b64url(hashlib.sha256(verifier.encode("ascii")).digest())
    if not hmac.compare_digest(computed, challenge):
        return "code_verifier does not match the code_challenge"
    return None


def challenge_refusal(params: Mapping[str, str], require_pkce: bool) -> tuple[str, str] | None:
    """The authorization request's PKCE part: S256 only, and required unless told otherwise."""
    if "code_challenge" in params and params.get("code_challenge_method") != "S256":
        return ("invalid_request", "only code_challenge_method=S256 is supported")
    if require_pkce and "code_challenge" not in params:
        return ("invalid_request", "code_challenge (PKCE, S256) is required")
    return None


def refused(redirect_uri: str, refusal: tuple[str, str], state: str | None) -> Reply:
    """The authorization error redirect (RFC 6749 §4.1.2.1) with the request's state."""
    error = AuthorizationErrorResponse(error=refusal[0], error_description=refusal[1])
    if state is not None:
        error["state"] = state
    return redirect_reply(error.request(redirect_uri), 303)


class OpenIDProvider:
    """pyoidc's Provider for ``issuer``: clients, users (sub -> claims) and the endpoints' logic.

    pyoidc's Provider isn't meant for concurrent requests: every call into it holds ``lock``.
    ``not_logged_in`` answers an authorization request when nobody is logged in (a login page).
    """

    def __init__(self, issuer: str, not_logged_in: Callable[[str], Response], jwks_path: str = JWKS) -> None:
        self.issuer = issuer
        self.clients = _Clients()  # pyoidc's client db: client_id -> registration
        self.users: dict[str, dict[str, Any]] = {}  # pyoidc's user info db: sub -> claims
        self.post_logout_redirect_uris: dict[str, list[str]] = {}  # client_id -> registered URIs
        self.lock = threading.RLock()
        self._op = self._build(not_logged_in, issuer + jwks_path)

    def _build(self, not_logged_in: Callable[[str], Response], jwks_uri: str) -> _PyoidcProvider:
        broker = AuthnBroker()
        provider: _PyoidcProvider
        broker.add(ACR, _CurrentLogin(lambda: provider.login, not_logged_in))
        provider = _PyoidcProvider(
            self.issuer,
            create_session_db(self.issuer, secret=rndstr(32), password=rndstr(32)),
            self.clients,
            broker,
            UserInfo(self.users),
            AuthzHandling(),
            _client_authn,
            symkey=rndstr(16),
            keyjar=KeyJar(),
            baseurl=self.issuer,
        )
        provider.signed_in = {}
        # oic's Provider accepts jwks_uri but never passes it on, so discovery would lack it.
        provider.jwks_uri = jwks_uri
        _advertise_what_is_served(provider, self.issuer)
        return provider

    def use_signing_key(self, jwk: RSAKey) -> None:
        """Sign ID tokens with ``jwk`` from now on."""
        # pyoidc signs with the first key in its keyjar, so only the current one is there (and
        # one must be: without keys pyoidc leaves jwks_uri out of the discovery document).
        bundle = KeyBundle()
        bundle.append(jwk)
        with self.lock:
            self._op.keyjar.issuer_keys[""] = [bundle]

    @property
    def claims_in_id_token(self) -> bool:
        """Whether ID tokens carry the scope's user claims, as most providers do."""
        return self._op.claims_in_id_token

    @claims_in_id_token.setter
    def claims_in_id_token(self, value: bool) -> None:
        self._op.claims_in_id_token = value

    @property
    def last_sid(self) -> str | None:
        """The ``sid`` of the latest ID token issued (None before the first)."""
        return self._op.last_sid

    # -- set-up --------------------------------------------------------------------------------

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: Iterable[str],
        token_endpoint_auth_method: str = "client_secret_basic",
        post_logout_redirect_uris: Iterable[str] = (),
        backchannel_logout_uri: str | None = None,
    ) -> None:
        """A confidential client (code flow) with exact redirect URIs, the URIs end-session may
        send the browser back to, and where back-channel logout tokens go (if anywhere)."""
        if token_endpoint_auth_method not in ("client_secret_basic", "client_secret_post"):
            raise ValueError(f"unsupported token_endpoint_auth_method: {token_endpoint_auth_method}")
        # pyoidc's format: (uri without query, registered query parameters or None)
        registered = [
            (urlunsplit(urlsplit(uri)._replace(query="")), parse_qs(urlsplit(uri).query) or None)
            for uri in redirect_uris
        ]
        registration = {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": registered,
            "token_endpoint_auth_method": token_endpoint_auth_method,
            "response_types": ["code"],
            "client_salt": rndstr(8),
        }
        if backchannel_logout_uri:
            registration["backchannel_logout_uri"] = backchannel_logout_uri
        with self.lock:
            self.clients[client_id] = registration
            self.post_logout_redirect_uris[client_id] = list(post_logout_redirect_uris)

    def release_for_scope(self, scope: str, *claims: str) -> None:
        """A scope the provider knows and the claims it releases (pyoidc releases claims by scope)."""
        with self.lock:
            self._op.extra_scope_dict = {**(self._op.extra_scope_dict or {}), scope: list(claims)}
            supported = self._op.capabilities["scopes_supported"]
            self._op.capabilities["scopes_supported"] = [*supported, scope]

    # -- the endpoints' logic --------------------------------------------------------------------

    def call(self, endpoint: Callable[..., Response], **kwargs: Any) -> Reply:
        """Call a pyoidc endpoint; bad input that makes pyoidc raise is a 400, as at a real OP."""
        with self.lock:
            try:
                return from_pyoidc(endpoint(**kwargs))
            except (PyoidcError, KeyError, ValueError) as err:
                return error_reply(400, "invalid_request", f"{type(err).__name__}: {err}")

    def discovery(self) -> Reply:
        return self.call(self._op.providerinfo_endpoint)

    def checked_authorization(self, query: str) -> Reply | str:
        """The client and redirect URI checked (an error Reply if not): the redirect URI."""
        with self.lock:
            checked = self._op.auth_init(query)
        return from_pyoidc(checked) if isinstance(checked, Response) else str(checked["redirect_uri"])

    def authorize(self, query: str, login: Login | None) -> Reply:
        """The code redirect for ``login``, or ``not_logged_in``'s answer without one."""
        with self.lock:
            self._op.login = login
            try:
                return self.call(self._op.authorization_endpoint, request=query)
            finally:
                self._op.login = None

    def token(self, body: str, authorization: str) -> Reply:
        refusal = self._token_refusal({k: v[-1] for k, v in parse_qs(body).items()})
        if refusal:
            return error_reply(400, "invalid_grant", refusal)
        return self.call(self._op.token_endpoint, request=body, authn=authorization)

    def _token_refusal(self, form: Mapping[str, str]) -> str | None:
        if form.get("grant_type") != "authorization_code" or "code" not in form:
            return None
        with self.lock:
            try:
                authzreq = json.loads(self._op.sdb[form["code"]]["authzreq"])
            except (KeyError, ValueError):
                return None  # unknown code: pyoidc refuses it with its own error
        return pkce_refusal(authzreq, form)

    def userinfo(self, query: str, authorization: str) -> Reply:
        return self.call(
            self._op.userinfo_endpoint, request=query if "access_token" in query else "", authn=authorization
        )

    # -- logout ----------------------------------------------------------------------------------

    def end_session(self, query: str, keys: Sequence[RSAKey]) -> EndSession:
        """RP-Initiated Logout: the request checked (raises EndSessionRefused), the hint against ``keys``."""
        params = dict(parse_qsl(query, keep_blank_values=True))
        with self.lock:
            return end_session(params, self.issuer, keys, self.post_logout_redirect_uris)

    def signed_in(self, sid: str) -> set[SignedIn]:
        """The clients given an ID token for login ``sid``, forgotten as this answers."""
        with self.lock:
            return set(self._op.signed_in.pop(sid, set()))

    def logout_token_claims(self, signed_in: SignedIn, sid: str) -> dict[str, Any]:
        return logout_token_claims(self.issuer, signed_in.client_id, signed_in.sub, sid)

    def backchannel_logout_uri(self, client_id: str) -> str | None:
        with self.lock:
            return self.clients[client_id].get("backchannel_logout_uri") if client_id in self.clients.keys() else None


def _advertise_what_is_served(provider: Provider, issuer: str) -> None:
    """Discovery lists what this OP really does (pyoidc lists every algorithm, `none` included,
    and endpoints this OP doesn't serve)."""
    provider.capabilities["id_token_signing_alg_values_supported"] = ["RS256"]
    provider.capabilities["token_endpoint_auth_methods_supported"] = ["client_secret_basic", "client_secret_post"]
    provider.capabilities["code_challenge_methods_supported"] = ["S256"]
    provider.capabilities["end_session_endpoint"] = issuer + END_SESSION
    provider.capabilities["backchannel_logout_supported"] = True
    provider.capabilities["backchannel_logout_session_supported"] = True
    provider.endp = [e for e in provider.endp if e.etype in ("authorization", "token", "userinfo")]


__all__ = ["ACR", "Login", "OpenIDProvider", "SignedIn", "challenge_refusal", "pkce_refusal", "refused"]
