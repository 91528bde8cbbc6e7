"""Passwords: logging in and out with one, resetting a forgotten one by mailed link, and the
owner's recovery link past the login policy."""

from __future__ import annotations

from pyramid.config import Configurator

from domain.passwords.login import PasswordLogin
from domain.passwords.recovery import OwnerRecovery
from domain.passwords.reset import PasswordReset
from entrypoints.web.factories import add_service
from entrypoints.web.features import add_routes
from entrypoints.web.features.passwords.recover import recovery_notice
from entrypoints.web.security import PractitionerPage, TenantPage


def includeme(config: Configurator) -> None:
    add_routes(
        config, TenantPage, login="/login", password_forgot="/password/forgot", password_reset="/password/reset/{token}"
    )
    add_routes(config, TenantPage, recover="/recover/{token}")
    add_routes(config, PractitionerPage, logout="/logout")
    config.scan(".login")
    config.scan(".reset")
    config.scan(".recover")
    add_service(config, PasswordLogin)
    add_service(config, PasswordReset)
    add_service(config, OwnerRecovery)
    config.add_request_method(recovery_notice, "recovery_notice", reify=True)
