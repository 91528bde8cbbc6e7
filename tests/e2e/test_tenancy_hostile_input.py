"""Hostile input at the edges of tenancy and mail: instance names the operator types, what a
server in front of the app passes on, and values that end up in a mail's headers."""

from __future__ import annotations

import email
from pathlib import Path

import pytest
from sqlalchemy import Engine

from adapters.db.mail_outbox import CLAIM_LEASE, MailDelivery
from adapters.db.schema import tenants
from adapters.mail import OutboxTransport
from domain.tenancy.onboarding import TenantOnboarding
from tests.contract.test_mail_outbox import SENDER, delivered, message, queue, rows
from tests.e2e.conftest import BASE_DOMAIN, PASSWORD, Portal
from tests.e2e.test_cli import CREATE_ACME, count, runner, write_config
from tests.e2e.test_password_links import ANN, ask_for_link, the_form
from tests.fakes import FakeClock


def raw_headers(outbox: Path) -> list[str]:
    """The header block of every mail written to the outbox, as it went on the wire."""
    return [path.read_bytes().split(b"\n\n", 1)[0].decode() for path in sorted(outbox.glob("*.eml"))]


# --- instance names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug",
    [
        "idp",  # the demo identity provider's host, idp.<base_domain>
        "xn--80ak6aa92e",  # an IDNA A-label: a browser shows it as another name
        "ab--cd",  # hyphens in the third and fourth place are reserved for such labels
        "\u212acme",  # KELVIN SIGN: lower-cased it would be the ASCII "kcme"
    ],
)
def test_an_instance_name_that_a_portal_host_or_idna_claims_is_refused(
    tmp_path, database_url, clean_database, capsys, slug
):
    run = runner(write_config(tmp_path, database_url), capsys)
    refused = run("tenant", "create", "--name", "Acme Practice", "--owner-email", "boss@acme.test", "--", slug)
    assert refused.code == 1 and refused.err.startswith("error: ")
    assert count(clean_database, tenants) == 0


def test_an_ordinary_instance_name_with_one_hyphen_is_still_accepted(tmp_path, database_url, clean_database, capsys):
    run = runner(write_config(tmp_path, database_url), capsys)
    assert run("tenant", "create", "praxis-berg", *CREATE_ACME[3:]).code == 0


# --- links leave the app as the settings say, whatever reaches it --------------------------


def test_a_mailed_link_ignores_a_script_name_passed_on_by_the_server(portal: Portal):
    """gunicorn takes SCRIPT_NAME from a request header when the proxy passes one on."""
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ANN)
    browser = portal.browser("acme")
    browser.extra_environ["SCRIPT_NAME"] = "/forwarded-prefix"
    form = the_form(browser.get("/password/forgot"), "email")
    form["email"] = ANN
    form.submit()
    (mail,) = portal.mails()
    assert mail.link().startswith(f"http://acme.{BASE_DOMAIN}/password/reset/")


# --- mail headers ---------------------------------------------------------------------------


def test_a_practice_name_never_adds_a_header_to_a_mail_through_an_encoded_word(portal: Portal, engine: Engine):
    """The email package decodes RFC 2047 encoded words in a header value it is given as text."""
    with portal.unit_of_work() as request:
        request.find_service(TenantOnboarding).open_tenant(
            "acme", "Acme =?utf-8?q?=0D=0ABcc=3A_eve=40evil.test?=", "owner@acme.test", PASSWORD
        )
    ask_for_link(portal, "owner@acme.test")
    portal.mails()
    assert not any("evil.test" in headers for headers in raw_headers(portal.outbox))
    (row,) = rows(engine)
    assert row.sent_at is None and row.next_attempt_at is None and "ValueError" in row.last_error


def test_an_email_address_made_of_encoded_words_never_names_another_recipient(portal: Portal, engine: Engine):
    address = "=?utf-8?q?a=3e=2c_eve=40evil.test=2c_=3cb?=@acme.test"  # a valid dot-atom local part
    portal.open_tenant("acme")
    portal.add_practitioner("acme", address)
    ask_for_link(portal, address)
    portal.mails()
    assert not any("evil.test" in headers for headers in raw_headers(portal.outbox))
    (row,) = rows(engine)
    assert row.sent_at is None and "ValueError" in row.last_error


# --- the outbox -----------------------------------------------------------------------------


def test_a_sent_mail_keeps_no_copy_of_its_link_in_the_database(portal: Portal, engine: Engine):
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ANN)
    ask_for_link(portal, ANN)
    (mail,) = portal.mails()
    (row,) = rows(engine)
    assert row.sent_at is not None and row.recipient == ANN
    token = mail.link().rsplit("/", 1)[1]
    assert token not in row.body_text and token not in row.body_html


def test_a_try_that_outlived_its_claim_never_makes_a_delivered_message_due_again(clean_database, tmp_path):
    clock, outbox = FakeClock(), tmp_path / "outbox"
    queue(clean_database, clock, message(1))

    class Overtaken:
        """The first try hangs past its lease; another worker takes the message meanwhile and
        sends it; then the first try fails."""

        def deliver(self, _: email.message.EmailMessage) -> None:
            clock.advance(seconds=CLAIM_LEASE.total_seconds())
            assert MailDelivery(clean_database, OutboxTransport(outbox), SENDER, clock).deliver_due().sent == 1
            raise ConnectionError("the first try gave up late")

    MailDelivery(clean_database, Overtaken(), SENDER, clock).deliver_due()
    clock.advance(hours=2)
    assert MailDelivery(clean_database, OutboxTransport(outbox), SENDER, clock).deliver_due().sent == 0
    assert [mail["Subject"] for mail in delivered(outbox)] == ["Message 1"]
    (row,) = rows(clean_database)
    assert row.sent_at is not None and row.next_attempt_at is None


def test_a_late_success_of_an_overtaken_try_is_not_undone_by_the_newer_try_failing(clean_database, tmp_path):
    clock, outbox = FakeClock(), tmp_path / "outbox"
    queue(clean_database, clock, message(1))

    class Failing:
        def deliver(self, _: email.message.EmailMessage) -> None:
            raise ConnectionError("refused")

    class OvertakenThenSent:
        """The first try hangs past its lease, the second try fails meanwhile, then the first
        try's message gets through after all."""

        def __init__(self) -> None:
            self.inner = OutboxTransport(outbox)

        def deliver(self, mail: email.message.EmailMessage) -> None:
            clock.advance(seconds=CLAIM_LEASE.total_seconds())
            assert MailDelivery(clean_database, Failing(), SENDER, clock).deliver_due().retrying == 1
            self.inner.deliver(mail)

    assert MailDelivery(clean_database, OvertakenThenSent(), SENDER, clock).deliver_due().sent == 1
    clock.advance(hours=2)
    assert MailDelivery(clean_database, OutboxTransport(outbox), SENDER, clock).deliver_due().sent == 0
    assert len(delivered(outbox)) == 1
    (row,) = rows(clean_database)
    assert row.sent_at is not None and row.next_attempt_at is None
