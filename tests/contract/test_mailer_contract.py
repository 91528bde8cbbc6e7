"""What every Mailer promises (the fake included): a message sent in a committed unit of work is
delivered once, as it was sent, in the order sent.

The outbox adapter is observed where its mail ends up: the worker's MailDelivery writes it
through the outbox transport, and it is read back as the recipient would read it. That a
rolled-back unit of work sends nothing is the outbox's own promise (test_mail_outbox.py): an
in-memory fake has no transaction to roll back.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
import transaction
from sqlalchemy import Engine

from adapters.db.engine import make_session_factory, transactional_session
from adapters.db.mail_outbox import MailDelivery, SqlMailOutbox
from adapters.mail import OutboxTransport
from domain.ports import MailMessage, Mailer
from tests.conftest import DATABASES, empty_all_tables
from tests.contract.conftest import ContractDatabases
from tests.fakes import FakeClock, FakeMailer

SENDER = "Practice Portal <no-reply@portal.test>"
WELCOME = MailMessage(to="ann@acme.test", subject="Welcome", text="Hello Ann", html="<p>Hello Ann</p>")
# Non-ASCII in every part, several lines, markup: all of it arrives as it was sent.
CODE = MailMessage(
    to="zoe@acme.test",
    subject="Ihr Code für Zoë",
    text="Hallo Zoë,\n\nIhr Code: 123456\n.\nGrüße",
    html='<p>Hallo Zoë,</p>\n<p>Ihr Code: <strong>123456</strong></p><a href="https://acme.test/?a=1&amp;b=2">x</a>',
)


class Mail(Protocol):
    @property
    def mailer(self) -> Mailer: ...

    def commit(self) -> None: ...

    def delivered(self) -> list[MailMessage]:
        """Everything that has reached its recipients so far, in the order it arrived."""


class InMemory:
    def __init__(self) -> None:
        self.mailer = FakeMailer()

    def commit(self) -> None:
        """In memory, what was sent is already there."""

    def delivered(self) -> list[MailMessage]:
        return list(self.mailer.sent)


class Outbox:
    """SqlMailOutbox in a unit of work of its own, delivered by the worker's MailDelivery."""

    def __init__(self, engine: Engine, directory: Path) -> None:
        self._engine, self._clock = engine, FakeClock()
        self._delivery = MailDelivery(engine, OutboxTransport(directory), SENDER, self._clock)
        self._directory = directory
        self._begin()

    def _begin(self) -> None:
        self._manager = transaction.TransactionManager(explicit=True)
        self._manager.begin()
        session = transactional_session(make_session_factory(self._engine), self._manager)
        self.mailer = SqlMailOutbox(session, self._clock)

    def commit(self) -> None:
        self._manager.commit()
        self._begin()

    def close(self) -> None:
        self._manager.abort()

    def delivered(self) -> list[MailMessage]:
        self._delivery.deliver_due()
        return [read_back(path) for path in sorted(self._directory.glob("*.eml"))]


def read_back(path: Path) -> MailMessage:
    """The message as its recipient reads it (the text's final line break and the HTML page
    around the body are the mail format's, not the message's)."""
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    plain, rich = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and rich is not None, "a text and an HTML part"
    text = plain.get_content().removesuffix("\n")
    page = rich.get_content().removesuffix("\n")
    html = page.removeprefix("<!doctype html><html><body>").removesuffix("</body></html>")
    return MailMessage(to=mail["To"], subject=mail["Subject"], text=text, html=html)


@pytest.fixture(params=["fake", *DATABASES])
def mail(request: pytest.FixtureRequest, contract_databases: ContractDatabases, tmp_path: Path) -> Iterator[Mail]:
    if request.param == "fake":
        yield InMemory()
        return
    engine = contract_databases.engine(request.param)
    outbox = Outbox(engine, tmp_path / "outbox")
    try:
        yield outbox
    finally:
        outbox.close()
        empty_all_tables(engine)


def test_what_is_sent_is_delivered_as_it_was_sent_in_the_order_sent(mail: Mail) -> None:
    mail.mailer.send(CODE)
    mail.mailer.send(WELCOME)
    mail.commit()
    assert mail.delivered() == [CODE, WELCOME]


def test_a_message_is_delivered_once(mail: Mail) -> None:
    mail.mailer.send(WELCOME)
    mail.commit()
    assert mail.delivered() == [WELCOME]
    mail.mailer.send(CODE)
    mail.commit()
    assert mail.delivered() == [WELCOME, CODE]
    assert mail.delivered() == [WELCOME, CODE]


def test_nothing_sent_is_nothing_delivered(mail: Mail) -> None:
    mail.commit()
    assert mail.delivered() == []
