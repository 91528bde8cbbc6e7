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
