"""Turning a queued message into an email, and the transports that carry it away."""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Protocol

from domain.ports import MailMessage

log = logging.getLogger(__name__)


class Transport(Protocol):
    def deliver(self, message: EmailMessage) -> None: ...


def build_email(message: MailMessage, sender: str, queued_at: datetime, message_id: str) -> EmailMessage:
    """The email for a queued message; the same every time it is tried, Message-ID included."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(queued_at.astimezone(timezone.utc))
    email["Message-ID"] = message_id
    # The email package decodes RFC 2047 encoded words in a value it is given as text, and writes
    # what they decode to as it is: `=?utf-8?q?=0D=0ABcc=3A_eve=40evil.test?=` in a practice or
    # button name would add a Bcc header, and such an address (a valid dot-atom) would name other
    # recipients. A value that does not read back as written is refused, like a line break.
    for name, written in (("To", message.to), ("Subject", message.subject)):
        if str(email[name]) != written:
            raise ValueError(f"the {name} header would not read back as written (an encoded word in it?)")
    email.set_content(message.text)
    email.add_alternative(f"<!doctype html><html><body>{message.html}</body></html>", subtype="html")
    return email


def message_id(sender: str, queued_at: datetime, number: int) -> str:
    """Stable across retries, so a receiver can drop a copy when a try's outcome was unclear."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<{queued_at.astimezone(timezone.utc):%Y%m%d%H%M%S%f}.{number}@{domain}>"


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
