"""Per-address limits count the client's network, whatever address in it a request comes from.

An IPv6 client is given a whole /64 and may send each request from another of its 2**64 addresses,
so the login, one-time-password and registration limits per client address count its /64; an
IPv4 address is counted as itself. Whatever the server reports as the address, however odd, is
counted, never a server error. (A forged X-Forwarded-For is covered where the address is set:
test_login_and_sessions.py and test_two_processes.py.)
"""

from __future__ import annotations

from collections import Counter

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import Engine

from domain.passwords.login import FAILED_LOGINS_PER_ADDRESS
from domain.practitioners.registration import REGISTRATIONS_PER_ADDRESS
from domain.sso.confirmation import CODES_PER_ADDRESS, CODES_PER_SIGN_IN
from tests.e2e.conftest import Portal
from tests.e2e.test_concurrent_limits import registrations_at_once
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_login_and_sessions import ADA, acme, alert, fail_logins, submit_login  # noqa: F401  (fixture)
from tests.e2e.test_workflows import rows, set_policy

NETWORK = "2001:db8:5:6"  # one client's /64


def in_network(n: int) -> str:
    return f"{NETWORK}:{n // 65536 % 65536:x}:{n % 65536:x}::{n + 1:x}"


def register_from(portal: Portal, address: str, email: str, status: int | str = "*") -> webtest.TestResponse:
    form = portal.browser("acme", remote_addr=address).get("/register").forms["register-form"]
    form["email"], form["first_name"], form["last_name"] = email, "Nina", "Novak"
    return form.submit(status=status)


def test_failed_logins_from_one_ipv6_network_count_against_one_address_limit(acme: Portal):
    for n in range(FAILED_LOGINS_PER_ADDRESS.max_uses):
        fail_logins(acme.browser("acme", remote_addr=in_network(n)), [f"guess{n}@acme.test"])
    page = submit_login(acme.browser("acme", remote_addr=in_network(999)), ADA, status=429)
    assert "too many failed attempts" in alert(page)
    # The neighbouring /64 is another client.
    submit_login(acme.browser("acme", remote_addr="2001:db8:5:7::1"), ADA)


def test_an_ipv4_client_is_counted_alike_in_its_ipv6_mapped_form(acme: Portal):
    for n in range(FAILED_LOGINS_PER_ADDRESS.max_uses):
        address = "198.51.100.7" if n % 2 else "::ffff:198.51.100.7"
        fail_logins(acme.browser("acme", remote_addr=address), [f"guess{n}@acme.test"])
    submit_login(acme.browser("acme", remote_addr="198.51.100.7"), ADA, status=429)
    submit_login(acme.browser("acme", remote_addr="198.51.100.8"), ADA)


def test_registrations_from_one_ipv6_network_count_against_one_address_limit(portal: Portal, engine: Engine):
    portal.open_tenant("acme")
    set_policy(engine, self_registration=True)
    for n in range(REGISTRATIONS_PER_ADDRESS.max_uses):
        register_from(portal, in_network(n), f"nina{n}@acme.test", 200)
    refused = register_from(portal, in_network(999), "nina.late@acme.test", 429)
    assert "Too many accounts were registered" in refused.text
    assert rows(engine, "SELECT id FROM practitioners WHERE email = 'nina.late@acme.test'") == []


def test_code_requests_from_one_ipv6_network_count_against_one_address_limit(sso: Sso):
    sso.connect()
    asked = 0
    while asked < CODES_PER_ADDRESS.max_uses:
        browser = sso.portal.browser("acme")
        assert sso.log_in(browser, 303).location.endswith("/sso/link")
        for _ in range(min(CODES_PER_SIGN_IN.max_uses, CODES_PER_ADDRESS.max_uses - asked)):
            browser.extra_environ["REMOTE_ADDR"] = in_network(asked)
            assert "a code is on its way" in sso.request_code(browser, f"guess{asked}@acme.test").text
            asked += 1
    browser = sso.portal.browser("acme", remote_addr=in_network(999))
    assert sso.log_in(browser, 303).location.endswith("/sso/link")
    form = browser.get("/sso/link").forms["email-form"]
    form["email"] = "ann@acme.test"
    refused = form.submit(status=429)
    assert "too many codes were requested" in refused.text.lower()


@pytest.mark.parametrize(
    "address", ["", "fe80::1%eth0", "[2001:db8::1]", "2001:DB8::1", "unknown", "x" * 1000, "2001:db8::1, " * 80]
)
def test_any_client_address_the_server_reports_is_counted_never_a_server_error(
    acme: Portal, engine: Engine, address: str
):
    set_policy(engine, self_registration=True)
    fail_logins(acme.browser("acme", remote_addr=address), ["guess@acme.test"])
    assert register_from(acme, address, "nina@acme.test").status_int == 200
    longest = rows(engine, "SELECT max(length(bucket)) FROM throttle_counters")[0][0]
    assert longest <= 200


def test_thirty_concurrent_registrations_from_one_address_make_exactly_twenty_accounts(
    portal: Portal, engine: Engine, wsgi_app: Router
):
    portal.open_tenant("acme")
    set_policy(engine, self_registration=True)
    answers = registrations_at_once(portal, wsgi_app, [f"nina{n}@acme.test" for n in range(30)])
    assert Counter(a.status for a in answers) == {200: 20, 429: 10}
    assert len(rows(engine, "SELECT id FROM practitioners WHERE email LIKE 'nina%'")) == 20
