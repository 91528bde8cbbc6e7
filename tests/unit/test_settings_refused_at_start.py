"""What production refuses stops the start with one line, gunicorn included, and gunicorn serves
only the proxy on its own host."""

from __future__ import annotations

import os
import runpy
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints.settings import KNOWN, PortalSettings, SettingsError, env_name
from tests.unit.test_settings import BASE, load

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "S3cr3t-db-pw"


@pytest.mark.parametrize(
    "url",
    [
        f"postgres://portal:{PASSWORD}@db/portal",  # what hosting platforms hand out
        f"portal:{PASSWORD}@db/portal",
        f"postgresql+psycopg://portal:{PASSWORD}@db:fivefourthreetwo/portal",
        f"mysql://portal:{PASSWORD}@db/portal",  # no driver installed
    ],
    ids=["platform-scheme", "no-scheme", "port-in-words", "no-driver"],  # not counted as the PostgreSQL leg
)
def test_a_database_url_no_installed_driver_can_open_stops_the_start_with_one_line_and_no_password(url):
    for settings, environ in (({**BASE, "sqlalchemy.url": url}, {}), (BASE, {"DATABASE_URL": url})):
        with pytest.raises(SettingsError, match="sqlalchemy.url") as refused:
            PortalSettings.load(settings, environ)
        assert PASSWORD not in str(refused.value.code)


@pytest.mark.parametrize(
    "domain",
    ["https://portal.example", "portal.example:443", "portal.example/x", "portal example", ".", "*.portal.example"],
)
def test_a_base_domain_that_is_not_a_host_name_stops_the_start(domain):
    with pytest.raises(SettingsError, match="app.base_domain must be a host name"):
        load(**{"app.base_domain": domain})


@pytest.mark.parametrize("port", ["0", "-1", "65536", "٥٨٧", "1_0"])
def test_a_mail_port_that_is_not_a_port_number_stops_the_start(port):
    with pytest.raises(SettingsError, match="mail.port must be a number from 1 to 65535"):
        load(**{"mail.port": port})


def test_gunicorn_listens_only_where_the_proxy_on_its_host_reaches_it():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert [address.rsplit(":", 1)[0] for address in config["bind"]] == ["127.0.0.1"]


@pytest.mark.parametrize(
    "refused, message",
    [
        ({"SESSION_SECRET": "short"}, "session.secret needs at least 32 random characters"),
        ({"SSO_DEMO_PROVIDER": "true"}, "sso.demo_provider is for development only"),
    ],
)
def test_gunicorn_stops_at_once_with_one_line_on_a_setting_production_refuses(tmp_path, refused, message):
    """A worker that exits on its configuration would be started again, once a second, for ever."""
    environ = {k: v for k, v in os.environ.items() if k not in {env_name(s) for s in KNOWN}}
    for name in ("DATABASE_URL", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"):
        environ.pop(name, None)
    environ |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite'}",
        "APP_BASE_DOMAIN": "portal.example",
        "SESSION_SECRET": "s" * 40,
        "SECRETS_KEY": BASE["secrets.key"],
        "MAIL_HOST": "smtp.example",
        **refused,
    }
    command = [sys.executable, "-m", "gunicorn", "--paste", "production.ini", "--bind", "127.0.0.1:0", "--workers", "1"]
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, errors = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.communicate()
        pytest.fail("gunicorn kept running on a setting production refuses")
    assert server.returncode == 1
    assert errors.count("configuration error") == 1 and message in errors
    assert "Booting worker" not in errors
