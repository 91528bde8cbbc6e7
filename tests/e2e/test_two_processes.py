"""Two gunicorn processes of the real app on one PostgreSQL: a login begun, counted or ended on one
is seen by the other, because all of it lives in the database.

Each process is `python -m gunicorn --paste` with the project's gunicorn.conf.py (its worker class
and proxy rule), one worker, on a loopback port of its own, over a settings file written for the
test: development.ini's app section on the test database. A browser is a `requests` session (one
cookie jar) that the test sends to either process with the tenant's Host header; the identity
provider is the loopback OP, connected as tests/e2e/sso.py does. The in-process app of the other
e2e tests prepares tenants and delivers the mail the processes queue.
"""

from __future__ import annotations

import configparser
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from domain.passwords.login import FAILED_LOGINS_PER_ACCOUNT, FAILED_LOGINS_PER_ADDRESS
from tests.e2e.conftest import BASE_DOMAIN, PASSWORD, Portal, app_settings
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]
HOST = f"acme.{BASE_DOMAIN}"
ANN = "ann@acme.test"
STARTUP_SECONDS = 30
_LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def settings_file(directory: Path, database_url: str, outbox: Path) -> Path:
    """development.ini's app section with the e2e settings (test database, base domain, outbox),
    links without a port, as the loopback provider's registered redirect URIs expect."""
    development = configparser.RawConfigParser()
    development.read(ROOT / "development.ini")
    overrides = {**app_settings(database_url, outbox), "app.public_port": ""}
    settings = configparser.RawConfigParser()
    # Paste interpolates %(name)s: the database URL's percent-escapes are written doubled.
    settings["app:main"] = {**development["app:main"], **{k: v.replace("%", "%%") for k, v in overrides.items()}}
    path = directory / "portal.ini"
    with path.open("w") as file:
        settings.write(file)
    return path


class Gunicorn:
    """One `python -m gunicorn --paste` process with one worker on a free loopback port."""

    def __init__(self, settings: Path, directory: Path) -> None:
        directory.mkdir()
        self.log = directory / "gunicorn.log"
        command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--paste", str(settings)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "--bind", "127.0.0.1:0", "--workers", "1"],
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its control socket in the test's directory, not the user's one that both would share.
                env={**os.environ, "XDG_RUNTIME_DIR": str(directory)},
            )
        self._base: str | None = None

    @property
    def base(self) -> str:
        """The process's URL, once its worker answers: both boot while the test prepares its data."""
        if self._base is None:
            self._base = self._wait_until_serving()
        return self._base

    def _wait_until_serving(self) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if listening := _LISTENING.search(self.log.read_text()):
                try:
                    requests.get(listening.group(1), allow_redirects=False, timeout=1)
                    return listening.group(1)
                except requests.RequestException:
                    pass
            time.sleep(0.05)
        pytest.fail(f"gunicorn did not serve within {STARTUP_SECONDS} s:\n{self.log.read_text()}")

    def interrupt(self) -> None:
        """Quick shutdown (SIGINT): nothing of the test is in flight any more."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def wait(self) -> None:
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def processes(
    database_url: str, outbox_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gunicorn, Gunicorn]]:
    """Processes A and B for the whole module, like the in-process app the e2e tests share (each
    test's tables are emptied under them); stopped whatever happens."""
    if not database_url.startswith("postgresql"):
        pytest.skip("two processes share a database server: these run on the PostgreSQL leg (TEST_DATABASE_URL)")
    directory = tmp_path_factory.mktemp("gunicorn")
    settings = settings_file(directory, database_url, outbox_dir)
    started: list[Gunicorn] = []
    try:
        for name in ("a", "b"):
            started.append(Gunicorn(settings, directory / name))
        yield started[0], started[1]
    finally:
        for process in started:
            process.interrupt()
        for process in started:
            process.wait()


class Browser:
    """One person's browser: one cookie jar, whichever process serves each request."""

    def __init__(self, source_address: str | None = None) -> None:
        self.session = requests.Session()
        self.session.headers["Host"] = HOST
        if source_address is not None:
            self.session.mount("http://", _FromAddress(source_address))
        self._csrf_token: str | None = None

    def get(self, server: Gunicorn, path: str, **headers: str) -> requests.Response:
        return self.session.get(server.base + path, headers=headers, allow_redirects=False, timeout=10)

    def submit(self, server: Gunicorn, action: str, fields: dict[str, str], **headers: str) -> requests.Response:
        """Posts a form as the browser's pages would: with its CSRF token."""
        data = {"csrf_token": self.csrf_token(server), **fields}
        return self.session.post(server.base + action, data=data, headers=headers, allow_redirects=False, timeout=10)

    def csrf_token(self, server: Gunicorn) -> str:
        """The token in every form of this browser's pages (it is its CSRF cookie's), read once."""
        if self._csrf_token is None:
            token = _CSRF.search(self.get(server, "/login").text)
            assert token, "no form on the login page"
            self._csrf_token = token.group(1)
        return self._csrf_token

    def log_in(self, server: Gunicorn, email: str, password: str = PASSWORD, **headers: str) -> requests.Response:
        return self.submit(server, "/login", {"email": email, "password": password}, **headers)

    def account_page(self, server: Gunicorn) -> requests.Response:
        return self.get(server, "/account")


class _FromAddress(HTTPAdapter):
    """Connects from a given loopback address, to be a peer other than the trusted proxy."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, source_address=(self._address, 0), **kwargs)


def logged_in_as(response: requests.Response, email: str) -> bool:
    return response.status_code == 200 and email in response.text


def redirect(response: requests.Response) -> tuple[int, str]:
    """The status and the path (with query) a response sends the browser to."""
    target = urlsplit(response.headers.get("Location", ""))
    return response.status_code, f"{target.path}?{target.query}" if target.query else target.path


def sso_start(browser: Browser, server: Gunicorn, sso: Sso, provider_id: str) -> str:
    """Clicks the provider's button on ``server``; returns where the provider sends the browser back."""
    started = browser.submit(server, f"/sso/{provider_id}/start", {"next": "/account"})
    assert started.status_code == 303, started.text
    return sso.at_provider(started.headers["Location"])


def test_an_sso_login_begun_on_one_process_ends_on_the_other(processes: tuple[Gunicorn, Gunicorn], sso: Sso) -> None:
    a, b = processes
    provider_id = sso.connect()
    sso.first_login(sso.portal.browser("acme"), ANN)  # the identity is linked: the callback logs in
    browser = Browser()
    callback = sso_start(browser, a, sso, provider_id)
    finished = browser.get(b, callback)
    assert redirect(finished) == (303, "/account"), finished.text
    assert logged_in_as(browser.account_page(a), ANN)


def test_a_session_opened_on_one_process_is_ended_by_a_logout_on_the_other(
    processes: tuple[Gunicorn, Gunicorn], portal: Portal
) -> None:
    a, b = processes
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ANN)
    browser = Browser()
    assert browser.log_in(a, ANN).status_code == 303
    assert logged_in_as(browser.account_page(b), ANN)
    cookie = browser.session.cookies["portal_session"]
    assert browser.submit(b, "/logout", {}).status_code == 303
    replayed = Browser()
    replayed.session.cookies.set("portal_session", cookie)
    for browser_ in (browser, replayed):
        assert redirect(browser_.account_page(a)) == (303, "/login?next=%2Faccount")


