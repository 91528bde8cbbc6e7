"""A real OpenID Provider on 127.0.0.1 for the end-to-end tests, with switches that make it misbehave.

It is pyoidc's ``oic.oic.provider.Provider`` (session db, client db, an AuthnBroker whose only
method logs in whoever the test chose, an RSA signing key with a ``kid``) behind a small WSGI
router, served by ``wsgiref`` in a daemon thread on an OS-chosen port. The app under test talks
to it over real HTTP, exactly as it talks to a tenant's provider; nothing in the RP is patched.

How a test uses it::

    with LoopbackProvider() as op:                      # or op.start() ... op.stop()
        op.register_client("portal", "s3cret", "http://acme.portal.test/sso/callback")
        op.login_as("u-42", email="ada@acme.test", email_verified=True, given_name="Ada")
        ...configure the tenant with op.issuer, drive the browser to the callback...
        op.expire_id_token()                             # the next token response is expired
        ...the login must now fail...
        assert op.hits["/jwks"] == 1 and op.cookies["/token"] == []
        op.reset()                                       # well-behaved again, recorders cleared

Endpoints: ``/.well-known/openid-configuration``, ``/authorization`` (GET), ``/token`` (POST,
client_secret_basic or client_secret_post), ``/userinfo`` (GET or POST, Bearer), ``/jwks``.

Each hostile switch breaks exactly one thing; a tampered ID token keeps every other claim
(nonce included) and is otherwise validly signed, so a refusal proves that one check works.
Switches and recorders are plain attributes read by the server thread: set them between
requests (tests are sequential), not while a request is in flight.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http
import json
import re
import secrets
import socketserver
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from Cryptodome.PublicKey import RSA
from jwkest.jwk import RSAKey, SYMKey
from jwkest.jws import JWS
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

__all__ = ["DROP", "LoopbackProvider", "RecordedRequest"]

HOST = "127.0.0.1"
DISCOVERY = "/.well-known/openid-configuration"
JSON_PATHS = frozenset({DISCOVERY, "/token", "/userinfo", "/jwks"})
ACR = "urn:loopback:auto-login"

# Sentinel for patch_id_token(): remove the claim instead of setting it.
DROP: Any = object()

# RFC 7636 §4.1: 43 to 128 unreserved characters.
_CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


# --- keys ---------------------------------------------------------------------------------------
# RSA generation is the slow part of starting (~0.5 s for 2048 bits with pycryptodome), so each
# key is made once per process and shared by every provider; rotation takes the next one.

_rsa_keys: list[RSA.RsaKey] = []
_rsa_lock = threading.Lock()


def _rsa_key(index: int) -> RSA.RsaKey:
    with _rsa_lock:
        while len(_rsa_keys) <= index:
            _rsa_keys.append(RSA.generate(2048))
        return _rsa_keys[index]


def _signing_jwk(index: int) -> RSAKey:
    """A fresh jwkest wrapper around the process's ``index``-th RSA key; the kid names the key."""
    key = _rsa_key(index)
    fingerprint = hashlib.sha256(key.n.to_bytes(256, "big")).hexdigest()[:12]
    return RSAKey(key=key, kid=f"loopback-{index + 1}-{fingerprint}", use="sig", alg="RS256")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- pyoidc pieces ------------------------------------------------------------------------------


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
        return Response("LoopbackProvider: call op.login_as(sub, ...) before authorizing", content="text/plain",
                        status_code=403)


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


# --- HTTP plumbing ------------------------------------------------------------------------------


@dataclass
class _Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def with_json(self, document: Any) -> _Reply:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        return _Reply(self.status, headers, json.dumps(document).encode())

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def replace_header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()] + [(name, value)]


def _json_reply(status: int, document: Any, headers: Iterable[tuple[str, str]] = ()) -> _Reply:
    return _Reply(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store"), *headers],
                  json.dumps(document).encode())


def _error(status: int, error: str, description: str) -> _Reply:
    return _json_reply(status, {"error": error, "error_description": description})


