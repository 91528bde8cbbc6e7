"""Logout that follows the identity provider, and sign-in started at it (issue 13, parts 1-3).

RP-Initiated Logout sends the browser on to the loopback provider's /end_session and checks the
state it brings back; Back-Channel Logout tokens made by the loopback provider end exactly the
sessions they name; /sso/initiate starts a normal authorization-code flow. On both databases.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import webtest
from jwkest.jwk import SYMKey
from jwkest.jws import JWS
from sqlalchemy import Engine, text

from entrypoints.openid_provider.keys import signing_jwk
from entrypoints.openid_provider.logout import logout_token_claims, signed_logout_token
from tests.e2e.conftest import BASE_DOMAIN
from tests.e2e.sso import (  # noqa: F401  (fixtures)
    CLIENT_ID,
    CLIENT_SECRET,
    Sso,
    audit_rows,
    op,
    provider_values,
    redirect_uri,
    sso,
)
from tests.e2e.test_concurrent_limits import all_at_once, served
from tests.e2e.test_login_and_sessions import logout_form
from tests.loopback_op.protocol import b64url, b64url_decode

BACKCHANNEL = "/sso/backchannel-logout"


def logged_out_uri(slug: str) -> str:
    return f"http://{slug}.{BASE_DOMAIN}/sso/logged-out"


def register_logout(sso: Sso, *slugs: str) -> None:
    """The portal's client at the provider, with each tenant's redirect and post-logout URIs."""
    sso.op.register_client(
        CLIENT_ID,
        CLIENT_SECRET,
        [redirect_uri(slug) for slug in slugs],
        post_logout_redirect_uris=[logged_out_uri(slug) for slug in slugs],
    )


def connect_with_logout(sso: Sso, slug: str = "acme", logout_at_provider: bool = True, **fields: Any) -> str:
    fields.setdefault("end_session_endpoint", sso.op.url("/end_session"))
    provider_id = sso.connect(slug, logout_at_provider=logout_at_provider, **fields)
    return provider_id


def signed_in(sso: Sso, slug: str = "acme", email: str = "ann@acme.test") -> tuple[webtest.TestApp, str]:
    """A browser signed in with Single Sign On (linked by code the first time); the provider's sid."""
    browser = sso.portal.browser(slug)
    answer = sso.log_in(browser, status=303)
    if answer.location.endswith("/sso/link"):
        sso.confirm_link(browser, email)
    assert browser.get("/account", status=200)
    return browser, str(sso.op.last_sid)


def session_rows(engine: Engine, email: str = "ann@acme.test") -> list[dict[str, Any]]:
    """The open sessions of the practitioner with this email."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT s.provider_id, s.provider_sid, s.provider_subject, s.id_token FROM web_sessions s"
                " JOIN practitioners p ON p.id = s.practitioner_id WHERE p.email = :email"
            ),
            {"email": email},
        )
        return [dict(row._mapping) for row in rows]


def is_logged_in(browser: webtest.TestApp) -> bool:
    return browser.get("/account", status="*").status_int == 200


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def log_out(browser: webtest.TestApp) -> webtest.TestResponse:
    return logout_form(browser.get("/account")).submit(status=303)


# --- the session remembers the provider --------------------------------------------------------


def test_a_single_sign_on_session_remembers_the_provider_its_sid_sub_and_id_token(sso, engine):
    provider_id = connect_with_logout(sso)
    signed_in(sso)  # linked by a one-time password: that login opens the first session
    first_sid = sso.op.last_sid
    signed_in(sso)  # linked: a plain login
    rows = sorted(session_rows(engine), key=lambda row: row["provider_sid"] != first_sid)
    assert [(r["provider_id"], r["provider_sid"], r["provider_subject"]) for r in rows] == [
        (provider_id, first_sid, "ann-sub"),
        (provider_id, sso.op.last_sid, "ann-sub"),
    ]
    assert all(row["id_token"] and row["id_token"].count(".") == 2 for row in rows)


def test_after_a_change_of_the_providers_issuer_its_sessions_stay_open_and_log_out_here(sso, engine):
    """Another issuer is another party: the old ID token never goes to the new one's logout, and the
    admin's own session, written again by the save, does not take the provider back."""
    provider_id = connect_with_logout(sso)
    ann, _ = signed_in(sso)
    admin = sso.admin_through_provider(provider_id=provider_id)
    page = admin.get(f"/admin/authentication?provider={provider_id}")
    form = page.forms["provider-form"]
    form["issuer"], form["acknowledge_relink"], form["client_secret"] = sso.op.issuer + "/v2", True, ""
    form.submit("action", value="save", status=303).follow()
    assert [row["provider_id"] for row in session_rows(engine)] == [None]
    assert {row["provider_id"] for row in session_rows(engine, "owner@acme.test")} == {None}  # and its password one
    for browser in (ann, admin):
        assert log_out(browser).location.endswith("/login?logged_out=1")  # not to the provider


