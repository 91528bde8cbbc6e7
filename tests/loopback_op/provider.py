"""LoopbackProvider: the development OpenID Provider on 127.0.0.1, well behaved unless a switch says so.

The protocol is entrypoints.openid_provider's ``OpenIDProvider`` (pyoidc's Provider with PKCE,
``sid``, end-session and logout tokens), also behind ``make run``'s demo provider. What is the
tests' own is here: the login is whoever the test chose with ``login_as`` (no form), each request
is recorded by a LoopbackServer, and the switches bend the answers. The app under test talks to
it over real HTTP, exactly as it talks to a tenant's provider; nothing in the RP is patched.

Endpoints: ``/.well-known/openid-configuration``, ``/authorization`` (GET), ``/token`` (POST,
client_secret_basic or client_secret_post), ``/userinfo`` (GET or POST, Bearer), ``/jwks``,
``/end_session`` (GET, RP-Initiated Logout 1.0). Every ID token carries a ``sid``, new for each
login; ``logout_token()`` makes the token a Back-Channel Logout would POST.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jwkest.jwk import RSAKey
from oic import rndstr
from oic.utils.http_util import Response

from entrypoints.openid_provider.core import Login, OpenIDProvider, challenge_refusal, refused
from entrypoints.openid_provider.logout import EndSessionRefused, logout_token_claims, signed_logout_token
from tests.loopback_op.protocol import (
    AUTHORIZATION,
    DISCOVERY,
    END_SESSION,
    JWKS,
    TOKEN,
    USERINFO,
    rsa_key,
    signing_jwk,
)
from tests.loopback_op.server import LoopbackServer, RecordedRequest, Reply, error_reply, json_reply
from tests.loopback_op.switches import SwitchBoard, Switches


def _nobody_logged_in(query: str) -> Response:
    return Response(
        "LoopbackProvider: call op.login_as(sub, ...) before authorizing", content="text/plain", status_code=403
    )


def _with_openid_scope(query: str) -> str:
    """The query with ``openid`` added to its scope: pyoidc's provider only knows OpenID Connect."""
    params = parse_qsl(query, keep_blank_values=True)
    scopes = dict(params).get("scope", "").split()
    if "openid" in scopes:
        return query
    return urlencode([(k, " ".join(["openid", *scopes]) if k == "scope" else v) for k, v in params])


