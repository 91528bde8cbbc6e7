"""The durable mail outbox: queued in the request's transaction, delivered by the worker.

A request never talks to a mail server. The Mailer port writes a row in the unit of work's
own transaction, so a rolled-back request sends nothing and a committed one loses nothing,
and a request that mails answers in the same time as one that does not. The `worker`
command delivers the rows with MailDelivery, with retries.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from adapters.db import schema
from adapters.mail import Transport, build_email, message_id
from domain.ports import Clock, MailMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)  # 1, 2, 4 ... 32 minutes, then hourly: about 6 hours in all
# A claimed message is not due for this long, so no other worker takes it while it is being
# sent (an SMTP try gives up long before). A worker that dies mid-send leaves it due again
# after the lease: delivered late, never lost.
CLAIM_LEASE = timedelta(minutes=10)
SENT_RETENTION = timedelta(days=7)
ERROR_LENGTH = 2000
# A message's bodies carry live links and codes, which the portal otherwise keeps only as digests:
# once it is sent or given up, its row keeps only the envelope (recipient, subject, times, error).
DONE_WITH = {"body_text": "", "body_html": ""}


class SqlMailOutbox:
    """The Mailer port: each message is a row written in the unit of work's transaction."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    def send(self, message: MailMessage) -> None:
        now = self._clock.now()
        self._session.execute(
            schema.mail_outbox.insert().values(
                recipient=message.to,
                subject=message.subject,
                body_text=message.text,
                body_html=message.html,
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )


@dataclass(frozen=True)
class _Claimed:
    number: int
    message: MailMessage
    queued_at: datetime
    attempt: int


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0  # gave up: kept in the table, logged at ERROR


def retry_delay(attempt: int) -> timedelta:
    """How long to wait after the ``attempt``-th failed try: doubling, capped."""
    doublings = min(attempt - 1, 20)  # enough to pass the cap, never enough to overflow
    return min(FIRST_RETRY * (1 << doublings), LONGEST_WAIT)


class MailDelivery:
    """Sends due messages through the transport, one short transaction per step.

    No database lock is held while a message is on the wire: a claim moves the message's
    next_attempt_at past a lease and commits, then the result is written. On PostgreSQL the
    claim skips rows another worker is claiming (FOR UPDATE SKIP LOCKED); SQLite serialises
    writers, so two workers never claim one message either.
    """

    def __init__(
        self,
        engine: Engine,
        transport: Transport,
        sender: str,
        clock: Clock,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._engine = engine
        self._transport = transport
        self._sender = sender
        self._clock = clock
        self._max_attempts = max_attempts

    def deliver_due(self, stop: threading.Event | None = None) -> DeliveryReport:
        """Delivers every message that is due, until none is left or ``stop`` is set."""
        report = DeliveryReport()
        while stop is None or not stop.is_set():
            claimed = self._claim_next()
            if claimed is None:
                break
            self._deliver(claimed, report)
        return report

    def prune_sent(self) -> int:
        """Forgets messages sent longer ago than the retention; failed ones are kept."""
        c = schema.mail_outbox.c
        with self._engine.begin() as connection:
            cutoff = self._clock.now() - SENT_RETENTION
            return connection.execute(delete(schema.mail_outbox).where(c.sent_at < cutoff)).rowcount

    def _claim_next(self) -> _Claimed | None:
        c = schema.mail_outbox.c
        now = self._clock.now()
        with self._engine.begin() as connection:
            row = connection.execute(
                select(c.id, c.recipient, c.subject, c.body_text, c.body_html, c.created_at, c.attempts)
                .where(c.next_attempt_at <= now)
                .order_by(c.next_attempt_at, c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            connection.execute(
                update(schema.mail_outbox)
                .where(c.id == row.id)
                .values(attempts=row.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
            )
        message = MailMessage(to=row.recipient, subject=row.subject, text=row.body_text, html=row.body_html)
        return _Claimed(row.id, message, row.created_at, row.attempts + 1)

    def _deliver(self, claimed: _Claimed, report: DeliveryReport) -> None:
        queued_at, number = claimed.queued_at, claimed.number
        try:
            email = build_email(claimed.message, self._sender, queued_at, message_id(self._sender, queued_at, number))
        except ValueError as exc:  # a header no mail can carry (a line break, an encoded word): no retry helps
            self._record_failure(claimed, exc, report, final=True)
            return
        try:
            self._transport.deliver(email)
        except Exception as exc:  # any failure of one message is recorded; the others go on
            self._record_failure(claimed, exc, report, final=claimed.attempt >= self._max_attempts)
            return
        # A success is a fact whichever try it was: it is never fenced, and nothing undoes it.
        self._write(claimed, {"sent_at": self._clock.now(), "next_attempt_at": None, **DONE_WITH})
        report.sent += 1
        log.info("mail %d to %s sent (attempt %d)", number, claimed.message.to, claimed.attempt)

    def _record_failure(self, claimed: _Claimed, exc: Exception, report: DeliveryReport, final: bool) -> None:
        error = f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]
        to, number, attempt = claimed.message.to, claimed.number, claimed.attempt
        if final:
            self._write(claimed, {"last_error": error, "next_attempt_at": None, **DONE_WITH}, fenced=True)
            report.failed += 1
            log.error("mail %d to %s given up at attempt %d, kept in mail_outbox: %s", number, to, attempt, error)
            return
        retry_at = self._clock.now() + retry_delay(attempt)
        self._write(claimed, {"last_error": error, "next_attempt_at": retry_at}, fenced=True)
        report.retrying += 1
        log.warning(
            "mail %d to %s failed (attempt %d of %d), next try at %s: %s",
            number,
            to,
            attempt,
            self._max_attempts,
            retry_at.isoformat(timespec="seconds"),
            error,
        )

    def _write(self, claimed: _Claimed, values: dict[str, object], fenced: bool = False) -> None:
        """``fenced``: a failure is recorded only by the latest claim of a message not sent yet. A
        try that outlived its lease was overtaken by another claim: its late failure must neither
        make a sent message due again nor cut the newer try's lease short."""
        c = schema.mail_outbox.c
        where = [c.id == claimed.number]
        if fenced:
            where += [c.attempts == claimed.attempt, c.sent_at.is_(None)]
        with self._engine.begin() as connection:
            connection.execute(update(schema.mail_outbox).where(*where).values(values))
