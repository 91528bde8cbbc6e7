"""sso.key_cache_size: how many identity providers' signing keys a process keeps (default 1000)."""

from __future__ import annotations

import pytest

from entrypoints.settings import PortalSettings, SettingsError
from tests.unit.test_settings import BASE


def test_the_key_cache_keeps_a_thousand_providers_unless_told_otherwise():
    assert PortalSettings.load(BASE, environ={}).sso_key_cache_size == 1000


def test_the_key_cache_size_comes_from_the_ini_or_the_environment():
    assert PortalSettings.load({**BASE, "sso.key_cache_size": "50"}, environ={}).sso_key_cache_size == 50
    assert PortalSettings.load(BASE, environ={"SSO_KEY_CACHE_SIZE": "20000"}).sso_key_cache_size == 20000


@pytest.mark.parametrize("size, message", [("0", "at least 1"), ("-5", "at least 1"), ("many", "a whole number")])
def test_a_key_cache_size_that_is_no_positive_number_stops_the_start(size, message):
    with pytest.raises(SettingsError, match=f"sso.key_cache_size must be {message}"):
        PortalSettings.load({**BASE, "sso.key_cache_size": size}, environ={})
