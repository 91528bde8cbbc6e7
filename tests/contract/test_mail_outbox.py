"""The durable mail outbox on each database: queued with the unit of work, delivered by MailDelivery."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import transaction
from sqlalchemy import Engine, select, update

from adapters.db.engine import make_session_factory, transactional_session
from adapters.db.mail_outbox import CLAIM_LEASE, SENT_RETENTION, MailDelivery, SqlMailOutbox
from adapters.db.schema import mail_outbox
from adapters.mail import OutboxTransport, SmtpTransport
from domain.ports import MailMessage
from tests.fakes import FakeClock

SENDER = "Practice Portal <no-reply@portal.test>"


def message(n: int = 1) -> MailMessage:
    return MailMessage(to=f"ann{n}@acme.test", subject=f"Message {n}", text=f"Hello {n}", html=f"<p>Hello {n}</p>")


def queue(engine: Engine, clock: FakeClock, *messages: MailMessage, commit: bool = True) -> None:
    """Queues through the Mailer port in a unit of work, as a request or the CLI does."""
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    mailer = SqlMailOutbox(transactional_session(make_session_factory(engine), manager), clock)
    for each in messages:
        mailer.send(each)
    if commit:
        manager.commit()
    else:
        manager.abort()


def rows(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(mail_outbox).order_by(mail_outbox.c.id)))


def delivered(directory: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(directory.glob("*.eml"))
    ]


def refusing_smtp() -> SmtpTransport:
    """A real SMTP transport aimed at a loopback port that nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return SmtpTransport("127.0.0.1", port, starttls=False, timeout=2)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def delivery(clean_database: Engine, clock: FakeClock, outbox: Path) -> MailDelivery:
    return MailDelivery(clean_database, OutboxTransport(outbox), SENDER, clock)


def test_a_committed_message_is_delivered_once_with_its_content(clean_database, clock, delivery, outbox):
    queue(clean_database, clock, message(1))
    assert delivery.deliver_due().sent == 1
    assert delivery.deliver_due().sent == 0
    (sent,) = delivered(outbox)
    assert (sent["To"], sent["From"], sent["Subject"]) == ("ann1@acme.test", SENDER, "Message 1")
    assert sent.get_body(("plain",)).get_content().strip() == "Hello 1"
    assert "<p>Hello 1</p>" in sent.get_body(("html",)).get_content()
    (row,) = rows(clean_database)
    assert (row.attempts, row.sent_at, row.next_attempt_at, row.last_error) == (1, clock.now(), None, None)


def test_messages_leave_in_the_order_they_were_queued(clean_database, clock, delivery, outbox):
    queue(clean_database, clock, *(message(n) for n in range(1, 6)))
    assert delivery.deliver_due().sent == 5
    assert [mail["Subject"] for mail in delivered(outbox)] == [f"Message {n}" for n in range(1, 6)]


def test_a_rolled_back_unit_of_work_queues_nothing(clean_database, clock, delivery, outbox):
    queue(clean_database, clock, message(1), commit=False)
    assert rows(clean_database) == []
    assert delivery.deliver_due().sent == 0 and not outbox.exists()


def test_a_failed_delivery_is_retried_with_doubling_waits_and_the_error_recorded(clean_database, clock, outbox, caplog):
    queue(clean_database, clock, message(1))
    failing = MailDelivery(clean_database, refusing_smtp(), SENDER, clock)
    for attempt, wait in [(1, 1), (2, 2), (3, 4)]:
        with caplog.at_level(logging.WARNING, logger="adapters.db.mail_outbox"):
            assert failing.deliver_due().retrying == 1
        (row,) = rows(clean_database)
        assert row.attempts == attempt and row.sent_at is None
        assert row.next_attempt_at == clock.now() + timedelta(minutes=wait)
        assert "ConnectionRefusedError" in row.last_error
        assert f"attempt {attempt} of" in caplog.text and "ann1@acme.test" in caplog.text
        clock.advance(minutes=wait, seconds=-1)
        assert failing.deliver_due().retrying == 0  # not due yet
        clock.advance(seconds=1)
    # The mail server is back: the same message goes, once.
    assert MailDelivery(clean_database, OutboxTransport(outbox), SENDER, clock).deliver_due().sent == 1
    assert [mail["Subject"] for mail in delivered(outbox)] == ["Message 1"]
    (row,) = rows(clean_database)
    assert row.attempts == 4 and row.sent_at == clock.now()


