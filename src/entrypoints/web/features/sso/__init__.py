"""Single Sign On: the login through a practice's identity provider, linking, the provider admin.

The audit page is here too: its events are the practice's authentication events, and it is
guarded by the same Authentication right as the provider admin.
"""

from __future__ import annotations

from pyramid.config import Configurator

from domain.audit import AuditReport
from domain.sso.administration import ProviderAdministration
from domain.sso.admission import (
    AccountLinking,
    Admission,
    ConfirmationStep,
    EmailLinking,
    JitRegistration,
    LinkedLogin,
    SsoLogin,
)
from domain.sso.confirmation import LinkConfirmation
from domain.sso.diagnosis import SignInTest
from domain.sso.logout import BackChannelLogout, ProviderLogout
from domain.sso.matching import UserMatcher
from domain.sso.mirror import ProfileMirror
from domain.sso.roles import RoleSync
from domain.sso.sign_in import SingleSignOn
from entrypoints.settings import PortalSettings
from entrypoints.web.factories import add_service
from entrypoints.web.readable import BACKCHANNEL_LOGOUT_PATH
from entrypoints.web.features import add_routes
from entrypoints.web.security import AuthenticationAdmin, TenantPage


def includeme(config: Configurator) -> None:
    settings: PortalSettings = config.registry.portal_settings
    add_routes(config, TenantPage, sso_start="/sso/{provider}/start", process_sso="/process_sso", sso_link="/sso/link")
    add_routes(
        config,
        TenantPage,
        sso_logged_out="/sso/logged-out",
        sso_backchannel_logout=BACKCHANNEL_LOGOUT_PATH,
        sso_initiate="/sso/initiate",
    )
    add_routes(
        config,
        AuthenticationAdmin,
        admin_authentication="/admin/authentication",
        admin_audit="/admin/audit",
        admin_audit_csv="/admin/audit.csv",
    )
    config.scan(".login")
    config.scan(".from_provider")
    config.scan(".admin")
    config.scan(".test_sign_in")
    add_service(config, SingleSignOn)
    add_service(config, LinkConfirmation)
    add_service(config, AuditReport)
    add_service(config, SignInTest)
    add_service(config, ProviderLogout)
    add_service(config, BackChannelLogout)
    # The pieces of a callback: admission hands what the matcher found to the piece for its case,
    # and every login ends in SsoLogin (with the profile mirror in pseudo-SSO).
    pieces = (UserMatcher, Admission, LinkedLogin, EmailLinking, JitRegistration, ConfirmationStep, AccountLinking)
    for piece in (*pieces, SsoLogin, ProfileMirror, RoleSync):
        add_service(config, piece)
    # Plain-HTTP provider endpoints on loopback are for a developer's own test provider only.
    add_service(config, ProviderAdministration, allow_local_http=settings.development)
