"""An audit summary given as a domain Message comes back as one, message id, values, plural and a
Message among its values included, so the audit page can say it in its reader's language (the
fake, SQLite, PostgreSQL)."""

from __future__ import annotations

from domain.audit import AuditEvent, AuditQuery
from domain.errors import Message, N_, Nn_
from tests.contract.test_sso_repository_contract import NOW, world


def test_a_summary_message_comes_back_as_the_same_message(uow):
    acme, _, _ = world(uow)
    reason = N_("the token endpoint answered HTTP %(status)s", status=401)
    summary = N_("Single Sign On refused: %(reason)s “%(name)s”", reason=reason, name='Ann "A" \\ Lee ü')
    counted = Nn_(
        "audit events are kept for %(count)s day (were %(was)s)",
        "audit events are kept for %(count)s days (were %(was)s)",
        30,
        was=365,
    )
    uow.repos.audit.record(AuditEvent(acme.id, "k", NOW, summary, id="1" * 32))
    uow.repos.audit.record(AuditEvent(acme.id, "k", NOW, counted, id="2" * 32))
    uow.repos.audit.record(AuditEvent(acme.id, "k", NOW, "recorded as plain text", id="3" * 32))
    uow.commit()
    plain, found_counted, found = (e.summary for e in uow.repos.audit.page(acme.id, AuditQuery(), None, 10))
    assert isinstance(found, Message) and found == summary and found.msgid == summary.msgid
    assert isinstance(found.values["reason"], Message) and found.values["reason"].values == {"status": 401}
    assert found.values["name"] == 'Ann "A" \\ Lee ü'
    assert isinstance(found_counted, Message)
    assert (found_counted, found_counted.plural, found_counted.number) == (counted, counted.plural, 30)
    assert plain == "recorded as plain text" and not isinstance(plain, Message)
