"""The demo OpenID Provider of ``make run``: development only, on the host ``idp.<base_domain>``.

``includeme`` (included by the app factory when ``sso.demo_provider`` is on) puts a tween in front
of everything that answers requests for that host itself; every other host goes to the portal.
It refuses to be mounted outside development. The provider is the real protocol
(core.OpenIDProvider): discovery, JWKS, authorization code with PKCE, token, userinfo,
end-session and back-channel logout. Its login page lists the demo users; its login sessions,
clients and key live in this process and end with it.

The client of each tenant registers itself: ``demo-<slug>``, its secret derived from the session
secret (``client_secret``), its URIs the tenant's. ``practice-portal CONFIG demo-provider connect
SLUG`` saves the same client as the tenant's provider.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from oic.utils.http_util import SeeOther
from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import INGRESS

from adapters.http_fetch.fetcher import FetchFailed, FetchPolicy, GuardedFetcher
from domain.errors import UnsafeUrl
from entrypoints.openid_provider.core import (
    AUTHORIZATION,
    DISCOVERY,
    END_SESSION,
    JWKS,
    TOKEN,
    USERINFO,
    Login,
    OpenIDProvider,
    challenge_refusal,
    refused,
)
from entrypoints.openid_provider.keys import signing_jwk
from entrypoints.openid_provider.logout import EndSessionRefused, signed_logout_token
from entrypoints.openid_provider.replies import Reply, error_reply, json_reply, redirect_reply
from entrypoints.settings import PortalSettings, require_development
from entrypoints.web.readable import BACKCHANNEL_LOGOUT_PATH

log = logging.getLogger(__name__)

HOST_LABEL = "idp"
LOGIN, LOGOUT = "/login", "/logout"
COOKIE = "demo_idp_login"
# The portal's own paths a tenant registers at its provider (the public contract's routes).
CALLBACK, LOGGED_OUT = "/process_sso", "/sso/logged-out"
_CLIENT_ID = re.compile(r"demo-([a-z0-9][a-z0-9-]{0,62})")


@dataclass(frozen=True)
class DemoUser:
    sub: str
    claims: dict[str, Any]
    note: str

    @property
    def name(self) -> str:
        return str(self.claims["name"])


DEMO_USERS = (
    DemoUser(
        "demo-owner",
        {"name": "Demo Owner", "given_name": "Demo", "family_name": "Owner", "email": "owner@demo.example"},
        "the demo practice's owner: the first sign-in links the account (a one-time code is mailed)",
    ),
    DemoUser(
        "demo-anna",
        {"name": "Dr. Anna Berg", "given_name": "Anna", "family_name": "Berg", "email": "anna@demo.example"},
        "not in the practice yet: just-in-time registration, or a refusal, as the practice's settings say",
    ),
    DemoUser(
        "demo-ben",
        {"name": "Ben Vos", "given_name": "Ben", "family_name": "Vos", "email": "ben@demo.example"},
        "an email the provider has not verified",
    ),
)


def demo_issuer(settings: PortalSettings) -> str:
    return settings.tenant_url(HOST_LABEL)


def client_id(slug: str) -> str:
    return f"demo-{slug}"


def client_secret(settings: PortalSettings, client: str) -> str:
    """Derived from the session secret, so the app and the command line agree without storing it."""
    return hmac.new(settings.session_secret.encode(), f"demo-provider:{client}".encode(), hashlib.sha256).hexdigest()


def _verified(user: DemoUser) -> dict[str, Any]:
    return {"sub": user.sub, **user.claims, "email_verified": user.sub != "demo-ben"}


class DemoProvider:
    """The demo OP as a WSGI application: routes, the login page, login sessions, back-channel logout."""

    def __init__(self, settings: PortalSettings) -> None:
        self._settings = settings
        self.issuer = demo_issuer(settings)
        self._key = signing_jwk(0, "demo")
        self.op = OpenIDProvider(self.issuer, lambda query: SeeOther(f"{self.issuer}{LOGIN}?{query}"))
        self.op.use_signing_key(self._key)
        self.op.users.update({user.sub: _verified(user) for user in DEMO_USERS})
        self.logins: dict[str, str] = {}  # the login session's id (sid, the cookie) -> sub
        self._fetcher = GuardedFetcher(FetchPolicy(development=True, timeout=settings.sso_http_timeout))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        reply, cookie = self._route(request)
        response = Response(status=reply.status, headerlist=list(reply.headers), body=reply.body)
        if cookie is not None:
            response.set_cookie(COOKIE, cookie or None, httponly=True, samesite="Lax", max_age=None if cookie else 0)
        return response(environ, start_response)

    def _route(self, request: Request) -> tuple[Reply, str | None]:
        """The answer, and the login cookie to set ("" deletes it, None leaves it)."""
        sid = request.cookies.get(COOKIE, "")
        login = Login(self.logins[sid], sid) if sid in self.logins else None
        route = (request.method, request.path_info)
        if route == ("POST", LOGIN):
            return self._sign_in(request)
        if route in (("POST", LOGOUT), ("GET", END_SESSION)):
            return self._sign_out(request, login)
        answers: dict[tuple[str, str], Callable[[], Reply]] = {
            ("GET", DISCOVERY): self.op.discovery,
            ("GET", JWKS): lambda: json_reply(200, {"keys": [self._key.serialize(private=False)]}),
            ("GET", AUTHORIZATION): lambda: self._authorization(request.query_string, login),
            ("POST", TOKEN): lambda: self.op.token(request.text, request.headers.get("Authorization", "")),
            ("GET", USERINFO): lambda: self.op.userinfo(request.query_string, request.headers.get("Authorization", "")),
            ("POST", USERINFO): lambda: self.op.userinfo(request.text, request.headers.get("Authorization", "")),
            ("GET", LOGIN): lambda: _page("Sign in", _login_form(request.query_string)),
            ("GET", "/"): lambda: _page(
                "Demo identity provider", _home(self.op.users.get(login.uid) if login else None)
            ),
        }
        answer = answers.get(route)
        return (answer() if answer else error_reply(404, "not_found", f"{route[0]} {route[1]}")), None

    def _authorization(self, query: str, login: Login | None) -> Reply:
        self._register(dict(parse_qsl(query)).get("client_id", ""))
        checked = self.op.checked_authorization(query)
        if isinstance(checked, Reply):
            return checked
        params = dict(parse_qsl(query))
        refusal = challenge_refusal(params, require_pkce=True)
        return refused(checked, refusal, params.get("state")) if refusal else self.op.authorize(query, login)

    def _register(self, client: str) -> None:
        """The client of a tenant, registered as it first asks (this provider keeps nothing)."""
        match = _CLIENT_ID.fullmatch(client)
        if match is None or client in self.op.clients.keys():
            return
        tenant_url = self._settings.tenant_url
        slug = match.group(1)
        self.op.register_client(
            client,
            client_secret(self._settings, client),
            [tenant_url(slug, CALLBACK)],
            post_logout_redirect_uris=[tenant_url(slug, LOGGED_OUT)],
            backchannel_logout_uri=tenant_url(slug, BACKCHANNEL_LOGOUT_PATH),
        )

    def _sign_in(self, request: Request) -> tuple[Reply, str | None]:
        sub = request.POST.get("sub", "")
        if sub not in self.op.users:
            return error_reply(400, "invalid_request", "choose one of the demo users"), None
        sid = secrets.token_urlsafe(18)
        self.logins[sid] = sub
        query = request.POST.get("query", "")
        return redirect_reply(f"{self.issuer}{AUTHORIZATION}?{query}" if query else f"{self.issuer}/", 303), sid

    def _sign_out(self, request: Request, login: Login | None) -> tuple[Reply, str | None]:
        """The end of the login here (a button, or RP-Initiated Logout), told to every client."""
        redirect_to = None
        if request.method == "GET":
            self._register(request.GET.get("client_id", ""))
            try:
                redirect_to = self.op.end_session(request.query_string, [self._key]).redirect_to
            except EndSessionRefused as refusal:
                return error_reply(400, "invalid_request", str(refusal)), None
        if login is not None:
            self.logins.pop(login.sid, None)
            self._tell_clients(login.sid)
        done = _page("Signed out", "<p>You are signed out at the demo identity provider.</p>" + _home(None))
        return (redirect_reply(redirect_to) if redirect_to else done), ""

    def _tell_clients(self, sid: str) -> None:
        """Back-Channel Logout 1.0: a logout token to each client that got an ID token in this login."""
        for signed_in in self.op.signed_in(sid):
            uri = self.op.backchannel_logout_uri(signed_in.client_id)
            if not uri:
                continue
            token = signed_logout_token(self.op.logout_token_claims(signed_in, sid), self._key)
            try:
                answer = self._fetcher.post(uri, {"logout_token": token})
                log.info("back-channel logout of %s at %s: HTTP %s", signed_in.sub, uri, answer.status)
            except (FetchFailed, UnsafeUrl) as failure:
                log.warning("back-channel logout at %s failed: %s", uri, failure)


def _page(title: str, body: str) -> Reply:
    document = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}<p><small>Development only: a demo identity provider "
        "for trying Single Sign On. It never runs in production.</small></p></body></html>"
    )
    return Reply(200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], document.encode())


def _login_form(query: str) -> str:
    buttons = "".join(
        f"<li><form id='login-{html.escape(user.sub)}' method='post' action='{LOGIN}'>"
        f"<input type='hidden' name='query' value='{html.escape(query)}'>"
        f"<button name='sub' value='{html.escape(user.sub)}'>Sign in as {html.escape(user.name)}</button> "
        f"&lt;{html.escape(str(user.claims['email']))}&gt;: {html.escape(user.note)}</form></li>"
        for user in DEMO_USERS
    )
    return f"<p>Choose who you are. No password: this provider is a demo.</p><ul>{buttons}</ul>"


def _home(user: dict[str, Any] | None) -> str:
    if user is None:
        return "<p>Nobody is signed in here.</p>"
    return (
        f"<p>Signed in as {html.escape(str(user['name']))} &lt;{html.escape(str(user['email']))}&gt;.</p>"
        f"<form method='post' action='{LOGOUT}'><button>Sign out</button> (the practices you signed in to "
        "with this login are told at once: back-channel logout)</form>"
    )


def demo_provider_tween(handler: Callable[[Request], Response], registry: Registry) -> Callable[[Request], Response]:
    settings: PortalSettings = registry.portal_settings
    provider = DemoProvider(settings)
    host = f"{HOST_LABEL}.{settings.base_domain}"

    def tween(request: Request) -> Response:
        if request.host.rsplit(":", 1)[0].lower() == host:
            answer: Response = request.get_response(provider)
            return answer
        return handler(request)

    return tween


def includeme(config: Configurator) -> None:
    settings: PortalSettings = config.registry.portal_settings
    require_development("sso.demo_provider", settings.development)
    config.add_tween("entrypoints.openid_provider.demo.demo_provider_tween", under=INGRESS)
    log.info("demo identity provider at %s (development only)", demo_issuer(settings))


__all__ = ["DEMO_USERS", "DemoProvider", "client_id", "client_secret", "demo_issuer", "includeme"]