def test_every_try_of_a_message_carries_the_same_message_id(clean_database, clock, outbox):
    queue(clean_database, clock, message(1), message(2))
    sending = MailDelivery(clean_database, OutboxTransport(outbox), SENDER, clock)
    sending.deliver_due()
    with clean_database.begin() as connection:  # as if the first tries' results were lost
        connection.execute(update(mail_outbox).values(sent_at=None, next_attempt_at=clock.now()))
    sending.deliver_due()
    ids = [mail["Message-ID"] for mail in delivered(outbox)]
    assert len(ids) == 4 and len(set(ids)) == 2 and all(i.endswith("@portal.test>") for i in ids)


def test_after_the_last_attempt_a_message_is_kept_as_failed_and_logged_at_error(clean_database, clock, caplog):
    queue(clean_database, clock, message(1))
    failing = MailDelivery(clean_database, refusing_smtp(), SENDER, clock, max_attempts=3)
    with caplog.at_level(logging.WARNING, logger="adapters.db.mail_outbox"):
        reports = []
        for _ in range(3):
            reports.append(failing.deliver_due())
            clock.advance(hours=1)
    assert [(r.retrying, r.failed) for r in reports] == [(1, 0), (1, 0), (0, 1)]
    (given_up,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "ann1@acme.test" in given_up.getMessage() and "given up at attempt 3" in given_up.getMessage()
    clock.advance(days=30)
    assert failing.deliver_due().failed == 0
    assert failing.prune_sent() == 0
    (row,) = rows(clean_database)
    assert (row.attempts, row.sent_at, row.next_attempt_at) == (3, None, None)
    assert "ConnectionRefusedError" in row.last_error


def test_a_message_no_mail_can_carry_is_given_up_at_once_and_kept(clean_database, clock, delivery, outbox, caplog):
    broken = MailMessage(to="ann@acme.test", subject="Your code\nBcc: eve@evil.test", text="t", html="h")
    queue(clean_database, clock, broken, message(2))
    with caplog.at_level(logging.ERROR, logger="adapters.db.mail_outbox"):
        report = delivery.deliver_due()
    assert (report.sent, report.retrying, report.failed) == (1, 0, 1)
    assert [mail["Subject"] for mail in delivered(outbox)] == ["Message 2"]
    assert "ann@acme.test given up at attempt 1" in caplog.text
    kept = rows(clean_database)[0]
    assert (kept.sent_at, kept.next_attempt_at) == (None, None) and "ValueError" in kept.last_error


class WorkerDied(BaseException):
    """The process ends in the middle of a send (killed, out of memory): nothing is recorded."""


class DyingTransport:
    def deliver(self, message: email.message.EmailMessage) -> None:
        raise WorkerDied()


def test_a_message_whose_worker_died_mid_send_is_delivered_after_the_claim_lease(
    clean_database, clock, delivery, outbox
):
    queue(clean_database, clock, message(1))
    with pytest.raises(WorkerDied):
        MailDelivery(clean_database, DyingTransport(), SENDER, clock).deliver_due()
    assert delivery.deliver_due().sent == 0  # claimed: another worker leaves it alone
    clock.advance(seconds=CLAIM_LEASE.total_seconds())
    assert delivery.deliver_due().sent == 1
    assert len(delivered(outbox)) == 1


def test_sent_messages_are_pruned_after_the_retention_and_unsent_ones_kept(clean_database, clock, delivery):
    queue(clean_database, clock, message(1))
    delivery.deliver_due()
    queue(clean_database, clock, message(2))
    clock.advance(seconds=SENT_RETENTION.total_seconds())
    assert delivery.prune_sent() == 0
    clock.advance(seconds=1)
    assert delivery.prune_sent() == 1
    assert [row.subject for row in rows(clean_database)] == ["Message 2"]


def test_concurrent_deliverers_never_send_one_message_twice(clean_database, clock, outbox):
    count, workers = 60, 4
    queue(clean_database, clock, *(message(n) for n in range(count)))
    start = threading.Barrier(workers)
    reports = []

    def work() -> None:
        deliverer = MailDelivery(clean_database, OutboxTransport(outbox), SENDER, clock)
        start.wait()
        reports.append(deliverer.deliver_due())

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(report.sent for report in reports) == count
    subjects = [mail["Subject"] for mail in delivered(outbox)]
    assert sorted(subjects) == sorted(f"Message {n}" for n in range(count))
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows(clean_database))
