"""A check of the test tool, not of the product: LoopbackProvider driven with plain requests.

Each hostile switch must visibly change the one thing it is meant to change, and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from jwkest import BadSignature
from jwkest.jwk import RSAKey
from jwkest.jws import JWS

from tests.loopback_op.provider import LoopbackProvider

CLIENT, SECRET = "portal", "s3cret-for-tests"
REDIRECT = "http://acme.portal.test/sso/callback"
NONCE = "nonce-123"
TIMEOUT = 5


@pytest.fixture(scope="module")
def running_op() -> Iterator[LoopbackProvider]:
    with LoopbackProvider() as op:
        yield op


@pytest.fixture
def op(running_op: LoopbackProvider) -> LoopbackProvider:
    running_op.reset()
    running_op.register_client(CLIENT, SECRET, REDIRECT)
    running_op.login_as("u-42", email="ada@acme.test", email_verified=True, given_name="Ada", family_name="Lovelace")
    return running_op


def b64url_json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def authorize(op: LoopbackProvider, **extra: str) -> tuple[requests.Response, dict[str, str], str]:
    """GET /authorization like a browser would; returns the 303, its query and the PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "openid email profile",
        "state": "state-1",
        "nonce": NONCE,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    response = requests.get(op.url("/authorization"), params=params, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 303, response.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    return response, query, verifier


def token_request(
    op: LoopbackProvider, code: str, verifier: str | None, basic_auth: bool = True, **kwargs: Any
) -> requests.Response:
    """POST /token with client_secret_basic, or client_secret_post when basic_auth is False."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier is not None:
        data["code_verifier"] = verifier
    if not basic_auth:
        data |= {"client_id": CLIENT, "client_secret": SECRET}
    auth = (CLIENT, SECRET) if basic_auth else None
    return requests.post(op.url("/token"), data=data, auth=auth, timeout=TIMEOUT, **kwargs)


def login(op: LoopbackProvider) -> dict[str, Any]:
    """A whole code flow; returns the token response."""
    _, query, verifier = authorize(op)
    response = token_request(op, query["code"], verifier)
    assert response.status_code == 200, response.text
    return dict(response.json())


def jwks_keys(op: LoopbackProvider) -> list[RSAKey]:
    return [RSAKey(**jwk) for jwk in requests.get(op.url("/jwks"), timeout=TIMEOUT).json()["keys"]]


def verified_claims(op: LoopbackProvider, id_token: str) -> dict[str, Any]:
    """The claims, after an RS256 signature check against the published keys (raises if bad)."""
    return dict(JWS().verify_compact(id_token, keys=jwks_keys(op), sigalg="RS256"))


# --- the well-behaved provider --------------------------------------------------------------


def test_discovery_lists_the_endpoints(op: LoopbackProvider) -> None:
    document = requests.get(op.url("/.well-known/openid-configuration"), timeout=TIMEOUT).json()
    assert document["issuer"] == op.issuer
    for name, path in [
        ("authorization_endpoint", "/authorization"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
    ]:
        assert document[name] == op.url(path)
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["code_challenge_methods_supported"] == ["S256"]


def test_code_flow_with_pkce_gives_a_verifiable_id_token_and_userinfo(op: LoopbackProvider) -> None:
    redirect, query, verifier = authorize(op)
    assert redirect.headers["Location"].startswith(REDIRECT + "?")
    assert query["state"] == "state-1" and "iss" not in query

    tokens = token_request(op, query["code"], verifier).json()
    claims = verified_claims(op, tokens["id_token"])
    assert claims["iss"] == op.issuer and claims["sub"] == "u-42" and claims["nonce"] == NONCE
    assert CLIENT in claims["aud"] and claims["exp"] > claims["iat"] >= time.time() - 60
    assert claims["email"] == "ada@acme.test" and claims["email_verified"] is True

    userinfo = requests.get(
        op.url("/userinfo"), headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=TIMEOUT
    ).json()
    assert userinfo == {
        "sub": "u-42",
        "email": "ada@acme.test",
        "email_verified": True,
        "given_name": "Ada",
        "family_name": "Lovelace",
    }
    assert op.hits["/token"] == 1 and op.hits["/userinfo"] == 1


def test_client_secret_post_is_accepted_for_a_client_registered_with_it(op: LoopbackProvider) -> None:
    op.register_client(CLIENT, SECRET, REDIRECT, token_endpoint_auth_method="client_secret_post")
    _, query, verifier = authorize(op)
    assert token_request(op, query["code"], verifier).status_code == 401  # basic isn't what it registered
    _, query, verifier = authorize(op)
    response = token_request(op, query["code"], verifier, basic_auth=False)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("verifier", ["wrong-" + "v" * 50, None], ids=["wrong", "missing"])
def test_token_endpoint_refuses_a_bad_code_verifier(op: LoopbackProvider, verifier: str | None) -> None:
    _, query, _ = authorize(op)
    response = token_request(op, query["code"], verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_recorders_and_cookie_on_token(op: LoopbackProvider) -> None:
    op.set_cookie_on_token = True
    _, query, verifier = authorize(op)
    response = token_request(op, query["code"], verifier, headers={"Cookie": "leak=1"})
    assert response.headers["Set-Cookie"].startswith("op_session=")
    assert op.cookies["/token"] == ["leak=1"] and op.cookies["/authorization"] == []
    assert op.requests_to("/token")[0].form["code_verifier"] == [verifier]


# --- hostile switches ------------------------------------------------------------------------

# switch -> (how to turn it on, the claims it changes, what the new values must look like)
CLAIM_SWITCHES: dict[str, tuple[Callable[[LoopbackProvider], None], set[str], Callable[[dict[str, Any]], bool]]] = {
    "wrong iss": (
        lambda op: op.wrong_id_token_issuer("http://127.0.0.1:9/x"),
        {"iss"},
        lambda c: c["iss"] == "http://127.0.0.1:9/x",
    ),
    "wrong aud": (lambda op: op.wrong_id_token_audience(), {"aud"}, lambda c: c["aud"] == "another-client"),
    "two aud, no azp": (
        lambda op: op.multiple_audiences(),
        {"aud"},
        lambda c: c["aud"] == [CLIENT, "another-client"] and "azp" not in c,
    ),
    "two aud, wrong azp": (
        lambda op: op.multiple_audiences(azp="another-client"),
        {"aud", "azp"},
        lambda c: c["azp"] == "another-client",
    ),
    "no iat": (lambda op: op.drop_id_token_iat(), {"iat"}, lambda c: "iat" not in c),
    "expired": (lambda op: op.expire_id_token(), {"exp"}, lambda c: c["exp"] < time.time() - 60),
    "wrong nonce": (lambda op: op.wrong_id_token_nonce(), {"nonce"}, lambda c: c["nonce"] != NONCE),
}


@pytest.mark.parametrize("switch", CLAIM_SWITCHES)
def test_claim_switches_change_one_claim_and_keep_a_valid_signature(op: LoopbackProvider, switch: str) -> None:
    turn_on, expected_change, looks_wrong = CLAIM_SWITCHES[switch]
    honest = verified_claims(op, login(op)["id_token"])
    turn_on(op)
    claims = verified_claims(op, login(op)["id_token"])
    assert looks_wrong(claims)
    clock = {"exp", "iat", "auth_time", "sid"}  # differ between any two logins anyway
    changed = {k for k in honest.keys() | claims.keys() if honest.get(k) != claims.get(k)}
    assert changed - clock == expected_change - clock


def test_tampered_signature_fails_verification(op: LoopbackProvider) -> None:
    op.tamper_id_token_signature()
    id_token = login(op)["id_token"]
    assert b64url_json(id_token.split(".")[0])["alg"] == "RS256"
    assert b64url_json(id_token.split(".")[1])["nonce"] == NONCE
    with pytest.raises(BadSignature):
        verified_claims(op, id_token)


def test_alg_none_token_is_unsigned(op: LoopbackProvider) -> None:
    op.sign_id_token_with_alg_none()
    header, payload, signature = login(op)["id_token"].split(".")
    assert b64url_json(header) == {"alg": "none"} and signature == ""
    assert b64url_json(payload)["nonce"] == NONCE


@pytest.mark.parametrize("variant", ["public_key", "client_secret"])
def test_hs256_tokens_verify_with_the_confused_key(op: LoopbackProvider, variant: str) -> None:
    getattr(op, f"sign_id_token_hs256_with_{variant}")()
    header, payload, signature = login(op)["id_token"].split(".")
    assert b64url_json(header)["alg"] == "HS256"
    if variant == "public_key":
        (rsa,) = jwks_keys(op)
        assert b64url_json(header)["kid"] == rsa.kid
        key = rsa.key.export_key("PEM") + b"\n"
    else:
        key = SECRET.encode()
    mac = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(mac).rstrip(b"=").decode() == signature


def test_userinfo_sub_mismatch(op: LoopbackProvider) -> None:
    op.userinfo_sub_mismatch()
    tokens = login(op)
    userinfo = requests.get(
        op.url("/userinfo"), headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=TIMEOUT
    ).json()
    assert userinfo["sub"] == "someone-else" != verified_claims(op, tokens["id_token"])["sub"]


@pytest.mark.parametrize("keep_old", [True, False])
def test_key_rotation_publishes_and_uses_the_new_kid(op: LoopbackProvider, keep_old: bool) -> None:
    (old,) = [k.kid for k in jwks_keys(op)]
    new = op.rotate_signing_key(keep_old=keep_old)
    assert [k.kid for k in jwks_keys(op)] == ([new, old] if keep_old else [new])
    id_token = login(op)["id_token"]
    assert b64url_json(id_token.split(".")[0])["kid"] == new
    assert verified_claims(op, id_token)["nonce"] == NONCE
    op.reset()
    assert [k.kid for k in jwks_keys(op)] == [old]


def test_token_endpoint_failure_and_slowness(op: LoopbackProvider) -> None:
    op.fail_token_endpoint()
    _, query, verifier = authorize(op)
    assert token_request(op, query["code"], verifier).status_code == 500
    op.reset()
    op.slow_token_endpoint(1)
    _, query, verifier = authorize(op)
    started = time.monotonic()
    assert token_request(op, query["code"], verifier).status_code == 200
    assert time.monotonic() - started >= 1


def test_jwks_unreachable_modes(op: LoopbackProvider) -> None:
    op.jwks_unreachable("503")
    assert requests.get(op.url("/jwks"), timeout=TIMEOUT).status_code == 503
    op.jwks_unreachable("close")
    with pytest.raises(requests.ConnectionError):
        requests.get(op.url("/jwks"), timeout=TIMEOUT)
    op.jwks_unreachable("hang", hang_seconds=3)
    with pytest.raises(requests.ReadTimeout):
        requests.get(op.url("/jwks"), timeout=0.3)
    assert op.hits["/jwks"] == 3


def test_access_denied_redirect(op: LoopbackProvider) -> None:
    op.deny_authorization("Nope")
    op.send_iss_param = True
    _, query, _ = authorize(op)
    assert query == {"error": "access_denied", "error_description": "Nope", "state": "state-1", "iss": op.issuer}


def test_iss_parameter_right_and_wrong(op: LoopbackProvider) -> None:
    op.send_iss_param = True
    assert authorize(op)[1]["iss"] == op.issuer
    op.send_wrong_iss_param("http://evil.example")
    assert authorize(op)[1]["iss"] == "http://evil.example"


@pytest.mark.parametrize("send_length", [True, False])
def test_oversized_response_stays_valid_json(op: LoopbackProvider, send_length: bool) -> None:
    op.oversize_response("/jwks", size=5 * 1024 * 1024, send_content_length=send_length)
    response = requests.get(op.url("/jwks"), timeout=TIMEOUT)
    assert len(response.content) >= 5 * 1024 * 1024 and response.json()["keys"]
    assert ("Content-Length" in response.headers) is send_length


def test_start_stop_leaks_no_thread_or_port() -> None:
    threads = set(threading.enumerate())
    for _ in range(5):
        with LoopbackProvider() as op:
            op.jwks_unreachable("hang")
            with pytest.raises(requests.ReadTimeout):  # a hanging request must not block stop()
                requests.get(op.url("/jwks"), timeout=0.2)
            port = urlsplit(op.issuer).port
        assert set(threading.enumerate()) <= threads
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass


# --- logout: RP-Initiated Logout (/end_session) and Back-Channel Logout tokens ---------------

POST_LOGOUT = "http://acme.portal.test/sso/logged-out"


@pytest.fixture
def logout_op(op: LoopbackProvider) -> LoopbackProvider:
    op.register_client(CLIENT, SECRET, REDIRECT, post_logout_redirect_uris=[POST_LOGOUT])
    return op


def end_session(op: LoopbackProvider, **params: str) -> requests.Response:
    return requests.get(op.url("/end_session"), params=params, allow_redirects=False, timeout=TIMEOUT)


def test_discovery_announces_end_session_and_back_channel_logout(op: LoopbackProvider) -> None:
    document = requests.get(op.url("/.well-known/openid-configuration"), timeout=TIMEOUT).json()
    assert document["end_session_endpoint"] == op.url("/end_session")
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True


def test_every_id_token_carries_a_new_sid_and_last_sid_names_the_latest(op: LoopbackProvider) -> None:
    first = verified_claims(op, login(op)["id_token"])["sid"]
    assert op.last_sid == first
    second = verified_claims(op, login(op)["id_token"])["sid"]
    assert op.last_sid == second != first and len(second) >= 16


def test_end_session_redirects_with_state_and_ends_the_op_login(logout_op: LoopbackProvider) -> None:
    op = logout_op
    id_token = login(op)["id_token"]
    response = end_session(
        op, id_token_hint=id_token, client_id=CLIENT, post_logout_redirect_uri=POST_LOGOUT, state="st-9"
    )
    assert response.status_code == 302 and response.headers["Location"] == POST_LOGOUT + "?state=st-9"
    assert op.requests_to("/end_session")[0].query["id_token_hint"] == [id_token]
    assert op.current_user is None  # the authorization endpoint now shows no one logged in


def test_end_session_takes_the_client_from_the_hint_and_keeps_a_registered_query(op: LoopbackProvider) -> None:
    op.register_client(CLIENT, SECRET, REDIRECT, post_logout_redirect_uris=[POST_LOGOUT + "?tenant=acme"])
    response = end_session(
        op, id_token_hint=login(op)["id_token"], post_logout_redirect_uri=POST_LOGOUT + "?tenant=acme", state="s"
    )
    assert response.headers["Location"] == POST_LOGOUT + "?tenant=acme&state=s"


def _foreign_hint(op: LoopbackProvider) -> str:
    op.tamper_id_token_signature()
    return str(login(op)["id_token"])


# what is wrong -> the request's parameters (besides post_logout_redirect_uri = POST_LOGOUT)
END_SESSION_REFUSALS: dict[str, Callable[[LoopbackProvider], dict[str, str]]] = {
    "nothing names the client": lambda op: {},
    "unknown client": lambda op: {"client_id": "stranger"},
    "hint with a bad signature": lambda op: {"id_token_hint": _foreign_hint(op)},
    "hint that is no JWT": lambda op: {"id_token_hint": "not.a.jwt"},
    "client_id not the hint's audience": lambda op: {"id_token_hint": login(op)["id_token"], "client_id": "other"},
    "hint from another issuer": lambda op: (op.wrong_id_token_issuer(), {"id_token_hint": login(op)["id_token"]})[1],
}


@pytest.mark.parametrize("case", END_SESSION_REFUSALS)
def test_end_session_refuses_bad_input_with_400_and_keeps_the_login(logout_op: LoopbackProvider, case: str) -> None:
    params = END_SESSION_REFUSALS[case](logout_op)
    response = end_session(logout_op, post_logout_redirect_uri=POST_LOGOUT, **params)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert logout_op.current_user == "u-42"


def test_end_session_refuses_an_unregistered_post_logout_redirect_uri(logout_op: LoopbackProvider) -> None:
    response = end_session(logout_op, client_id=CLIENT, post_logout_redirect_uri="http://evil.example/out")
    assert response.status_code == 400 and "not registered" in response.json()["error_description"]


def test_logout_token_is_well_formed_by_default(logout_op: LoopbackProvider) -> None:
    token = logout_op.logout_token(sub="u-42", sid="sid-1")
    assert b64url_json(token.split(".")[0])["typ"] == "logout+jwt"
    claims = verified_claims(logout_op, token)
    assert claims == {
        "iss": logout_op.issuer,
        "aud": CLIENT,
        "sub": "u-42",
        "sid": "sid-1",
        "iat": claims["iat"],
        "exp": claims["iat"] + 120,
        "jti": claims["jti"],
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    }
    assert abs(claims["iat"] - time.time()) < 60 and len(claims["jti"]) >= 16
    assert verified_claims(logout_op, logout_op.logout_token(sid="sid-1"))["jti"] != claims["jti"]


def test_logout_token_arguments_override_or_omit_claims(logout_op: LoopbackProvider) -> None:
    token = logout_op.logout_token(
        sid="s", aud="other", iss="http://x", iat=5, exp=6, jti="j", events={}, nonce="n", omit=("sub", "sid")
    )
    claims = verified_claims(logout_op, token)
    assert claims == {"aud": "other", "iss": "http://x", "iat": 5, "exp": 6, "jti": "j", "events": {}, "nonce": "n"}
    assert "events" not in verified_claims(logout_op, logout_op.logout_token(sub="u", omit=["events"]))


def test_logout_token_signed_with_a_foreign_key_keeps_the_kid_and_fails_verification(
    logout_op: LoopbackProvider,
) -> None:
    token = logout_op.logout_token(sub="u-42", sign_with=3)
    (published,) = jwks_keys(logout_op)
    assert b64url_json(token.split(".")[0])["kid"] == published.kid
    with pytest.raises(BadSignature):
        verified_claims(logout_op, token)