def test_a_password_session_remembers_no_provider(sso, engine):
    connect_with_logout(sso)
    sso.portal.log_in(sso.portal.browser("acme"), "ann@acme.test")
    assert [(r["provider_id"], r["id_token"]) for r in session_rows(engine)][-1] == (None, None)


# --- RP-Initiated Logout -------------------------------------------------------------------------


def test_logout_goes_on_to_the_provider_and_comes_back_with_its_state(sso, engine):
    connect_with_logout(sso)
    register_logout(sso, "acme")
    browser, _ = signed_in(sso)
    id_token = session_rows(engine)[0]["id_token"]
    answer = log_out(browser)
    assert answer.location.startswith(sso.op.url("/end_session") + "?")
    sent = query_of(answer.location)
    assert sent["id_token_hint"] == id_token and sent["client_id"] == CLIENT_ID
    assert sent["post_logout_redirect_uri"] == logged_out_uri("acme") and len(sent["state"]) >= 20
    assert not is_logged_in(browser) and session_rows(engine) == []  # ended before the browser left
    at_provider = requests.get(answer.location, allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    assert query_of(at_provider.headers["Location"])["state"] == sent["state"]
    page = browser.get(f"{back.path}?{back.query}", status=303)
    assert page.location.endswith("/login?logged_out=1")
    assert "You are logged out." in page.follow().text
    assert len(sso.op.requests_to("/end_session")) == 1
    summaries = [row["What happened"] for row in audit_rows(sso.admin(), everything=True)]
    assert "ann@acme.test logged out, and is sent to log out at Contoso ID" in summaries


@pytest.mark.parametrize("state", ["wrong-state", "", None])
def test_a_return_from_the_provider_without_the_logouts_state_is_refused(sso, state):
    connect_with_logout(sso)
    browser, _ = signed_in(sso)
    log_out(browser)
    query = "" if state is None else f"?state={state}"
    page = browser.get(f"/sso/logged-out{query}", status=400)
    assert "This logout cannot be confirmed" in page.text
    assert not is_logged_in(browser)


def test_a_return_from_the_provider_is_accepted_once(sso):
    connect_with_logout(sso)
    browser, _ = signed_in(sso)
    state = query_of(log_out(browser).location)["state"]
    browser.get(f"/sso/logged-out?state={state}", status=303)
    browser.get(f"/sso/logged-out?state={state}", status=400)


def test_a_return_to_a_browser_that_never_logged_out_is_refused(sso):
    connect_with_logout(sso)
    browser, _ = signed_in(sso)
    stranger = sso.portal.browser("acme")
    state = query_of(log_out(browser).location)["state"]
    stranger.get(f"/sso/logged-out?state={state}", status=400)


@pytest.mark.parametrize(
    "fields",
    [
        {"logout_at_provider": False},  # the switch off
        {"logout_at_provider": False, "end_session_endpoint": ""},  # no endpoint either
    ],
)
def test_logout_stays_local_without_the_switch_or_the_endpoint(sso, fields):
    connect_with_logout(sso, **fields)
    browser, _ = signed_in(sso)
    assert log_out(browser).location.endswith("/login?logged_out=1")
    assert not is_logged_in(browser)
    assert sso.op.requests_to("/end_session") == []


def test_the_switch_without_an_endpoint_is_refused_in_the_form(sso):
    sso.register_at_provider("acme")
    form = sso.admin().get("/admin/authentication").forms["provider-form"]
    for name, value in {**sso_values(sso), "logout_at_provider": True}.items():
        form[name] = value
    page = form.submit("action", value="save", status=400)
    assert "enter the end-session endpoint" in page.text


def test_a_password_session_logs_out_locally_even_with_the_switch_on(sso):
    connect_with_logout(sso)
    browser = sso.portal.browser("acme")
    sso.portal.log_in(browser, "ann@acme.test")
    assert log_out(browser).location.endswith("/login?logged_out=1")


def sso_values(sso: Sso) -> dict[str, str]:
    return provider_values(sso.op)


# --- the Authentication page -------------------------------------------------------------------


def test_the_authentication_page_shows_the_three_uris_and_what_discovery_says_of_logout(sso):
    sso.register_at_provider("acme")
    admin = sso.admin()
    page = admin.get("/admin/authentication")
    for uri_id, path in (
        ("post-logout-redirect-uri", "/sso/logged-out"),
        ("backchannel-logout-uri", "/sso/backchannel-logout"),
        ("initiate-login-uri", "/sso/initiate"),
    ):
        assert page.html.find(id=uri_id).get_text() == f"http://acme.{BASE_DOMAIN}{path}"
    form = page.forms["provider-form"]
    for name, value in sso_values(sso).items():
        form[name] = value
    found = form.submit("action", value="discover", status=200)
    assert found.forms["provider-form"]["end_session_endpoint"].value == sso.op.url("/end_session")
    assert "says it reports logouts" in found.html.find(id="backchannel-support").get_text()
    form = found.forms["provider-form"]
    form["client_secret"] = CLIENT_SECRET
    saved = form.submit("action", value="save", status=303).follow()
    assert "says it reports logouts" in saved.html.find(id="backchannel-support").get_text()


def test_back_channel_support_is_not_taken_from_the_form(sso):
    sso.register_at_provider("acme")
    admin = sso.admin()
    csrf_token = admin.get("/admin/authentication").forms["provider-form"]["csrf_token"].value
    fields = {**sso_values(sso), "csrf_token": csrf_token, "enabled": "on", "action": "save"}
    fields["token_endpoint_auth_method"] = "client_secret_basic"
    saved = admin.post("/admin/authentication", {**fields, "backchannel_logout_supported": "on"}, status="*")
    assert saved.status_int == 303, saved.html.find_all(class_="field-error")
    page = admin.get("/admin/authentication")
    assert "does not say" in page.html.find(id="backchannel-support").get_text()


# --- Back-Channel Logout -----------------------------------------------------------------------


def post_token(browser: webtest.TestApp, token: str, status: int | str = "*") -> webtest.TestResponse:
    return browser.post(BACKCHANNEL, {"logout_token": token}, status=status)


def test_a_logout_token_ends_exactly_the_sessions_it_names(sso, portal):
    connect_with_logout(sso)
    ann_first, first_sid = signed_in(sso)
    ann_second, _ = signed_in(sso)
    portal.add_practitioner("acme", "bob@acme.test")
    sso.op.login_as("bob-sub", email="bob@home.example")
    bob, _ = signed_in(sso, email="bob@acme.test")
    server = portal.browser("acme")
    answer = post_token(server, sso.op.logout_token(sub="ann-sub", sid=first_sid), 200)
    assert answer.headers["Cache-Control"] == "no-store"
    assert [is_logged_in(b) for b in (ann_first, ann_second, bob)] == [False, True, True]
    post_token(server, sso.op.logout_token(sub="ann-sub"), 200)  # no sid: every session of the subject
    assert [is_logged_in(b) for b in (ann_second, bob)] == [False, True]
    rows = audit_rows(sso.admin())
    assert [r["What happened"] for r in rows if r["Event"] == "back-channel logout"][:2] == [
        "Contoso ID ended 1 session by back-channel logout",
        "Contoso ID ended 1 session by back-channel logout",
    ]


def test_a_logout_token_leaves_another_practices_sessions_alone(sso, portal):
    portal.open_tenant("beta")
    portal.add_practitioner("beta", "ann@beta.test")
    connect_with_logout(sso, "beta")
    connect_with_logout(sso, "acme")
    register_logout(sso, "acme", "beta")
    at_beta, _ = signed_in(sso, "beta", "ann@beta.test")
    at_acme, _ = signed_in(sso, "acme")
    post_token(portal.browser("acme"), sso.op.logout_token(sub="ann-sub"), 200)
    assert not is_logged_in(at_acme) and is_logged_in(at_beta)


def test_a_token_for_another_practices_provider_is_refused(sso, portal):
    portal.open_tenant("beta")
    connect_with_logout(sso, "beta", client_id="beta-client")
    connect_with_logout(sso, "acme")
    browser, _ = signed_in(sso)
    answer = post_token(portal.browser("acme"), sso.op.logout_token(sub="ann-sub", aud="beta-client"), 400)
    assert answer.json["error"] == "invalid_request"
    assert is_logged_in(browser)


def _now() -> int:
    return int(time.time())


REFUSED_TOKENS = {
    "missing events": {"omit": ("events",)},
    "events without the logout event": {"events": {"http://example.com/other": {}}},
    "the event not an object": {"events": {"http://schemas.openid.net/event/backchannel-logout": "yes"}},
    "a nonce": {"nonce": "n-0S6_WzA2Mj"},
    "another audience": {"aud": "someone-else"},
    "another issuer": {"iss": "https://evil.example"},
    "a foreign signature": {"sign_with": 1},
    "expired": {"exp": _now() - 3600, "iat": _now() - 3700},
    "issued too long ago": {"iat": _now() - 3600},
    "issued in the future": {"iat": _now() + 3600},
    "no iat": {"omit": ("iat",)},
    "no jti": {"omit": ("jti",)},
    "neither sid nor sub": {"omit": ("sid", "sub")},
}


@pytest.mark.parametrize("case", REFUSED_TOKENS)
def test_a_malformed_logout_token_is_refused_and_ends_nothing(sso, case):
    connect_with_logout(sso)
    browser, sid = signed_in(sso)
    token = sso.op.logout_token(sub="ann-sub", sid=sid, **REFUSED_TOKENS[case])
    answer = post_token(sso.portal.browser("acme"), token, 400)
    assert answer.json["error"] == "invalid_request" and answer.json["error_description"]
    assert is_logged_in(browser)


def unsigned(token: str) -> str:
    """The token's claims under ``{"alg": "none"}``, with no signature."""
    header = b64url(json.dumps({"alg": "none", "typ": "logout+jwt"}).encode())
    return f"{header}.{token.split('.')[1]}."


def claims_changed(token: str) -> str:
    """The provider's signature kept over claims it did not sign (another subject's logout made ann's)."""
    head, body, signature = token.split(".")
    changed = json.loads(b64url_decode(body)) | {"sub": "ann-sub"}
    return f"{head}.{b64url(json.dumps(changed).encode())}.{signature}"


def hs256_with_the_client_secret(token: str) -> str:
    """Signed with the secret the portal shares with the provider, not with the provider's keys."""
    claims = json.loads(b64url_decode(token.split(".")[1]))
    return str(JWS(json.dumps(claims), alg="HS256").sign_compact([SYMKey(key=CLIENT_SECRET)]))


@pytest.mark.parametrize("forge", [unsigned, claims_changed, hs256_with_the_client_secret])
def test_a_logout_token_not_signed_by_the_providers_key_is_refused_and_ends_nothing(sso, forge):
    connect_with_logout(sso)
    browser, _ = signed_in(sso)
    answer = post_token(sso.portal.browser("acme"), forge(sso.op.logout_token(sub="someone-else")), 400)
    assert answer.json["error"] == "invalid_request"
    assert is_logged_in(browser)


@pytest.mark.parametrize(
    "body",
    [{}, {"logout_token": ""}, {"logout_token": "garbage"}, {"logout_token": "a.b.c"}, {"logout_token": "x" * 30000}],
)
def test_a_garbage_body_is_refused_with_a_json_error(sso, body):
    connect_with_logout(sso)
    answer = sso.portal.browser("acme").post(BACKCHANNEL, body, status=400)
    assert answer.json["error"] == "invalid_request"


def test_an_unreadable_body_is_refused_with_a_json_error(sso):
    answer = sso.portal.browser("acme").post(
        BACKCHANNEL, b"logout_token=%FF", content_type="application/x-www-form-urlencoded", status=400
    )
    assert answer.json["error"] == "invalid_request"


def test_a_replayed_logout_token_is_refused(sso):
    connect_with_logout(sso)
    _, sid = signed_in(sso)
    token = sso.op.logout_token(sub="ann-sub", sid=sid)
    server = sso.portal.browser("acme")
    post_token(server, token, 200)
    again, _ = signed_in(sso)
    assert "used before" in post_token(server, token, 400).json["error_description"]
    assert is_logged_in(again)


@pytest.mark.parametrize("mode", ["503", "close"])
def test_a_logout_token_whose_keys_cannot_be_fetched_is_answered_temporarily_unavailable(sso, engine, mode):
    """A provider whose keys the portal never read (no sign-in yet) and cannot read now: the token
    cannot be checked, so nothing is recorded and the provider may send it again; once its keys
    can be read, the same token is accepted (its jti was not spent by the failed attempt)."""
    connect_with_logout(sso)
    sso.op.jwks_unreachable(mode)
    token = sso.op.logout_token(sub="ann-sub")
    answer = post_token(sso.portal.browser("acme"), token, 503)
    assert answer.json["error"] == "temporarily_unavailable" and answer.json["error_description"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert len(sso.op.requests_to("/jwks")) == 1
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM logout_token_jtis")) == 0
    assert not [row for row in audit_rows(sso.admin()) if row["Event"] == "back-channel logout"]
    sso.op.reset()
    post_token(sso.portal.browser("acme"), token, 200)


def test_a_logout_token_signed_with_a_new_key_while_the_keys_cannot_be_read_is_answered_unavailable(sso, engine):
    """The provider rotated its key and its JWKS is down: the token cannot be checked now, so the
    provider is told to send it again (not refused for good, which would leave the session open)."""
    connect_with_logout(sso)
    browser, sid = signed_in(sso)  # the portal has read the provider's keys
    fetched = len(sso.op.requests_to("/jwks"))
    sso.op.rotate_signing_key(keep_old=False)
    sso.op.jwks_unreachable("503")
    token = sso.op.logout_token(sub="ann-sub", sid=sid)
    server = sso.portal.browser("acme")
    for _ in range(2):  # a retry within the refresh interval fetches nothing and is answered alike
        answer = post_token(server, token, 503)
        assert answer.json["error"] == "temporarily_unavailable" and answer.json["error_description"]
    assert len(sso.op.requests_to("/jwks")) == fetched + 1
    assert is_logged_in(browser)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM logout_token_jtis")) == 0


def test_expired_logout_token_ids_are_purged_by_the_clean_up(sso, engine, wsgi_app):
    from adapters.db.housekeeping import Housekeeping
    from adapters.system import SystemClock

    connect_with_logout(sso)
    post_token(sso.portal.browser("acme"), sso.op.logout_token(sub="ann-sub"), 200)
    with engine.begin() as connection:
        connection.execute(text("UPDATE logout_token_jtis SET expires_at = '2000-01-01 00:00:00'"))
    assert Housekeeping(engine, SystemClock()).run()["expired logout token ids"] == 1


def test_of_concurrent_identical_logout_tokens_exactly_one_is_accepted(sso, wsgi_app):
    connect_with_logout(sso)
    token = sso.op.logout_token(sub="ann-sub")
    with served(wsgi_app) as base:
        answers = all_at_once(
            [
                lambda: requests.post(
                    base + BACKCHANNEL,
                    data={"logout_token": token},
                    headers={"Host": f"acme.{BASE_DOMAIN}"},
                    timeout=30,
                )
            ]
            * 8
        )
    assert sorted(a.status for a in answers) == [200] + [400] * 7


# --- Third-party initiated login ---------------------------------------------------------------


def test_the_provider_starts_a_normal_sign_in(sso):
    connect_with_logout(sso)
    browser = sso.portal.browser("acme")
    started = browser.get("/sso/initiate", {"iss": sso.op.issuer, "target_link_uri": "/account"}, status=303)
    assert started.location.startswith(sso.op.url("/authorization") + "?")
    sent = query_of(started.location)
    assert sent["code_challenge_method"] == "S256" and sent["state"] and sent["nonce"] and sent["code_challenge"]
    again = query_of(browser.get("/sso/initiate", {"iss": sso.op.issuer}, status=303).location)
    assert (again["state"], again["nonce"]) != (sent["state"], sent["nonce"])  # fresh every time
    answer = browser.get(sso.at_provider(browser.get("/sso/initiate", {"iss": sso.op.issuer}).location), status=303)
    assert answer.location.endswith("/sso/link")  # the normal flow: the first sign-in links by code


@pytest.mark.parametrize(("accepted", "language"), [("nl-NL,nl;q=0.9", "nl"), ("de-AT", "de"), ("en-GB", "en")])
def test_the_sign_in_the_provider_starts_asks_it_to_speak_the_browsers_language(sso, accepted, language):
    connect_with_logout(sso)
    browser = sso.portal.browser("acme")
    browser.extra_environ["HTTP_ACCEPT_LANGUAGE"] = accepted
    sso.at_provider(browser.get("/sso/initiate", {"iss": sso.op.issuer}, status=303).location)
    assert sso.op.requests_to("/authorization")[-1].query["ui_locales"] == [language]


def test_the_provider_may_post_the_initiation_without_a_csrf_token(sso):
    connect_with_logout(sso, send_login_hint=True)
    posted = sso.portal.browser("acme").post(
        "/sso/initiate", {"iss": sso.op.issuer, "login_hint": "Ann@Acme.test"}, status=303
    )
    started = posted.follow(status=303)
    assert query_of(started.location)["login_hint"] == "ann@acme.test"


def test_a_cross_site_post_of_the_initiation_keeps_the_browsers_session(sso):
    """SameSite=Lax keeps the cookie off a cross-site POST: the POST is answered with the same
    request as a GET, which brings it, and sets no cookie that would replace the session."""
    connect_with_logout(sso)
    browser, _ = signed_in(sso)
    launcher = webtest.TestApp(browser.app, extra_environ=dict(browser.extra_environ))  # no cookies
    target = f"http://acme.{BASE_DOMAIN}/account"
    posted = launcher.post("/sso/initiate", {"iss": sso.op.issuer, "target_link_uri": target, "x": "y"}, status=303)
    assert "Set-Cookie" not in posted.headers
    assert query_of(posted.location) == {"iss": sso.op.issuer, "target_link_uri": target}
    started = browser.get(posted.location, status=303)  # the browser follows, with its cookie
    assert started.location.startswith(sso.op.url("/authorization") + "?")
    assert is_logged_in(browser)


@pytest.mark.parametrize("iss", ["https://unknown.example", "", None])
def test_an_unknown_or_missing_issuer_gets_a_clear_page(sso, iss):
    connect_with_logout(sso)
    query = {} if iss is None else {"iss": iss}
    page = sso.portal.browser("acme").get("/sso/initiate", query, status=400)
    assert "Single Sign On did not work" in page.text


@pytest.mark.parametrize(
    "target, next_path",
    [
        ("/account?tab=1", "/account?tab=1"),
        (f"http://acme.{BASE_DOMAIN}/account", "/account"),
        (f"http://beta.{BASE_DOMAIN}/account", "/"),
        ("https://evil.example/account", "/"),
        ("//evil.example/account", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_only_a_same_origin_target_link_is_honoured(sso, target, next_path):
    connect_with_logout(sso)
    sso.op.login_as("ann-sub", email="ann@acme.test", email_verified=True)
    browser, _ = signed_in(sso)  # linked, so the next sign-in ends where the target says
    started = browser.get("/sso/initiate", {"iss": sso.op.issuer, "target_link_uri": target}, status=303)
    answer = browser.get(sso.at_provider(started.location), status=303)
    assert (
        urlsplit(answer.location).path
        + (f"?{urlsplit(answer.location).query}" if urlsplit(answer.location).query else "")
        == next_path
    )


def test_a_disabled_providers_issuer_starts_no_sign_in(sso):
    provider_id = connect_with_logout(sso)
    sso.admin().get("/admin/authentication").forms[f"switch-{provider_id}"].submit(
        "action", value="disable", status=303
    )
    page = sso.portal.browser("acme").get("/sso/initiate", {"iss": sso.op.issuer}, status=400)
    assert "Single Sign On did not work" in page.text
    assert sso.op.requests_to("/authorization") == []


def test_the_initiation_takes_no_code_state_or_token_and_starts_afresh(sso):
    connect_with_logout(sso)
    sso.op.login_as("ann-sub", email="ann@acme.test", email_verified=True)
    signed_in(sso)  # linked: a code from the provider would log ann straight in
    stolen = sso.at_provider(sso.start(sso.portal.browser("acme")))  # a callback meant for another browser
    callback = query_of(stolen)
    browser = sso.portal.browser("acme")
    smuggled = {"iss": sso.op.issuer, "id_token": "a.b.c", "access_token": "at", **callback}
    for method in (browser.get, browser.post):
        started = method("/sso/initiate", smuggled, status=303)
        if method == browser.post:  # answered as the same initiation by GET, and nothing else
            assert query_of(started.location) == {"iss": sso.op.issuer}
            started = started.follow(status=303)
        assert started.location.startswith(sso.op.url("/authorization") + "?")
        assert query_of(started.location)["state"] != callback["state"]
        assert not is_logged_in(browser)
    tokens_redeemed = len(sso.op.requests_to("/token"))
    assert browser.get(stolen, status="*").status_int == 400  # nor does the code work with the new state
    assert len(sso.op.requests_to("/token")) == tokens_redeemed and not is_logged_in(browser)


# --- what the provider signs is answered as Back-Channel Logout 1.0 2.8 says: 200 or a readable 400,
# never a 500 it would take for an outage and send again ------------------------------------------


def test_a_logout_token_whose_jti_is_no_text_is_refused_with_a_json_error(sso):
    connect_with_logout(sso)
    browser, sid = signed_in(sso)
    token = sso.op.logout_token(sub="ann-sub", sid=sid, jti="\ud800")  # JSON's "\ud800": a lone surrogate
    answer = post_token(sso.portal.browser("acme"), token, 400)
    assert answer.json["error"] == "invalid_request" and "jti" in answer.json["error_description"]
    assert is_logged_in(browser)


def test_a_logout_token_expiring_beyond_any_clock_is_answered(sso):
    """An exp no float can hold (JSON integers have no limit): not expired; its age is what counts."""
    connect_with_logout(sso)
    browser, sid = signed_in(sso)
    post_token(sso.portal.browser("acme"), sso.op.logout_token(sub="ann-sub", sid=sid, exp=10**400), 200)
    assert not is_logged_in(browser)


def test_a_logout_token_signed_with_another_providers_key_is_refused_for_good(sso):
    connect_with_logout(sso)
    browser, sid = signed_in(sso)  # the portal has read this provider's keys
    another_providers_key = signing_jwk(7, name="another-provider")
    token = signed_logout_token(logout_token_claims(sso.op.issuer, CLIENT_ID, "ann-sub", sid), another_providers_key)
    fetched = len(sso.op.requests_to("/jwks"))
    answer = post_token(sso.portal.browser("acme"), token, 400)
    assert answer.json["error"] == "invalid_request"
    assert "does not publish" in answer.json["error_description"]
    assert len(sso.op.requests_to("/jwks")) == fetched + 1  # looked again once, for a rotated key
    assert is_logged_in(browser)
