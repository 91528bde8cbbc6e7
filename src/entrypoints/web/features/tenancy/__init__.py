"""Tenancy: the home page of the platform and of each practice, opening practices, the login policy,
the practice's language and time zone."""

from __future__ import annotations

from pyramid.config import Configurator

from domain.tenancy.login_policy import LoginPolicyAdministration
from domain.tenancy.onboarding import TenantOnboarding
from domain.tenancy.practice_settings import PracticeSettings
from entrypoints.web.factories import add_service
from entrypoints.web.features import add_routes
from entrypoints.web.security import AuthenticationAdmin, PublicPage


def includeme(config: Configurator) -> None:
    add_routes(config, PublicPage, home="/")
    add_routes(config, AuthenticationAdmin, admin_policy="/admin/authentication/policy")
    add_routes(config, AuthenticationAdmin, admin_practice="/admin/practice")
    config.scan(".home")
    config.scan(".admin_policy")
    config.scan(".admin_practice")
    add_service(config, TenantOnboarding)
    add_service(config, LoginPolicyAdministration)
    add_service(config, PracticeSettings)
