"""Passwords: logging in and out with one, and resetting a forgotten one by mailed link."""

from __future__ import annotations

from pyramid.config import Configurator

from domain.passwords.login import PasswordLogin
from domain.passwords.reset import PasswordReset
from entrypoints.web.factories import add_service
from entrypoints.web.features import add_routes
from entrypoints.web.security import PractitionerPage, TenantPage


def includeme(config: Configurator) -> None:
    add_routes(
        config, TenantPage, login="/login", password_forgot="/password/forgot", password_reset="/password/reset/{token}"
    )
    add_routes(config, PractitionerPage, logout="/logout")
    config.scan(".login")
    config.scan(".reset")
    add_service(config, PasswordLogin)
    add_service(config, PasswordReset)
