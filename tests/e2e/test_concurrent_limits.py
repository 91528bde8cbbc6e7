"""Limits and uniqueness hold under concurrency: real threads against the app served on loopback.

SQLite serialises writers, so these pass there by construction; on PostgreSQL they need the
database to enforce each limit atomically (a conditional upsert, a row lock, a unique index).
Each test prepares its clients through WebTest, then fires every request at once (a barrier)
over real HTTP, so the requests overlap inside the server and the database.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
import webtest
from pyramid.router import Router
from sqlalchemy import Engine, text

from tests.e2e.conftest import BASE_DOMAIN, Portal, served_on_loopback
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_scim import create_token

ADA = "ada@acme.test"
HOST = f"acme.{BASE_DOMAIN}"


@dataclass
class Answer:
    status: int
    text: str


@contextmanager
def served(app: Router) -> Iterator[str]:
    """The app on loopback with a worker for every request a test sends at once."""
    with served_on_loopback(app, threads=32) as port:
        yield f"http://127.0.0.1:{port}"


def all_at_once(requests_to_send: list[Callable[[], requests.Response]]) -> list[Answer]:
    """Sends every request from its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(requests_to_send))

    def send(request: Callable[[], requests.Response]) -> Answer:
        barrier.wait(timeout=30)
        response = request()
        return Answer(response.status_code, response.text)

    with ThreadPoolExecutor(max_workers=len(requests_to_send)) as pool:
        return list(pool.map(send, requests_to_send))


def form_post(
    base: str, path: str, browser: webtest.TestApp, csrf_token: str, **fields: str
) -> Callable[[], requests.Response]:
    """A form POST as this browser would send it: its cookies, its CSRF token."""
    cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    return lambda: requests.post(
        base + path,
        data={"csrf_token": csrf_token, **fields},
        headers={"Host": HOST, "Cookie": cookies},
        allow_redirects=False,
        timeout=30,
    )


def csrf_token(page: webtest.TestResponse, form_id: str) -> str:
    return str(page.forms[form_id]["csrf_token"].value)


def registrations_at_once(portal: Portal, app: Router, emails: list[str], slug: str = "acme") -> list[Answer]:
    """One browser per email fills the practice's registration form; all are posted at once."""
    browsers = [portal.browser(slug) for _ in emails]
    tokens = [csrf_token(browser.get("/register"), "register-form") for browser in browsers]
    with served(app) as base:
        return all_at_once(
            [
                form_post(base, "/register", browser, token, email=email, first_name="Nina", last_name="Novak")
                for browser, token, email in zip(browsers, tokens, emails)
            ]
        )


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar_one()


def test_thirty_concurrent_wrong_passwords_get_exactly_ten_answers_before_the_throttle(
    portal: Portal, wsgi_app: Router
):
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ADA)
    browsers = [portal.browser("acme") for _ in range(30)]
    tokens = [csrf_token(browser.get("/login"), "login-form") for browser in browsers]
    with served(wsgi_app) as base:
        answers = all_at_once(
            [
                form_post(base, "/login", browser, token, email=ADA, password="not the password")
                for browser, token in zip(browsers, tokens)
            ]
        )
    assert Counter(a.status for a in answers) == {401: 10, 429: 20}
    assert all("too many failed attempts" in a.text for a in answers if a.status == 429)


def test_thirty_concurrent_wrong_codes_count_exactly_five_tries(sso: Sso, wsgi_app: Router, engine: Engine):
    sso.connect()
    browser = sso.portal.browser("acme")
    sso.log_in(browser, status=303)
    sso.request_code(browser, "ann@acme.test")
    right = sso.code_from_mail()
    wrong = "000000" if right != "000000" else "111111"
    token = csrf_token(browser.get("/sso/link"), "code-form")
    with served(wsgi_app) as base:
        answers = all_at_once([form_post(base, "/sso/link", browser, token, code=wrong) for _ in range(30)])
    assert {a.status for a in answers} == {400}
    tries_left = sorted(int(m.group(1)) for a in answers if (m := re.search(r"(\d) tries left", a.text)))
    counted = scalar(engine, "SELECT wrong_attempts FROM link_challenges")
    assert (tries_left, counted) == ([1, 2, 3, 4], 5), f"{len(tries_left)} answers said 'tries left'"
    assert sum("Too many wrong codes" in a.text for a in answers) == 26
    assert "Too many wrong codes" in sso.enter_code(browser, right, status=400).text


