"""LoopbackProvider: pyoidc's OpenID Provider on 127.0.0.1, well behaved unless a switch says so.

It is pyoidc's ``oic.oic.provider.Provider`` (session db, client db, an AuthnBroker whose only
method logs in whoever the test chose, an RSA signing key with a ``kid``) answering the
requests of a LoopbackServer. The app under test talks to it over real HTTP, exactly as it
talks to a tenant's provider; nothing in the RP is patched. What pyoidc does not check itself
is checked here: PKCE (RFC 7636) at the token endpoint, S256 only.

Endpoints: ``/.well-known/openid-configuration``, ``/authorization`` (GET), ``/token`` (POST,
client_secret_basic or client_secret_post), ``/userinfo`` (GET or POST, Bearer), ``/jwks``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

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

from tests.loopback_op.protocol import AUTHORIZATION, DISCOVERY, JWKS, TOKEN, USERINFO, b64url, signing_jwk
from tests.loopback_op.server import LoopbackServer, RecordedRequest, Reply, error_reply, json_reply
from tests.loopback_op.switches import SwitchBoard, Switches

ACR = "urn:loopback:auto-login"

# RFC 7636 §4.1: 43 to 128 unreserved characters.
_CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


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


class _AutoLogin(UserAuthnMethod):
    """The only authentication method: whoever the test chose with login_as() is logged in."""

    def __init__(self, current_user: Callable[[], str | None]) -> None:
        super().__init__(None)
        self._current_user = current_user

    def authenticated_as(self, cookie: Any = None, **kwargs: Any) -> tuple[dict[str, str] | None, int]:
        uid = self._current_user()
        return ({"uid": uid}, int(time.time())) if uid else (None, 0)

    def done(self, areq: Any) -> bool:
        # prompt=login: the chosen user "logs in again" instantly instead of getting a form.
        return False

    def __call__(self, **kwargs: Any) -> Response:
        # pyoidc calls this to show a login form; we only get here when nobody was chosen.
        return Response(
            "LoopbackProvider: call op.login_as(sub, ...) before authorizing", content="text/plain", status_code=403
        )


class _Provider(Provider):
    """pyoidc's Provider with the two behaviours a test OP needs changed (see the overrides)."""

    claims_in_id_token = True

    def setup_session(self, areq: Any, authn_event: Any, cinfo: Any) -> str:
        sid: str = super().setup_session(areq, authn_event, cinfo)
        # pyoidc derives sub = sha256(uid + salt); the tests want the sub they passed to login_as().
        self.sdb.update(sid, "sub", authn_event.uid)
        return sid

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


