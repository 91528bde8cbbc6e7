"""The real app (``main()``), driven through WebTest on a tenant's host, mail from the outbox."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import webtest
from pyramid.request import Request
from pyramid.router import Router
from pyramid.scripting import prepare
from sqlalchemy import Engine
from webtest.http import StopableWSGIServer

from domain.practitioners.directory import PractitionerDirectory
from domain.tenancy.onboarding import TenantOnboarding
from domain.practitioners.rights import ModuleRight
from entrypoints.web import main

BASE_DOMAIN = "portal.test"
PASSWORD = "correct horse battery"


def app_settings(database_url: str, outbox: Path) -> dict[str, str]:
    return {
        "sqlalchemy.url": database_url,
        "app.base_domain": BASE_DOMAIN,
        "app.scheme": "http",
        "app.development": "true",
        "session.secret": "test-secret-" + "x" * 32,
        "secrets.key": "test",
        "mail.backend": "outbox",
        "mail.outbox_dir": str(outbox),
        "passwords.hash_profile": "cheapest",
        "sso.http_timeout": "2",
    }


@contextmanager
def served_on_loopback(app: Router, threads: int = 4) -> Iterator[int]:
    """A real HTTP server on 127.0.0.1 (waitress, as WebTest wraps it to be stopped cleanly),
    serving ``threads`` requests at once; yields its port."""
    server = StopableWSGIServer.create(app, host="127.0.0.1", port=0, threads=threads)
    try:
        yield server.effective_port
    finally:
        server.shutdown()


@pytest.fixture(scope="session")
def outbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="session")
def wsgi_app(database_url: str, outbox_dir: Path) -> Router:
    return main({}, **app_settings(database_url, outbox_dir))


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str

    def link(self) -> str:
        match = re.search(r"https?://\S+", self.text)
        assert match, f"no link in: {self.text}"
        return match.group(0)


class Portal:
    """Drives the app like its users do: one browser per person, on their practice's host."""

    def __init__(self, app: Router, outbox: Path) -> None:
        self.app = app
        self.outbox = outbox

    def browser(self, slug: str | None = "acme", remote_addr: str = "192.0.2.10") -> webtest.TestApp:
        host = f"{slug}.{BASE_DOMAIN}" if slug else BASE_DOMAIN
        return webtest.TestApp(self.app, extra_environ={"HTTP_HOST": host, "REMOTE_ADDR": remote_addr})

    def open_tenant(self, slug: str = "acme", owner_password: str = PASSWORD) -> str:
        """Opens a tenant as the operator's CLI does; returns the owner's email."""
        with self.unit_of_work() as request:
            request.find_service(TenantOnboarding).open_tenant(
                slug, f"{slug.title()} Practice", f"owner@{slug}.test", owner_password
            )
        return f"owner@{slug}.test"

    def add_practitioner(
        self,
        slug: str,
        email: str,
        password: str | None = PASSWORD,
        rights: frozenset[ModuleRight] = frozenset(),
    ) -> None:
        with self.unit_of_work() as request:
            onboarding = request.find_service(TenantOnboarding)
            tenant = onboarding.tenant(slug)
            request.find_service(PractitionerDirectory).add(
                onboarding.owner_of(tenant),
                tenant,
                email,
                "Pat",
                email.split("@")[0].title(),
                password=password or "",
                rights=rights,
            )

    def log_in(
        self, browser: webtest.TestApp, email: str, password: str = PASSWORD, status: int | str = 303
    ) -> webtest.TestResponse:
        form = browser.get("/login").forms["login-form"]
        form["email"], form["password"] = email, password
        return form.submit(status=status)

    def mails(self) -> list[Mail]:
        """What reached the outbox after one delivery pass, the one the `worker` command runs."""
        self.app.registry.mail_delivery.deliver_due()
        found = []
        for path in sorted(self.outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            text = message.get_body(("plain",)).get_content()
            html = message.get_body(("html",)).get_content()
            found.append(Mail(message["To"], message["Subject"], text, html))
        return found

    @contextmanager
    def unit_of_work(self) -> Iterator[Request]:
        """A request of the app in a transaction of its own, as the CLI runs one: find services
        on it; leaving the block commits, an exception aborts."""
        env = prepare(registry=self.app.registry)
        try:
            with env["request"].tm:
                yield env["request"]
        finally:
            env["closer"]()


@pytest.fixture
def portal(wsgi_app: Router, outbox_dir: Path, clean_database: Engine) -> Iterator[Portal]:
    for leftover in outbox_dir.glob("*.eml"):
        leftover.unlink()
    yield Portal(wsgi_app, outbox_dir)