def test_failed_logins_on_both_processes_count_toward_one_limit(
    processes: tuple[Gunicorn, Gunicorn], portal: Portal
) -> None:
    a, b = processes
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ANN)
    browser = Browser()
    limit = FAILED_LOGINS_PER_ACCOUNT.max_uses
    answers = [browser.log_in((a, b)[i % 2], ANN, "not the password").status_code for i in range(limit)]
    answers += [browser.log_in(server, ANN).status_code for server in (a, b)]
    assert answers == [401] * limit + [429, 429]


def test_a_one_time_password_mailed_after_a_callback_on_one_process_is_accepted_on_the_other(
    processes: tuple[Gunicorn, Gunicorn], sso: Sso
) -> None:
    a, b = processes
    provider_id = sso.connect()
    browser = Browser()
    callback = sso_start(browser, b, sso, provider_id)
    assert redirect(browser.get(a, callback)) == (303, "/sso/link")
    asked = browser.submit(a, "/sso/link", {"email": ANN})
    assert "a code is on its way" in asked.text
    confirmed = browser.submit(b, "/sso/link", {"code": sso.code_from_mail()})
    assert redirect(confirmed) == (303, "/account"), confirmed.text
    assert logged_in_as(browser.account_page(a), ANN)


def test_the_client_address_comes_from_x_forwarded_for_only_when_the_proxy_sends_it(
    processes: tuple[Gunicorn, Gunicorn], portal: Portal
) -> None:
    """The per-address login limit tells which address the app saw (tests connect from 127.0.0.1,
    the trusted proxy; 127.0.0.2 is any other peer)."""
    a, _ = processes
    portal.open_tenant("acme")
    proxy, stranger = Browser(), Browser(source_address="127.0.0.2")

    def fails(browser: Browser, n: int, forwarded_for: str) -> int:
        answer = browser.log_in(a, f"nobody{n}@acme.test", "wrong", **{"X-Forwarded-For": forwarded_for})
        return answer.status_code

    limit = FAILED_LOGINS_PER_ADDRESS.max_uses
    assert {fails(proxy, n, "203.0.113.7") for n in range(limit)} == {401}
    # The proxy appends the peer it saw: a client's own X-Forwarded-For entries come first.
    assert fails(proxy, limit, "203.0.113.8, 203.0.113.7") == 429
    assert fails(proxy, limit, "203.0.113.7, 203.0.113.8") == 401
    # From any other peer the header is dropped and the peer itself is counted.
    assert fails(stranger, limit, "203.0.113.7") == 401
