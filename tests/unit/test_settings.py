"""Settings: links that leave the app are built from them, and bad values stop the start."""

from __future__ import annotations

import pytest

from entrypoints.settings import PortalSettings, SettingsError

BASE = {
    "sqlalchemy.url": "sqlite://",
    "app.base_domain": "Portal.Example.",
    "app.scheme": "https",
    "session.secret": "s" * 40,
    "secrets.key": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}


def load(**overrides: str) -> PortalSettings:
    return PortalSettings.load({**BASE, **overrides}, environ={})


def test_tenant_urls_have_no_port_in_production():
    assert load().tenant_url("acme", "/process_sso") == "https://acme.portal.example/process_sso"


def test_tenant_urls_carry_the_configured_public_port():
    settings = load(**{"app.public_port": "6543"})
    assert settings.tenant_url("acme", "/scim/v2") == "https://acme.portal.example:6543/scim/v2"


def test_the_public_port_can_come_from_the_environment():
    settings = PortalSettings.load(BASE, environ={"APP_PUBLIC_PORT": "8443"})
    assert settings.tenant_url("acme") == "https://acme.portal.example:8443"


@pytest.mark.parametrize("port", ["abc", "0", "65536", "80x", "٦٥٤٣", "-1", "6543/evil"])
def test_a_public_port_that_is_not_a_port_number_stops_the_start(port):
    with pytest.raises(SettingsError, match="app.public_port"):
        load(**{"app.public_port": port})


def test_development_ini_links_to_the_port_it_serves_on():
    import configparser
    from pathlib import Path

    ini = configparser.ConfigParser(interpolation=None)
    ini.read(Path(__file__).parents[2] / "development.ini")
    assert ini["app:main"]["app.public_port"] == "6543"
    assert ini["server:main"]["listen"].endswith(":6543")


@pytest.mark.parametrize("ini", ["development.ini", "production.ini"])
def test_no_ini_logs_the_token_responses_pyoidc_writes_at_info(ini):
    """pyoidc logs whole token responses, ID tokens included, at INFO (the demo provider's answers)."""
    import subprocess
    import sys
    from pathlib import Path

    check = (
        "import logging, logging.config, sys; logging.config.fileConfig(sys.argv[1]); "
        "print(logging.getLogger('oic.oic.provider').isEnabledFor(logging.INFO))"
    )
    path = Path(__file__).parents[2] / ini
    done = subprocess.run([sys.executable, "-c", check, str(path)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"app.scheme": "ftp"}, "app.scheme must be http or https"),
        ({"app.scheme": "http"}, "app.scheme must be https outside development"),
        ({"session.secret": "short"}, "session.secret needs at least 32 random characters"),
        ({"secrets.key": "not-a-fernet-key"}, "secrets.key must be a Fernet key in production"),
        ({"passwords.hash_profile": "cheapest"}, "cheapest is for tests, never production"),
        ({"passwords.hash_profile": "fast"}, "passwords.hash_profile must be default or cheapest"),
        ({"mail.backend": "pigeon"}, "mail.backend must be outbox or smtp"),
        ({"mail.backend": "smtp"}, "mail.host is not set"),
        ({"mail.port": "submission"}, "mail.port must be a number"),
        ({"sso.http_timeout": "soon"}, "sso.http_timeout must be a number of seconds"),
        ({"sso.http_timeout": "120"}, "between 0 and 60 seconds"),
        ({"app.base_domain": ""}, "app.base_domain is not set"),
    ],
)
def test_a_setting_that_cannot_run_in_production_stops_the_start_with_one_line(overrides, message):
    with pytest.raises(SettingsError, match=message):
        load(**overrides)


def test_development_accepts_its_own_shortcuts():
    settings = load(
        **{
            "app.development": "true",
            "app.scheme": "http",
            "session.secret": "development-only",
            "secrets.key": "dev",
            "passwords.hash_profile": "cheapest",
        }
    )
    assert settings.development and settings.tenant_url("acme") == "http://acme.portal.example"