def test_twenty_concurrent_creates_of_one_user_name_make_exactly_one_user(
    portal: Portal, wsgi_app: Router, engine: Engine
):
    portal.open_tenant("acme")
    token = create_token(portal, "acme")
    headers = {"Host": HOST, "Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    spellings = ["Kate.Smith", "kate.smith", "KATE.SMITH", "kAtE.sMiTh"]

    def create(n: int) -> Callable[[], requests.Response]:
        user = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": spellings[n % len(spellings)],
            "emails": [{"value": f"kate{n}@acme.test", "primary": True}],
        }
        return lambda: requests.post(f"{base}/scim/v2/Users", json=user, headers=headers, timeout=30)

    with served(wsgi_app) as base:
        # One request first: the token's last use is then fresh, so the creates do not queue on it.
        assert requests.get(f"{base}/scim/v2/Users", headers=headers, timeout=30).status_code == 200
        answers = all_at_once([create(n) for n in range(20)])
        found = requests.get(
            f"{base}/scim/v2/Users", params={"filter": 'userName eq "KATE.smith"'}, headers=headers, timeout=30
        )
    assert Counter(a.status for a in answers) == {201: 1, 409: 19}
    assert all('"scimType": "uniqueness"' in a.text for a in answers if a.status == 409)
    assert found.json()["totalResults"] == 1
    assert scalar(engine, "SELECT count(*) FROM practitioners WHERE lower(user_name) = 'kate.smith'") == 1


def _browser_post(
    base: str, slug: str, browser: webtest.TestApp, form: webtest.Form, button: str
) -> Callable[[], requests.Response]:
    """The form as the browser would submit it with this button pressed, sent to the served app."""
    fields = form.submit_fields("action", submit_value=button)
    cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    host = f"{slug}.{BASE_DOMAIN}"
    path = form.action or form.response.request.path  # no action: the page's own address
    return lambda: requests.post(
        base + path, data=fields, headers={"Host": host, "Cookie": cookies}, allow_redirects=False, timeout=30
    )


def test_two_admins_at_once_never_leave_a_practice_without_a_way_in(sso: Sso, wsgi_app: Router, engine: Engine):
    """One admin switches to pseudo-SSO while another switches off the only provider: either alone
    is allowed, both together would lock everybody out, so one of them is refused. Several practices
    race at once, so the overlap happens on PostgreSQL whatever the timing."""
    slugs = ["acme", "beta", "gamma", "delta"]
    races = []
    for slug in slugs:
        if slug != "acme":
            sso.portal.open_tenant(slug)
        provider_id = sso.connect(slug)
        policy_form = sso.admin(slug).get("/admin/authentication/policy").forms["policy-form"]
        policy_form["workflow"] = "pseudo_sso"
        listing = sso.admin(slug)
        switch_off = next(
            form
            for form in listing.get("/admin/authentication").forms.values()
            if form.get("provider_id", default=None) is not None and form["provider_id"].value == provider_id
        )
        races.append((slug, policy_form, switch_off))
    with served(wsgi_app) as base:
        answers = all_at_once(
            [
                request
                for slug, policy_form, switch_off in races
                for request in (
                    _browser_post(base, slug, policy_form.response.test_app, policy_form, "save"),
                    _browser_post(base, slug, switch_off.response.test_app, switch_off, "disable"),
                )
            ]
        )
    assert all(a.status in (303, 400) for a in answers), [a.status for a in answers]
    with engine.connect() as connection:
        locked_out = (
            connection.execute(
                text(
                    "SELECT t.slug FROM tenants t WHERE t.workflow = 'pseudo_sso' AND NOT EXISTS "
                    "(SELECT 1 FROM identity_providers p WHERE p.tenant_id = t.id AND p.enabled)"
                )
            )
            .scalars()
            .all()
        )
    assert locked_out == []
