"""A hostile or broken identity provider: every misbehaviour refuses the login with a clear page
and no session. Plus the pyoidc traps the adapter closes, each shown against the real provider.
"""

from __future__ import annotations

import threading

import pytest
import webtest

from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)


@pytest.fixture
def linked(sso: Sso) -> Sso:
    """A connected provider and Ann, who has linked her provider account already."""
    sso.connect()
    sso.first_login(sso.portal.browser("acme"), "ann@acme.test")
    sso.op.reset()
    return sso


def refused(sso: Sso, status: int) -> tuple[webtest.TestApp, webtest.TestResponse]:
    browser = sso.portal.browser("acme")
    page = sso.log_in(browser, status=status)
    assert browser.get("/", status=303).location.endswith("/login"), "a refused login left a session"
    return browser, page


@pytest.mark.parametrize(
    "misbehave, message",
    [
        (lambda op: op.tamper_id_token_signature(), "signature is not valid"),
        (lambda op: op.sign_id_token_with_alg_none(), "signed with &#39;none&#39;"),
        (lambda op: op.sign_id_token_hs256_with_public_key(), "signed with &#39;HS256&#39;"),
        (lambda op: op.sign_id_token_hs256_with_client_secret(), "signed with &#39;HS256&#39;"),
        (lambda op: op.wrong_id_token_issuer(), "issuer is"),
        (lambda op: op.wrong_id_token_audience(), "meant for another client (aud)"),
        (lambda op: op.multiple_audiences(azp=None), "authorized party (azp)"),
        (lambda op: op.multiple_audiences(azp="another-client"), "authorized party (azp)"),
        (lambda op: op.drop_id_token_iat(), "no issue time (iat)"),
        (lambda op: op.expire_id_token(), "has expired"),
        (lambda op: op.wrong_id_token_nonce(), "nonce does not belong to this sign-in"),
        (lambda op: op.userinfo_sub_mismatch(), "userinfo answer is about another subject"),
    ],
    ids=[
        "bad signature",
        "alg none",
        "HS256 with the public key",
        "HS256 with the client secret",
        "wrong iss",
        "wrong aud",
        "several aud without azp",
        "wrong azp",
        "missing iat",
        "expired",
        "wrong nonce",
        "userinfo sub mismatch",
    ],
)
def test_an_id_token_failing_any_check_logs_nobody_in(linked: Sso, misbehave, message):
    misbehave(linked.op)
    _, page = refused(linked, 400)
    assert "Single Sign On did not work" in page.text
    assert message in page.text


def test_the_refusal_is_audited_with_its_reason(linked: Sso, engine):
    linked.op.wrong_id_token_nonce()
    refused(linked, 400)
    with engine.connect() as connection:
        kind, summary = connection.exec_driver_sql(
            "SELECT kind, summary FROM audit_events ORDER BY at DESC, id LIMIT 1"
        ).one()
    assert kind == "sso_login_failed" and "nonce" in summary


def test_a_callback_with_a_forged_or_missing_state_is_refused(linked: Sso):
    browser = linked.portal.browser("acme")
    callback = linked.at_provider(linked.start(browser))
    forged = callback.replace("state=", "state=forged")
    assert "not started in this browser" in browser.get(forged, status=400).text
    browser2 = linked.portal.browser("acme")
    linked.start(browser2)
    browser2.get("/process_sso?code=anything", status=400)
    assert linked.op.hits["/token"] == 0


def test_a_replayed_callback_is_refused(linked: Sso):
    browser = linked.portal.browser("acme")
    callback = linked.at_provider(linked.start(browser))
    browser.get(callback, status=303)
    browser.get(callback, status=400)


def test_a_callback_stolen_into_another_browser_is_refused(linked: Sso):
    victim = linked.portal.browser("acme")
    callback = linked.at_provider(linked.start(victim))
    attacker = linked.portal.browser("acme")
    attacker.get(callback, status=400)
    assert attacker.get("/", status=303).location.endswith("/login")


def test_the_providers_access_denied_answer_is_shown(linked: Sso):
    linked.op.deny_authorization("Ann said no")
    _, page = refused(linked, 400)
    assert "Contoso ID did not sign you in: Ann said no" in page.text


def test_an_iss_parameter_is_checked_when_the_provider_sends_one(linked: Sso):
    linked.op.send_wrong_iss_param()
    _, page = refused(linked, 400)
    assert "another identity provider" in page.text
    linked.op.reset()
    linked.op.send_iss_param = True
    assert linked.log_in(linked.portal.browser("acme"), status=303).location.endswith("/")


