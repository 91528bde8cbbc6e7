"""Mail leaves the request path: a request queues it in its own transaction, the worker sends it."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from adapters.db.schema import mail_outbox
from entrypoints.web import main
from tests.e2e.conftest import Portal, app_settings
from tests.e2e.test_password_links import ANN, ask_for_link, the_form


def queued(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(mail_outbox.c.recipient).order_by(mail_outbox.c.id)))


@pytest.fixture
def acme(portal: Portal) -> Portal:
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ANN)
    return portal


def test_forgot_password_queues_mail_only_for_a_registered_email_and_sends_nothing_itself(acme, engine, outbox_dir):
    ask_for_link(acme, "nobody@acme.test")
    assert queued(engine) == []
    ask_for_link(acme, ANN)
    assert queued(engine) == [ANN]
    assert list(outbox_dir.glob("*.eml")) == []  # the request wrote no mail: the worker does
    (mail,) = acme.mails()
    assert mail.to == ANN and "/password/reset/" in mail.link()
    assert acme.mails() == [mail]  # delivered once


@pytest.fixture
def hanging_mail_server() -> Iterator[int]:
    """A loopback port that takes connections and never says a word, as a stuck relay does."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


@pytest.fixture
def smtp_portal(
    database_url: str, clean_database: Engine, outbox_dir: Path, hanging_mail_server: int
) -> Iterator[Portal]:
    """The app as in production, mailing over SMTP: a request that talked to the relay would hang."""
    settings = app_settings(database_url, outbox_dir) | {
        "mail.backend": "smtp",
        "mail.host": "127.0.0.1",
        "mail.port": str(hanging_mail_server),
        "mail.starttls": "false",
    }
    app = main({}, **settings)
    yield Portal(app, outbox_dir)
    app.registry.db_engine.dispose()


def test_forgot_password_answers_as_fast_for_a_registered_email_while_the_mail_server_hangs(
    smtp_portal, clean_database
):
    smtp_portal.open_tenant("acme")
    rounds = 8
    for n in range(rounds):
        smtp_portal.add_practitioner("acme", f"p{n}@acme.test")
    seconds: dict[str, list[float]] = {"registered": [], "unregistered": []}
    for n in range(rounds):  # interleaved, each from its own client, so no limit steps in
        for kind, email in (("registered", f"p{n}@acme.test"), ("unregistered", f"x{n}@acme.test")):
            browser = smtp_portal.browser("acme", remote_addr=f"192.0.2.{100 + 2 * n + (kind == 'unregistered')}")
            form = the_form(browser.get("/password/forgot"), "email")
            form["email"] = email
            started = time.perf_counter()
            form.submit(status=200)
            seconds[kind].append(time.perf_counter() - started)
    # The quickest of each kind, compared with each other: no absolute threshold. A registered
    # email also writes a token and a queued message (a commit of its own weight), and a busy CI
    # machine stretches that; a request that waited for the hanging relay would take its whole
    # timeout, hundreds of times an unregistered answer. So the bound is loose, but not blind.
    assert min(seconds["registered"]) < 10 * min(seconds["unregistered"]), seconds
    assert len(queued(clean_database)) == rounds
