"""Mailer port: messages queue in the unit of work and leave only when it commits."""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

import transaction

from domain.ports import MailMessage

log = logging.getLogger(__name__)


class Transport(Protocol):
    def deliver(self, message: EmailMessage) -> None: ...


def build_email(message: MailMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(datetime.now(timezone.utc))
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    email.set_content(message.text)
    email.add_alternative(f"<!doctype html><html><body>{message.html}</body></html>", subtype="html")
    return email


class OutboxTransport:
    """Development and tests: one .eml file per message, in order of sending."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def deliver(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(message))
        log.info("mail to %s written to %s", message["To"], path)


class SmtpTransport:
    def __init__(
        self,
        host: str,
        port: int,
        username: str = "",
        password: str = "",
        starttls: bool = True,
        timeout: float = 10.0,
    ) -> None:
        self._host, self._port = host, port
        self._username, self._password = username, password
        self._starttls, self._timeout = starttls, timeout

    def deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
            if self._starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._username:
                smtp.login(self._username, self._password)
            smtp.send_message(message)


class TransactionalMailer:
    """Implements the domain's Mailer: nothing is sent for a unit of work that rolls back."""

    def __init__(self, transport: Transport, sender: str, manager: transaction.TransactionManager) -> None:
        self._transport = transport
        self._sender = sender
        self._manager = manager

    def send(self, message: MailMessage) -> None:
        email = build_email(message, self._sender)
        self._manager.get().addAfterCommitHook(self._deliver_if_committed, args=(email,))

    def _deliver_if_committed(self, committed: bool, email: EmailMessage) -> None:
        if not committed:
            return
        try:
            self._transport.deliver(email)
        except Exception:  # the data is committed; a lost mail must not turn into a 500
            log.exception("could not deliver mail to %s", email["To"])