class LoopbackProvider(SwitchBoard):
    """A pyoidc OpenID Provider on http://127.0.0.1:<free port>; see the package docstring.

    Options: ``send_iss_param`` (RFC 9207 ``iss`` on the authorization redirect),
    ``set_cookie_on_token`` (Set-Cookie on token responses), ``require_pkce`` (refuse an
    authorization request without an S256 ``code_challenge``), ``claims_in_id_token`` (put the
    scope's user claims in the ID token, as most providers do), ``plain_oauth2`` (speak plain
    OAuth 2.0: take an authorization request without the ``openid`` scope and without a nonce,
    and answer the token request without an ID token, so only userinfo says who it is; the
    request as sent is what ``requests_to`` shows).
    """

    def __init__(
        self,
        *,
        send_iss_param: bool = False,
        set_cookie_on_token: bool = False,
        require_pkce: bool = True,
        claims_in_id_token: bool = True,
        plain_oauth2: bool = False,
    ) -> None:
        self._send_iss_param, self._set_cookie_on_token = send_iss_param, set_cookie_on_token
        self.require_pkce = require_pkce
        self.claims_in_id_token = claims_in_id_token
        self.plain_oauth2 = plain_oauth2
        self.issuer = ""
        self.current_user: str | None = None
        self._last_client_id = ""
        self._switches = self._well_behaved()
        self._provider: OpenIDProvider | None = None
        self._server = LoopbackServer(self._answer, lambda target: self._switches.drops_connection(target))

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LoopbackProvider:
        self.issuer = self._server.start()
        try:
            self._provider = OpenIDProvider(self.issuer, _nobody_logged_in)
            self._provider.claims_in_id_token = self.claims_in_id_token
            self._provider.use_signing_key(signing_jwk(self._switches.key_index))
        except BaseException:
            self._server.stop()
            raise
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> LoopbackProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server.running

    def url(self, path: str) -> str:
        return self.issuer + path

    @property
    def _op(self) -> OpenIDProvider:
        assert self._provider is not None, "LoopbackProvider is not started"
        return self._provider

    # -- test set-up -------------------------------------------------------------------------

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        """sub -> the claims userinfo returns (and, with claims_in_id_token, the ID token carries)."""
        return self._op.users

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | Iterable[str],
        token_endpoint_auth_method: str = "client_secret_basic",
        post_logout_redirect_uris: Iterable[str] = (),
    ) -> None:
        """Register a confidential client (code flow) with one or more exact redirect URIs, and the
        URIs /end_session may send the browser back to."""
        uris = [redirect_uri] if isinstance(redirect_uri, str) else list(redirect_uri)
        self._op.register_client(client_id, client_secret, uris, token_endpoint_auth_method, post_logout_redirect_uris)
        self._last_client_id = client_id

    def login_as(self, sub: str, **claims: Any) -> None:
        """From now on the authorization endpoint logs in ``sub`` (no form) with these claims.

        Claims are what userinfo returns for the requested scopes (email, email_verified,
        given_name, family_name, ...) and, with claims_in_id_token, what the ID token carries.
        """
        with self._op.lock:
            self.users[sub] = {"sub": sub, **claims}
            self.current_user = sub

    def logout(self) -> None:
        """Nobody is logged in: the authorization endpoint answers 403."""
        self.current_user = None

    def release_for_scope(self, scope: str, *claims: str) -> None:
        """A scope the provider knows and the claims it releases, as Keycloak or Okta send the roles
        and groups claims only for a scope that asks for them (pyoidc releases claims by scope)."""
        self._op.release_for_scope(scope, *claims)

    def reset(self) -> None:
        """Every switch off, the original key, the options as given to the constructor; hits,
        cookies and requests cleared. Clients, users and current_user stay."""
        with self._op.lock:
            self._server.wake_sleepers()  # a request still hanging from the last test answers now
            self._switches = self._well_behaved()
            self._server.log.clear()

    def _well_behaved(self) -> Switches:
        return Switches(
            send_iss_param=self._send_iss_param,
            set_cookie_on_token=self._set_cookie_on_token,
            send_id_token=not self.plain_oauth2,
        )

    # -- logout --------------------------------------------------------------------------------

    @property
    def last_sid(self) -> str | None:
        """The ``sid`` of the latest ID token issued (None before the first)."""
        return self._op.last_sid

    def logout_token(
        self,
        sub: str | None = None,
        sid: str | None = None,
        *,
        aud: str | list[str] | None = None,
        iss: str | None = None,
        iat: int | None = None,
        exp: int | None = None,
        jti: str | None = None,
        events: Any = None,
        nonce: str | None = None,
        omit: Iterable[str] = (),
        sign_with: int | None = None,
    ) -> str:
        """A Back-Channel Logout token, signed RS256 with the OP's key and kid, well-formed unless told.

        Well-formed: aud the last registered client, iss this issuer, a fresh jti, iat now, exp in
        two minutes, the back-channel logout event, no nonce; ``sub``/``sid`` when given. Each of
        ``aud``, ``iss``, ``iat``, ``exp``, ``jti``, ``events``, ``nonce`` passed (not None) replaces
        that claim; ``omit`` names claims to leave out. ``sign_with``: the index of a foreign RSA key
        (protocol.rsa_key) to sign with under the OP's own kid, so the signature doesn't verify.
        """
        token = logout_token_claims(self.issuer, self._last_client_id, sub, sid)
        overrides = {"aud": aud, "iss": iss, "iat": iat, "exp": exp, "jti": jti, "events": events, "nonce": nonce}
        token |= {name: value for name, value in overrides.items() if value is not None}
        token = {name: value for name, value in token.items() if name not in set(omit)}
        key = signing_jwk(self._switches.key_index)
        if sign_with is not None:
            key = RSAKey(key=rsa_key(sign_with), kid=key.kid, use="sig", alg="RS256")
        return signed_logout_token(token, key)

    # -- what it received --------------------------------------------------------------------

    @property
    def hits(self) -> Counter[str]:
        return self._server.log.hits

    @property
    def cookies(self) -> defaultdict[str, list[str]]:
        return self._server.log.cookies

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._server.log.requests

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return self._server.log.to(path)

    # -- answering ---------------------------------------------------------------------------

    def _answer(self, request: RecordedRequest) -> Reply:
        routes: dict[tuple[str, str], Callable[[RecordedRequest], Reply]] = {
            ("GET", DISCOVERY): self._discovery,
            ("GET", JWKS): self._jwks,
            ("GET", AUTHORIZATION): self._authorization,
            ("POST", TOKEN): self._token,
            ("GET", USERINFO): self._userinfo,
            ("POST", USERINFO): self._userinfo,
            ("GET", END_SESSION): self._end_session,
        }
        route = routes.get((request.method, request.path))
        if route is None:
            known = request.path in {path for _, path in routes}
            return error_reply(405 if known else 404, "not_found", f"{request.method} {request.path}")
        return self._switches.shaped(request.path, route(request))

    def _discovery(self, request: RecordedRequest) -> Reply:
        reply = self._op.discovery()
        return reply.with_json(self._switches.discovery(reply.json()))

    def _jwks(self, request: RecordedRequest) -> Reply:
        failure = self._switches.jwks_failure(self._server.sleep)
        return failure or json_reply(200, {"keys": self._switches.published_keys()})

    def _authorization(self, request: RecordedRequest) -> Reply:
        query = _with_openid_scope(request.query_string) if self.plain_oauth2 else request.query_string
        checked = self._op.checked_authorization(query)  # client, redirect_uri, required parameters
        if isinstance(checked, Reply):
            return self._switches.with_iss_param(checked, self.issuer)
        params = dict(parse_qsl(query))
        refusal = challenge_refusal(params, self.require_pkce) or self._switches.authorization_refusal()
        if refusal:
            reply = refused(checked, refusal, params.get("state"))
        else:
            # Each authorization is a fresh login here (no OP cookie), so each gets its own sid.
            login = Login(self.current_user, rndstr(24)) if self.current_user else None
            reply = self._op.authorize(query, login)
        return self._switches.with_iss_param(reply, self.issuer)

    def _token(self, request: RecordedRequest) -> Reply:
        failure = self._switches.token_failure(self._server.sleep)
        if failure is not None:
            return failure
        with self._op.lock:
            self._op.use_signing_key(signing_jwk(self._switches.key_index))  # the switches may have rotated it
            reply = self._op.token(request.body.decode("utf-8", "replace"), request.headers.get("Authorization", ""))
        if reply.status != 200:
            return reply
        return self._switches.token(reply, lambda client_id: str(self._op.clients[client_id]["client_secret"]))

    def _userinfo(self, request: RecordedRequest) -> Reply:
        query = request.body.decode("utf-8", "replace") if request.method == "POST" else request.query_string
        reply = self._op.userinfo(query, request.headers.get("Authorization", ""))
        return self._switches.userinfo(reply) if reply.status == 200 else reply

    def _end_session(self, request: RecordedRequest) -> Reply:
        """RP-Initiated Logout 1.0: the hint checked against the keys this OP publishes."""
        keys = [signing_jwk(index) for index in self._switches.published_key_indexes]
        try:
            ended = self._op.end_session(request.query_string, keys)
        except EndSessionRefused as refusal:
            return error_reply(400, "invalid_request", str(refusal))
        self.logout()
        if ended.redirect_to is None:
            return Reply(200, [("Content-Type", "text/plain")], b"You are signed out.")
        return Reply(302, [("Location", ended.redirect_to)], b"")


__all__ = ["LoopbackProvider"]