@pytest.mark.parametrize(
    "misbehave, message",
    [
        (lambda op: op.fail_token_endpoint(500), "the token endpoint answered HTTP 500"),
        (lambda op: op.slow_token_endpoint(3), "the token endpoint: no answer within 2 s"),
        (lambda op: op.oversize_response("/token"), "the token endpoint: the answer is larger than 1 MiB"),
        (lambda op: op.oversize_response("/userinfo", send_content_length=False), "the answer is larger than"),
    ],
    ids=["token endpoint 500", "token endpoint too slow", "oversized token answer", "oversized userinfo"],
)
def test_a_broken_provider_gets_a_502_page_naming_what_failed(linked: Sso, misbehave, message):
    misbehave(linked.op)
    _, page = refused(linked, 502)
    assert "The identity provider did not answer properly" in page.text
    assert message in page.text


def test_an_unreachable_jwks_endpoint_gets_a_502_page(sso: Sso):
    sso.connect()
    sso.op.jwks_unreachable("503")
    browser = sso.portal.browser("acme")
    page = sso.log_in(browser, status=502)
    assert "the JWKS endpoint answered HTTP 503" in page.text


def test_an_endpoint_moved_to_a_private_address_is_refused_at_fetch_time(linked: Sso, engine):
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE identity_providers SET token_endpoint = 'https://10.0.0.5/token'")
    _, page = refused(linked, 502)
    assert "10.0.0.5 is a private address" in page.text


def test_a_rotated_signing_key_is_accepted_after_one_jwks_refresh(linked: Sso):
    linked.op.rotate_signing_key(keep_old=False)
    assert linked.log_in(linked.portal.browser("acme"), status=303).location.endswith("/")
    assert linked.op.hits["/jwks"] == 1  # one refresh, not pyoidc's five


def test_an_unknown_kid_is_refused_after_one_refresh_and_never_hammers_the_jwks(linked: Sso):
    linked.op.rotate_signing_key(keep_old=False)
    linked.op.jwks_unreachable("503")
    for _ in range(3):
        refused(linked, 400)
    assert linked.op.hits["/jwks"] == 1  # rate-limited: one refresh for any number of logins


def test_a_failed_refresh_keeps_the_old_keys_so_known_kids_still_log_in(linked: Sso):
    old_kid_op = linked.op
    old_kid_op.rotate_signing_key(keep_old=False)
    old_kid_op.jwks_unreachable("close")
    refused(linked, 400)
    old_kid_op.reset()  # signs with the original key again; the JWKS answers again
    assert linked.log_in(linked.portal.browser("acme"), status=303).location.endswith("/")
    assert old_kid_op.hits["/jwks"] == 0  # verified with the keys cached before the failure


def test_discovery_and_jwks_are_not_fetched_per_login(linked: Sso):
    for _ in range(5):
        assert linked.log_in(linked.portal.browser("acme"), status=303).location.endswith("/")
    assert linked.op.hits["/jwks"] == 0
    assert linked.op.hits["/.well-known/openid-configuration"] == 0


def test_each_tenants_provider_has_its_own_key_store(linked: Sso):
    portal, op_ = linked.portal, linked.op
    portal.open_tenant("beta")
    portal.add_practitioner("beta", "ann@beta.test")
    linked.connect("beta")
    linked.first_login(portal.browser("beta"), "ann@beta.test")
    op_.reset()
    op_.rotate_signing_key(keep_old=False)
    assert linked.log_in(portal.browser("acme"), status=303).location.endswith("/")
    assert op_.hits["/jwks"] == 1
    # acme's refresh did not touch beta's store: beta refreshes for itself, once.
    beta = portal.browser("beta")
    assert linked.log_in(beta, status=303).location.endswith("/")
    assert op_.hits["/jwks"] == 2


def test_cookies_set_by_the_provider_are_never_replayed(linked: Sso):
    linked.op.set_cookie_on_token = True
    for _ in range(3):
        linked.log_in(linked.portal.browser("acme"), status=303)
    assert linked.op.hits["/token"] == 3
    assert not any(linked.op.cookies["/token"])
    assert not any(linked.op.cookies["/userinfo"])


def test_the_client_keeps_no_state_per_login(linked: Sso, wsgi_app):
    from domain.ports import IdentityProviderClient
    from pyramid.scripting import prepare

    client = prepare(registry=wsgi_app.registry)["request"].find_service(IdentityProviderClient)
    assert not hasattr(client, "__dict__")  # no attribute can be added to it during a login
    linked.log_in(linked.portal.browser("acme"), status=303)
    before = client.cached_keys()
    for _ in range(10):
        linked.log_in(linked.portal.browser("acme"), status=303)
    assert client.cached_keys() == before > 0


def test_logins_in_parallel_threads_all_succeed(linked: Sso):
    results: list[str] = []

    def one_login() -> None:
        browser = linked.portal.browser("acme")
        results.append(linked.log_in(browser, status="*").status)

    threads = [threading.Thread(target=one_login) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == ["303 See Other"] * 4
