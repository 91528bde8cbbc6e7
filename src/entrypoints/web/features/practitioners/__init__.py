"""Practitioners: the admin's directory, self-registration, and each practitioner's own account."""

from __future__ import annotations

from pyramid.config import Configurator

from domain.practitioners.account import AccountSettings
from domain.practitioners.directory import PractitionerDirectory
from domain.practitioners.email_change import EmailChange
from domain.practitioners.linked_identities import LinkedIdentities
from domain.practitioners.registration import SelfRegistration
from entrypoints.web.factories import add_service
from entrypoints.web.features import add_routes
from entrypoints.web.security import PractitionerPage, PractitionersAdmin, TenantPage


def includeme(config: Configurator) -> None:
    add_routes(config, PractitionersAdmin, admin_practitioners="/admin/practitioners")
    add_routes(config, PractitionersAdmin, admin_practitioner="/admin/practitioners/{id}")
    add_routes(config, TenantPage, email_confirm="/email/confirm/{token}")
    add_routes(config, PractitionerPage, account="/account", account_linked="/account/linked")
    add_routes(config, PractitionerPage, account_language="/account/language")
    add_routes(config, TenantPage, register="/register")
    config.scan(".admin")
    config.scan(".account")
    config.scan(".registration")
    config.scan(".detail")
    config.scan(".email_confirm")
    add_service(config, PractitionerDirectory)
    add_service(config, AccountSettings)
    add_service(config, SelfRegistration)
    add_service(config, LinkedIdentities)
    add_service(config, EmailChange)
