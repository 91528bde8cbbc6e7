"""``practice-portal CONFIG worker``: delivers queued mail and cleans up, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from adapters.db.schema import mail_outbox, web_sessions
from tests.e2e.conftest import Portal
from tests.e2e.test_cli import Cli, Run, runner, write_config
from tests.e2e.test_password_links import ANN, ask_for_link

LOGGING = """
[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = plain

[logger_root]
level = INFO
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = plain

[formatter_plain]
format = %(levelname)s [%(name)s] %(message)s
"""


@pytest.fixture
def config(tmp_path: Path, database_url: str, clean_database: Engine) -> str:
    """An operator's .ini on the test database, with its own mail directory."""
    return write_config(tmp_path, database_url)


@pytest.fixture
def acme(portal: Portal) -> Portal:
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ANN)
    return portal


def sent_at(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.scalars(select(mail_outbox.c.sent_at)))


def test_worker_once_delivers_queued_mail_to_the_configured_outbox_and_exits_0(acme, config, tmp_path, engine, capsys):
    run: Cli = runner(config, capsys)
    ask_for_link(acme, ANN)
    assert run("worker", "--once").code == 0
    (written,) = (tmp_path / "outbox").glob("*.eml")
    assert f"To: {ANN}" in written.read_text()
    assert [at is not None for at in sent_at(engine)] == [True]
    assert run("worker", "--once") == Run(0, "", "")
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert acme.mails() == []  # nothing left for anyone else to send


@pytest.mark.parametrize("interval", ["0", "-1", "nan", "soon"])
def test_worker_refuses_an_interval_that_is_not_a_positive_number_of_seconds(config, capsys, interval):
    with pytest.raises(SystemExit) as refused:
        runner(config, capsys)("worker", "--interval", interval)
    assert refused.value.code == 2


def wait_for(condition, seconds: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_running_worker_delivers_mail_as_it_is_queued_and_a_signal_ends_it_cleanly(acme, config, tmp_path, stop):
    with open(config, "a") as ini:  # its own process: logging set up as an operator's .ini does
        ini.write(LOGGING)
    worker = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", config, "worker", "--interval", "0.1"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ask_for_link(acme, ANN)
        delivered = wait_for(lambda: any((tmp_path / "outbox").glob("*.eml")))
        worker.send_signal(stop)
        _, log = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert delivered, log
    assert worker.returncode == 0, log
    assert f"{stop.name} received" in log and "worker stopped" in log
    assert "Traceback" not in log


def test_purge_deletes_expired_sessions_and_counts_every_kind_for_cron(acme, config, engine, capsys):
    browser = acme.browser("acme")
    acme.log_in(browser, ANN)
    past = datetime.now(timezone.utc) - timedelta(days=2)
    with engine.begin() as connection:
        connection.execute(web_sessions.update().values(expires_at=past))
    run: Cli = runner(config, capsys)
    done = run("purge")
    assert done.code == 0
    assert "1 expired sessions" in done.out.splitlines()
    assert {line.split(" ", 1)[1] for line in done.out.splitlines()} == {
        "expired sessions",
        "expired logout token ids",
        "expired one-time passwords",
        "expired password links",
        "stale throttle counters",
        "sent mails past retention",
        "audit events past retention",
    }
    with engine.connect() as connection:
        assert connection.scalar(select(web_sessions.c.id_digest)) is None
    assert run("purge").out.splitlines()[0] == "0 expired sessions"