def _from_pyoidc(response: Response) -> _Reply:
    """Run a pyoidc Response as the WSGI app it is and keep what it would have sent."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        captured["status"], captured["headers"] = int(status.split()[0]), list(headers)

    chunks = response({}, start_response)
    body = b"".join(chunk.encode() if isinstance(chunk, str) else chunk for chunk in chunks)
    return _Reply(captured["status"], captured["headers"], body)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the provider received (a dropped connection is recorded too, with no body)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    # One thread per request, so a hanging endpoint doesn't block the others or stop(). They are
    # not daemons because server_close() joins only non-daemon threads (block_on_close): nothing
    # outlives stop().
    daemon_threads = False
    op: LoopbackProvider

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can be slow; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, size limit) is expected here, not an error to print.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(WSGIRequestHandler):
    timeout = 30  # a client that connects and sends nothing must not pin a thread forever

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        op = self.server.op  # type: ignore[attr-defined]
        if op._drops_connection(self.path):
            # "Unreachable" JWKS: record the attempt, then close the socket without answering
            # (returning False makes wsgiref skip the app; finish() closes the connection).
            op._record(self.command, self.path, dict(self.headers.items()))
            self.close_connection = True
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        pass


# --- the provider -------------------------------------------------------------------------------


@dataclass
class _Switches:
    """Every way the provider can be told to misbehave; a fresh instance is the well-behaved OP."""

    send_iss_param: bool = False
    iss_param_value: str | None = None  # None: the real issuer
    set_cookie_on_token: bool = False
    id_token_signing: str = "RS256"  # or bad_signature, none, hs256_public_key, hs256_client_secret
    hs256_public_key_pem: bytes | None = None
    id_token_patch: dict[str, Any] = field(default_factory=dict)
    userinfo_sub: str | None = None
    key_index: int = 0
    published_key_indexes: tuple[int, ...] = (0,)
    token_status: int | None = None
    token_delay: float = 0.0
    jwks_mode: str | None = None  # 503, close or hang
    hang_seconds: float = 60.0
    deny_description: str | None = None
    oversize: dict[str, tuple[int, bool]] = field(default_factory=dict)  # path -> (bytes, send length)


class LoopbackProvider:
    """A pyoidc OpenID Provider on http://127.0.0.1:<free port>; see the module docstring.

    Options: ``send_iss_param`` (RFC 9207 ``iss`` on the authorization redirect),
    ``set_cookie_on_token`` (Set-Cookie on token responses), ``require_pkce`` (refuse an
    authorization request without an S256 ``code_challenge``), ``claims_in_id_token`` (put the
    scope's user claims in the ID token, as most providers do).
    """

    def __init__(self, *, send_iss_param: bool = False, set_cookie_on_token: bool = False, require_pkce: bool = True,
                 claims_in_id_token: bool = True) -> None:
        self._send_iss_param, self._set_cookie_on_token = send_iss_param, set_cookie_on_token
        self.require_pkce = require_pkce
        self.claims_in_id_token = claims_in_id_token
        self.issuer = ""
        self.clients = _Clients()  # pyoidc's client db: client_id -> registration
        self.users: dict[str, dict[str, Any]] = {}  # pyoidc's user info db: sub -> claims
        self.current_user: str | None = None
        self._switches = self._well_behaved()
        self._lock = threading.RLock()  # pyoidc's Provider isn't meant for concurrent requests
        self._wake = threading.Event()  # set by reset() and stop(): ends slow and hanging answers
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._provider: _Provider | None = None
        self.hits: Counter[str] = Counter()
        self.cookies: defaultdict[str, list[str]] = defaultdict(list)
        self.requests: list[RecordedRequest] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LoopbackProvider:
        if self._server is not None:
            raise RuntimeError("LoopbackProvider is already running")
        server = _Server((HOST, 0), _Handler)
        server.op = self
        server.set_app(self._app)
        self.issuer = f"http://{HOST}:{server.server_port}"
        try:
            self._provider = self._build_provider()
        except BaseException:
            server.server_close()
            raise
        self._wake = threading.Event()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"loopback-op-{server.server_port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._wake.set()  # slow and hanging handlers return, so their threads can be joined
        server.shutdown()
        thread.join()
        server.server_close()  # closes the socket and joins the request threads
        self._server = self._thread = None

    def __enter__(self) -> LoopbackProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

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
        provider.jwks_uri = self.url("/jwks")
        provider.claims_in_id_token = self.claims_in_id_token
        # Advertise what this OP really does (pyoidc lists every algorithm, `none` included, and
        # endpoints the router doesn't serve).
        provider.capabilities["id_token_signing_alg_values_supported"] = ["RS256"]
        provider.capabilities["token_endpoint_auth_methods_supported"] = ["client_secret_basic", "client_secret_post"]
        provider.capabilities["code_challenge_methods_supported"] = ["S256"]
        provider.endp = [e for e in provider.endp if e.etype in ("authorization", "token", "userinfo")]
        self._install_keys(provider)
        return provider

    def _install_keys(self, provider: _Provider) -> None:
        # The keyjar holds only the current signing key: pyoidc signs with the first key it finds.
        bundle = KeyBundle()
        bundle.append(_signing_jwk(self._switches.key_index))
        provider.keyjar.issuer_keys[""] = [bundle]

    # -- test set-up -------------------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str, redirect_uri: str | Iterable[str],
                        token_endpoint_auth_method: str = "client_secret_basic") -> None:
        """Register a confidential client (code flow) with one or more exact redirect URIs."""
        if token_endpoint_auth_method not in ("client_secret_basic", "client_secret_post"):
            raise ValueError(f"unsupported token_endpoint_auth_method: {token_endpoint_auth_method}")
        uris = [redirect_uri] if isinstance(redirect_uri, str) else list(redirect_uri)
        registered = []
        for uri in uris:
            # pyoidc's format: (uri without query, registered query parameters or None)
            parts = urlsplit(uri)
            registered.append((urlunsplit(parts._replace(query="")), parse_qs(parts.query) or None))
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

    def _well_behaved(self) -> _Switches:
        return _Switches(send_iss_param=self._send_iss_param, set_cookie_on_token=self._set_cookie_on_token)

    def reset(self) -> None:
        """Every switch off, the original key, send_iss_param and set_cookie_on_token as given to the
        constructor; hits, cookies and requests cleared. Clients, users and current_user stay."""
        with self._lock:
            self._wake.set()  # a request still hanging from the last test answers now
            self._wake = threading.Event()
            self._switches = self._well_behaved()
            if self._provider is not None:
                self._install_keys(self._provider)
            self.hits.clear()
            self.cookies.clear()
            self.requests.clear()

    # -- options and hostile switches (each breaks exactly one thing) ----------------------------

    @property
    def send_iss_param(self) -> bool:
        return self._switches.send_iss_param

    @send_iss_param.setter
    def send_iss_param(self, value: bool) -> None:
        self._switches.send_iss_param = value

    @property
    def set_cookie_on_token(self) -> bool:
        return self._switches.set_cookie_on_token

    @set_cookie_on_token.setter
    def set_cookie_on_token(self, value: bool) -> None:
        self._switches.set_cookie_on_token = value

    def send_wrong_iss_param(self, iss: str = "http://127.0.0.1:9/evil") -> None:
        """RFC 9207 ``iss`` on the authorization redirect, with a value that isn't this issuer."""
        self._switches.send_iss_param = True
        self._switches.iss_param_value = iss

    def tamper_id_token_signature(self) -> None:
        """RS256 with the right kid, but signature bytes altered."""
        self._switches.id_token_signing = "bad_signature"

    def sign_id_token_with_alg_none(self) -> None:
        """Unsigned ID token: header {"alg":"none"}, empty signature."""
        self._switches.id_token_signing = "none"

    def sign_id_token_hs256_with_public_key(self, pem: bytes | None = None) -> None:
        """Key confusion: HS256 keyed with the RSA public key's PEM (SubjectPublicKeyInfo, as
        ``cryptography`` writes it, trailing newline included) and the RSA key's kid."""
        self._switches.id_token_signing = "hs256_public_key"
        self._switches.hs256_public_key_pem = pem

    def sign_id_token_hs256_with_client_secret(self) -> None:
        """HS256 keyed with the client secret (valid per OIDC, but not the algorithm agreed)."""
        self._switches.id_token_signing = "hs256_client_secret"

    def patch_id_token(self, **claims: Any) -> None:
        """Set (or, with DROP, remove) ID token claims; a callable value gets the original claims."""
        self._switches.id_token_patch.update(claims)

    def wrong_id_token_issuer(self, iss: str = "http://127.0.0.1:9/other-issuer") -> None:
        self.patch_id_token(iss=iss)

    def wrong_id_token_audience(self, aud: str = "another-client") -> None:
        self.patch_id_token(aud=aud)

    def multiple_audiences(self, azp: str | None = None, other: str = "another-client") -> None:
        """aud = [client, other]; ``azp`` absent when None, else that value (the client's id is the
        well-formed case, anything else is wrong)."""
        self.patch_id_token(aud=lambda claims: [_audience(claims), other], azp=DROP if azp is None else azp)

    def drop_id_token_iat(self) -> None:
        self.patch_id_token(iat=DROP)

    def expire_id_token(self, seconds_ago: int = 600) -> None:
        """exp in the past (beyond any sane leeway); iat stays as issued."""
        self.patch_id_token(exp=lambda claims: int(time.time()) - seconds_ago)

    def wrong_id_token_nonce(self, nonce: str = "not-the-nonce-that-was-sent") -> None:
        self.patch_id_token(nonce=nonce)

    def userinfo_sub_mismatch(self, sub: str = "someone-else") -> None:
        """Userinfo answers with a different ``sub`` than the ID token's."""
        self._switches.userinfo_sub = sub

    def rotate_signing_key(self, keep_old: bool = True) -> str:
        """Sign with a new RSA key (new kid) and publish it in /jwks, with or without the old one.

        Returns the new kid. reset() goes back to the original key.
        """
        with self._lock:
            sw = self._switches
            old = sw.published_key_indexes if keep_old else ()
            sw.key_index += 1
            sw.published_key_indexes = (sw.key_index, *old)
            if self._provider is not None:
                self._install_keys(self._provider)
            return str(_signing_jwk(sw.key_index).kid)

    def fail_token_endpoint(self, status: int = 500) -> None:
        self._switches.token_status = status

    def slow_token_endpoint(self, seconds: float) -> None:
        """The token endpoint waits ``seconds`` before answering (reset() and stop() cut it short)."""
        self._switches.token_delay = seconds

    def jwks_unreachable(self, mode: str = "503", hang_seconds: float = 60.0) -> None:
        """/jwks answers 503 (``"503"``), closes the connection unanswered (``"close"``), or keeps
        it open without answering for ``hang_seconds`` or until reset() or stop() (``"hang"``)."""
        if mode not in ("503", "close", "hang"):
            raise ValueError(f"unknown mode: {mode}")
        self._switches.jwks_mode = mode
        self._switches.hang_seconds = hang_seconds

    def deny_authorization(self, description: str = "The user declined the request") -> None:
        """The authorization endpoint redirects with error=access_denied, the description and state."""
        self._switches.deny_description = description

    def oversize_response(self, path: str, size: int = 5 * 1024 * 1024, send_content_length: bool = True) -> None:
        """The JSON answer of ``path`` is padded (extra member) to ``size`` bytes; it stays valid.

        Without ``send_content_length`` the body is streamed in chunks with no Content-Length.
        """
        if path not in JSON_PATHS:
            raise ValueError(f"only JSON endpoints can be oversized: {sorted(JSON_PATHS)}")
        self._switches.oversize[path] = (size, send_content_length)

    # -- recording ---------------------------------------------------------------------------

    def _record(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> None:
        parts = urlsplit(target)
        request = RecordedRequest(method, parts.path, parse_qs(parts.query, keep_blank_values=True),
                                  {k.title(): v for k, v in headers.items()}, body)
        with self._lock:
            self.requests.append(request)
            self.hits[request.path] += 1
            cookie = request.headers.get("Cookie")
            if cookie:
                self.cookies[request.path].append(cookie)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def _drops_connection(self, target: str) -> bool:
        return urlsplit(target).path == "/jwks" and self._switches.jwks_mode == "close"

    # -- WSGI ------------------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(name):
                headers[name.replace("_", "-")] = environ[name]
        query = environ.get("QUERY_STRING", "")
        self._record(method, path + ("?" + query if query else ""), headers, body)

        routes: dict[tuple[str, str], Callable[[dict[str, Any], str, bytes], _Reply]] = {
            ("GET", DISCOVERY): self._discovery,
            ("GET", "/jwks"): self._jwks,
            ("GET", "/authorization"): self._authorization,
            ("POST", "/token"): self._token,
            ("GET", "/userinfo"): self._userinfo,
            ("POST", "/userinfo"): self._userinfo,
        }
        route = routes.get((method, path))
        if route is None:
            reply = _error(404 if path not in {p for _, p in routes} else 405, "not_found", f"{method} {path}")
        else:
            reply = route(environ, query, body)

        chunks: Iterable[bytes] = [reply.body]
        if path in self._switches.oversize and reply.status == 200:
            reply, chunks = self._oversized(reply, *self._switches.oversize[path])
        start_response(f"{reply.status} {http.HTTPStatus(reply.status).phrase}", reply.headers)
        return chunks

    def _call(self, endpoint: Callable[..., Response], **kwargs: Any) -> _Reply:
        """Call a pyoidc endpoint; bad input that makes pyoidc raise is a 400, as at a real OP."""
        with self._lock:
            try:
                return _from_pyoidc(endpoint(**kwargs))
            except (PyoidcError, KeyError, ValueError) as err:
                return _error(400, "invalid_request", f"{type(err).__name__}: {err}")

    # -- endpoints ---------------------------------------------------------------------------

    def _discovery(self, environ: dict[str, Any], query: str, body: bytes) -> _Reply:
        assert self._provider is not None
        reply = self._call(self._provider.providerinfo_endpoint)
        document = reply.json()
        document["authorization_response_iss_parameter_supported"] = self._switches.send_iss_param
        return reply.with_json(document)

    def _jwks(self, environ: dict[str, Any], query: str, body: bytes) -> _Reply:
        mode = self._switches.jwks_mode
        if mode == "hang":
            self._wake.wait(self._switches.hang_seconds)
        if mode in ("503", "hang"):
            return _error(503, "temporarily_unavailable", "JWKS unavailable")
        keys = [_signing_jwk(i).serialize(private=False) for i in self._switches.published_key_indexes]
        return _json_reply(200, {"keys": keys})

    def _authorization(self, environ: dict[str, Any], query: str, body: bytes) -> _Reply:
        provider = self._provider
        assert provider is not None
        with self._lock:
            checked = provider.auth_init(query)  # client, redirect_uri, required parameters
        if isinstance(checked, Response):
            return self._with_iss_param(_from_pyoidc(checked))
        redirect_uri, params = checked["redirect_uri"], dict(parse_qsl(query))

        refusal = None
        if "code_challenge" in params and params.get("code_challenge_method") != "S256":
            refusal = ("invalid_request", "only code_challenge_method=S256 is supported")
        elif self.require_pkce and "code_challenge" not in params:
            refusal = ("invalid_request", "code_challenge (PKCE, S256) is required")
        elif self._switches.deny_description is not None:
            refusal = ("access_denied", self._switches.deny_description)
        if refusal:
            error = AuthorizationErrorResponse(error=refusal[0], error_description=refusal[1])
            if "state" in params:
                error["state"] = params["state"]
            return self._with_iss_param(_Reply(303, [("Location", error.request(redirect_uri))], b""))

        return self._with_iss_param(self._call(provider.authorization_endpoint, request=query))

    def _with_iss_param(self, reply: _Reply) -> _Reply:
        """RFC 9207: pyoidc always adds iss to the redirect; keep it only when asked to (or lie)."""
        location = reply.header("Location")
        if reply.status not in (302, 303) or location is None:
            return reply
        parts = urlsplit(location)
        params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
        if self._switches.send_iss_param:
            params.append(("iss", self._switches.iss_param_value or self.issuer))
        reply.replace_header("Location", urlunsplit(parts._replace(query=urlencode(params))))
        return reply

    def _token(self, environ: dict[str, Any], query: str, body: bytes) -> _Reply:
        provider = self._provider
        assert provider is not None
        if self._switches.token_delay:
            self._wake.wait(self._switches.token_delay)
        if self._switches.token_status is not None:
            return _error(self._switches.token_status, "server_error", "the token endpoint is failing")

        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        refusal = self._pkce_refusal(form)
        if refusal:
            return _error(400, "invalid_grant", refusal)

        reply = self._call(provider.token_endpoint, request=body.decode("utf-8", "replace"),
                           authn=environ.get("HTTP_AUTHORIZATION", ""))
        if reply.status == 200:
            document = reply.json()
            if "id_token" in document and self._id_token_altered():
                document["id_token"] = self._rewrite_id_token(document["id_token"])
                reply = reply.with_json(document)
            if self._switches.set_cookie_on_token:
                reply.headers.append(("Set-Cookie", f"op_session={secrets.token_hex(8)}; Path=/; HttpOnly"))
        return reply

    def _pkce_refusal(self, form: Mapping[str, str]) -> str | None:
        """RFC 7636 §4.6, which pyoidc's oic Provider doesn't check at all (see report)."""
        assert self._provider is not None
        if form.get("grant_type") != "authorization_code" or "code" not in form:
            return None
        with self._lock:
            try:
                authzreq = json.loads(self._provider.sdb[form["code"]]["authzreq"])
            except (KeyError, ValueError):
                return None  # unknown code: pyoidc refuses it with its own error
        challenge, verifier = authzreq.get("code_challenge"), form.get("code_verifier")
        if challenge is None:
            # A verifier for a request that had no challenge smells of a PKCE downgrade.
            return "code_verifier sent but the authorization request had no code_challenge" if verifier else None
        if verifier is None or not _CODE_VERIFIER.fullmatch(verifier):
            return "missing or malformed code_verifier"
        computed = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
        if not hmac.compare_digest(computed, challenge):
            return "code_verifier does not match the code_challenge"
        return None

    def _userinfo(self, environ: dict[str, Any], query: str, body: bytes) -> _Reply:
        provider = self._provider
        assert provider is not None
        request = body.decode("utf-8", "replace") if environ["REQUEST_METHOD"] == "POST" else query
        reply = self._call(provider.userinfo_endpoint, request=request if "access_token" in request else "",
                           authn=environ.get("HTTP_AUTHORIZATION", ""))
        if reply.status == 200 and self._switches.userinfo_sub is not None:
            reply = reply.with_json({**reply.json(), "sub": self._switches.userinfo_sub})
        return reply

    # -- tampering -----------------------------------------------------------------------------

    def _id_token_altered(self) -> bool:
        return self._switches.id_token_signing != "RS256" or bool(self._switches.id_token_patch)

    def _rewrite_id_token(self, token: str) -> str:
        """The token pyoidc issued, with the patch applied and signed the way the switch says."""
        sw = self._switches
        claims = json.loads(_b64url_decode(token.split(".")[1]))
        original = dict(claims)
        for name, value in sw.id_token_patch.items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value(original) if callable(value) else value
        payload = json.dumps(claims)
        rsa = _signing_jwk(sw.key_index)

        if sw.id_token_signing == "none":
            return f"{_b64url(json.dumps({'alg': 'none'}).encode())}.{_b64url(payload.encode())}."
        if sw.id_token_signing == "hs256_public_key":
            pem = sw.hs256_public_key_pem or _rsa_key(sw.key_index).public_key().export_key("PEM") + b"\n"
            return str(JWS(payload, alg="HS256").sign_compact([SYMKey(key=pem, kid=rsa.kid)]))
        if sw.id_token_signing == "hs256_client_secret":
            secret = self.clients[_audience(original)]["client_secret"]
            return str(JWS(payload, alg="HS256").sign_compact([SYMKey(key=secret)]))

        signed = str(JWS(payload, alg="RS256").sign_compact([rsa]))
        if sw.id_token_signing == "bad_signature":
            head, body, signature = signed.split(".")
            raw = bytearray(_b64url_decode(signature))
            raw[len(raw) // 2] ^= 0x01  # flip one bit in the middle: same length, wrong value
            signed = f"{head}.{body}.{_b64url(bytes(raw))}"
        return signed

    def _oversized(self, reply: _Reply, size: int, send_length: bool) -> tuple[_Reply, Iterable[bytes]]:
        document = reply.json()
        padding = max(0, size - len(reply.body) - len(', "x_padding": ""'))
        body = json.dumps({**document, "x_padding": "x" * padding}).encode()
        headers = [(k, v) for k, v in reply.headers if k.lower() != "content-length"]
        if send_length:
            return _Reply(200, headers + [("Content-Length", str(len(body)))], body), [body]

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(body), 64 * 1024):
                yield body[start:start + 64 * 1024]

        return _Reply(200, headers, body), chunks()


def _audience(claims: Mapping[str, Any]) -> str:
    aud = claims["aud"]
    return str(aud[0] if isinstance(aud, list) else aud)