def _from_pyoidc(response: Response) -> Reply:
    """Run a pyoidc Response as the WSGI app it is and keep what it would have sent."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        captured["status"], captured["headers"] = int(status.split()[0]), list(headers)

    chunks = response({}, start_response)
    body = b"".join(chunk.encode() if isinstance(chunk, str) else chunk for chunk in chunks)
    return Reply(captured["status"], captured["headers"], body)


def _pkce_refusal(authzreq: Mapping[str, Any], form: Mapping[str, str]) -> str | None:
    """RFC 7636 §4.6, which pyoidc's oic Provider doesn't check at all."""
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
        self.clients = _Clients()  # pyoidc's client db: client_id -> registration
        self.users: dict[str, dict[str, Any]] = {}  # pyoidc's user info db: sub -> claims
        self.current_user: str | None = None
        self._switches = self._well_behaved()
        self._lock = threading.RLock()  # pyoidc's Provider isn't meant for concurrent requests
        self._provider: _Provider | None = None
        self._server = LoopbackServer(self._answer, lambda target: self._switches.drops_connection(target))

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LoopbackProvider:
        self.issuer = self._server.start()
        try:
            self._provider = self._build_provider()
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

    def _build_provider(self) -> _Provider:
        broker = AuthnBroker()
        broker.add(ACR, _AutoLogin(lambda: self.current_user))
        provider = _Provider(
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
        # oic's Provider accepts jwks_uri but never passes it on, so discovery would lack it.
        provider.jwks_uri = self.url(JWKS)
        provider.claims_in_id_token = self.claims_in_id_token
        # Advertise what this OP really does (pyoidc lists every algorithm, `none` included, and
        # endpoints the router doesn't serve).
        provider.capabilities["id_token_signing_alg_values_supported"] = ["RS256"]
        provider.capabilities["token_endpoint_auth_methods_supported"] = ["client_secret_basic", "client_secret_post"]
        provider.capabilities["code_challenge_methods_supported"] = ["S256"]
        provider.endp = [e for e in provider.endp if e.etype in ("authorization", "token", "userinfo")]
        self._install_signing_key(provider)
        return provider

    def _install_signing_key(self, provider: _Provider) -> None:
        # pyoidc signs with the first key in its keyjar, so only the current one is there (and
        # one must be: without keys pyoidc leaves jwks_uri out of the discovery document).
        bundle = KeyBundle()
        bundle.append(signing_jwk(self._switches.key_index))
        provider.keyjar.issuer_keys[""] = [bundle]

    # -- test set-up -------------------------------------------------------------------------

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | Iterable[str],
        token_endpoint_auth_method: str = "client_secret_basic",
    ) -> None:
        """Register a confidential client (code flow) with one or more exact redirect URIs."""
        if token_endpoint_auth_method not in ("client_secret_basic", "client_secret_post"):
            raise ValueError(f"unsupported token_endpoint_auth_method: {token_endpoint_auth_method}")
        uris = [redirect_uri] if isinstance(redirect_uri, str) else list(redirect_uri)
        # pyoidc's format: (uri without query, registered query parameters or None)
        registered = [
            (urlunsplit(urlsplit(uri)._replace(query="")), parse_qs(urlsplit(uri).query) or None) for uri in uris
        ]
        with self._lock:
            self.clients[client_id] = {
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uris": registered,
                "token_endpoint_auth_method": token_endpoint_auth_method,
                "response_types": ["code"],
                "client_salt": rndstr(8),
            }

    def login_as(self, sub: str, **claims: Any) -> None:
        """From now on the authorization endpoint logs in ``sub`` (no form) with these claims.

        Claims are what userinfo returns for the requested scopes (email, email_verified,
        given_name, family_name, ...) and, with claims_in_id_token, what the ID token carries.
        """
        with self._lock:
            self.users[sub] = {"sub": sub, **claims}
            self.current_user = sub

    def logout(self) -> None:
        """Nobody is logged in: the authorization endpoint answers 403."""
        self.current_user = None

    def release_for_scope(self, scope: str, *claims: str) -> None:
        """A scope the provider knows and the claims it releases, as Keycloak or Okta send the roles
        and groups claims only for a scope that asks for them (pyoidc releases claims by scope)."""
        with self._lock:
            assert self._provider is not None, "start the provider first"
            self._provider.extra_scope_dict = {**(self._provider.extra_scope_dict or {}), scope: list(claims)}
            supported = self._provider.capabilities["scopes_supported"]
            self._provider.capabilities["scopes_supported"] = [*supported, scope]

    def reset(self) -> None:
        """Every switch off, the original key, the options as given to the constructor; hits,
        cookies and requests cleared. Clients, users and current_user stay."""
        with self._lock:
            self._server.wake_sleepers()  # a request still hanging from the last test answers now
            self._switches = self._well_behaved()
            self._server.log.clear()

    def _well_behaved(self) -> Switches:
        return Switches(
            send_iss_param=self._send_iss_param,
            set_cookie_on_token=self._set_cookie_on_token,
            send_id_token=not self.plain_oauth2,
        )

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
        }
        route = routes.get((request.method, request.path))
        if route is None:
            known = request.path in {path for _, path in routes}
            return error_reply(405 if known else 404, "not_found", f"{request.method} {request.path}")
        return self._switches.shaped(request.path, route(request))

    def _call(self, endpoint: Callable[..., Response], **kwargs: Any) -> Reply:
        """Call a pyoidc endpoint; bad input that makes pyoidc raise is a 400, as at a real OP."""
        with self._lock:
            try:
                return _from_pyoidc(endpoint(**kwargs))
            except (PyoidcError, KeyError, ValueError) as err:
                return error_reply(400, "invalid_request", f"{type(err).__name__}: {err}")

    @property
    def _op(self) -> _Provider:
        assert self._provider is not None, "LoopbackProvider is not started"
        return self._provider

    def _discovery(self, request: RecordedRequest) -> Reply:
        reply = self._call(self._op.providerinfo_endpoint)
        return reply.with_json(self._switches.discovery(reply.json()))

    def _jwks(self, request: RecordedRequest) -> Reply:
        failure = self._switches.jwks_failure(self._server.sleep)
        return failure or json_reply(200, {"keys": self._switches.published_keys()})

    def _authorization(self, request: RecordedRequest) -> Reply:
        query = _with_openid_scope(request.query_string) if self.plain_oauth2 else request.query_string
        with self._lock:
            checked = self._op.auth_init(query)  # client, redirect_uri, required parameters
        if isinstance(checked, Response):
            return self._switches.with_iss_param(_from_pyoidc(checked), self.issuer)
        params = dict(parse_qsl(query))
        refusal = self._authorization_refusal(params)
        if refusal:
            reply = self._refused(checked["redirect_uri"], refusal, params.get("state"))
        else:
            reply = self._call(self._op.authorization_endpoint, request=query)
        return self._switches.with_iss_param(reply, self.issuer)

    def _authorization_refusal(self, params: Mapping[str, str]) -> tuple[str, str] | None:
        if "code_challenge" in params and params.get("code_challenge_method") != "S256":
            return ("invalid_request", "only code_challenge_method=S256 is supported")
        if self.require_pkce and "code_challenge" not in params:
            return ("invalid_request", "code_challenge (PKCE, S256) is required")
        return self._switches.authorization_refusal()

    @staticmethod
    def _refused(redirect_uri: str, refusal: tuple[str, str], state: str | None) -> Reply:
        error = AuthorizationErrorResponse(error=refusal[0], error_description=refusal[1])
        if state is not None:
            error["state"] = state
        return Reply(303, [("Location", error.request(redirect_uri))], b"")

    def _token(self, request: RecordedRequest) -> Reply:
        failure = self._switches.token_failure(self._server.sleep)
        if failure is not None:
            return failure
        body = request.body.decode("utf-8", "replace")
        refusal = self._token_refusal({k: v[-1] for k, v in parse_qs(body).items()})
        if refusal:
            return error_reply(400, "invalid_grant", refusal)
        with self._lock:
            self._install_signing_key(self._op)  # the switches may have rotated it
            reply = self._call(self._op.token_endpoint, request=body, authn=request.headers.get("Authorization", ""))
        if reply.status != 200:
            return reply
        return self._switches.token(reply, lambda client_id: str(self.clients[client_id]["client_secret"]))

    def _token_refusal(self, form: Mapping[str, str]) -> str | None:
        if form.get("grant_type") != "authorization_code" or "code" not in form:
            return None
        with self._lock:
            try:
                authzreq = json.loads(self._op.sdb[form["code"]]["authzreq"])
            except (KeyError, ValueError):
                return None  # unknown code: pyoidc refuses it with its own error
        return _pkce_refusal(authzreq, form)

    def _userinfo(self, request: RecordedRequest) -> Reply:
        query = request.body.decode("utf-8", "replace") if request.method == "POST" else request.query_string
        reply = self._call(
            self._op.userinfo_endpoint,
            request=query if "access_token" in query else "",
            authn=request.headers.get("Authorization", ""),
        )
        return self._switches.userinfo(reply) if reply.status == 200 else reply


__all__ = ["LoopbackProvider"]
