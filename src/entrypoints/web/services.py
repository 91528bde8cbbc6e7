"""Wiring, done once at configuration: ports to adapters, and domain services per request."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.db.engine import make_session_factory, transactional_session
from adapters.db.mail_outbox import MailDelivery, SqlMailOutbox
from adapters.db.repositories import (
    SqlScimTokenRepository,
    SqlPasswordResetTokenRepository,
    SqlPractitionerRepository,
    SqlTenantRepository,
    SqlThrottle,
)
from adapters.db.sso_repositories import (
    SqlAuditLog,
    SqlIdentityLinkRepository,
    SqlIdentityProviderRepository,
    SqlLinkChallengeRepository,
)
from adapters.db.web_sessions import SqlSessionRevocation
from adapters.hashing import Argon2PasswordHasher
from adapters.http_fetch import FetchPolicy, GuardedFetcher
from adapters.mail import OutboxTransport, SmtpTransport, Transport
from adapters.oidc.client import PyoidcClient
from adapters.oidc.keys import KeyCache
from adapters.secret_box import FernetSecretBox
from adapters.system import SecretsTokenSource, SystemClock
from domain.account import AccountSettings
from domain.link_confirmation import LinkConfirmation
from domain.login_policy import LoginPolicyAdministration
from domain.login import PasswordLogin
from domain.matching import UserMatcher
from domain.password_reset import PasswordReset
from domain.ports import (
    AuditLog,
    Clock,
    IdentityLinkRepository,
    IdentityProviderClient,
    IdentityProviderRepository,
    LinkChallengeRepository,
    Links,
    Mailer,
    PasswordHasher,
    PasswordResetTokenRepository,
    PractitionerRepository,
    ScimTokenRepository,
    SecretBox,
    SessionRevocation,
    TenantRepository,
    Throttle,
    TokenSource,
    UrlSafety,
)
from domain.practitioners import PractitionerDirectory
from domain.provider_admin import ProviderAdministration
from domain.provisioning import Provisioning, ProvisioningTokens
from domain.registration import SelfRegistration
from domain.single_sign_on import SingleSignOn
from domain.tenants import TenantOnboarding
from entrypoints.settings import PortalSettings


class RequestLinks:
    """Links into the instance the request came to, built from settings (never from its Host)."""

    def __init__(self, request: Request) -> None:
        self._request = request

    def _absolute(self, path: str) -> str:
        settings: PortalSettings = self._request.registry.portal_settings
        return settings.tenant_url(self._request.tenant.slug, path)

    def password_link(self, token: str) -> str:
        return self._absolute(self._request.route_path("password_reset", token=token))

    def redirect_uri(self) -> str:
        """The one redirect URI of the instance, registered at its identity providers."""
        return self._absolute(self._request.route_path("process_sso"))


def make_transport(settings: PortalSettings) -> Transport:
    if settings.mail_backend == "smtp":
        return SmtpTransport(
            settings.mail_host,
            settings.mail_port,
            settings.mail_username,
            settings.mail_password,
            settings.mail_starttls,
        )
    return OutboxTransport(settings.mail_outbox_dir)


def _port(request: Request, port: Any) -> Any:
    return request.find_service(port, context=None)


def _build(cls: Any, *ports: Any, **options: Any) -> Any:
    """A domain service whose constructor takes these ports (found per request) and options."""

    def factory(_context: Any, request: Request) -> Any:
        return cls(*(_port(request, port) for port in ports), **options)

    return factory


def includeme(config: Configurator) -> None:
    settings: PortalSettings = config.registry.portal_settings
    engine: Engine = config.registry.db_engine
    session_factory = make_session_factory(engine)

    def dbsession(request: Request) -> Session:
        return transactional_session(session_factory, request.tm)

    config.add_request_method(dbsession, "dbsession", reify=True)

    clock = SystemClock()
    # Requests only queue mail (the Mailer below); the `worker` command delivers it with this.
    config.registry.mail_delivery = MailDelivery(engine, make_transport(settings), settings.mail_sender, clock)
    config.register_service(Argon2PasswordHasher.with_profile(settings.password_hash_profile), PasswordHasher)
    config.register_service(clock, Clock)
    config.register_service(SecretsTokenSource(), TokenSource)
    # Process-wide and thread-safe: no per-login state, one key store per provider.
    fetcher = GuardedFetcher(
        FetchPolicy(
            allowed_private_hosts=settings.sso_allowed_private_hosts,
            development=settings.development,
            timeout=settings.sso_http_timeout,
        )
    )
    config.register_service(fetcher, UrlSafety)
    config.register_service(FernetSecretBox(settings.secrets_key), SecretBox)
    config.register_service(PyoidcClient(fetcher, KeyCache(fetcher)), IdentityProviderClient)

    per_request = {
        TenantRepository: lambda c, r: SqlTenantRepository(r.dbsession),
        PractitionerRepository: lambda c, r: SqlPractitionerRepository(r.dbsession),
        PasswordResetTokenRepository: lambda c, r: SqlPasswordResetTokenRepository(r.dbsession),
        Throttle: lambda c, r: SqlThrottle(r.dbsession),
        SessionRevocation: lambda c, r: SqlSessionRevocation(r.dbsession),
        Mailer: lambda c, r: SqlMailOutbox(r.dbsession, _port(r, Clock)),
        Links: lambda c, r: RequestLinks(r),
        IdentityProviderRepository: lambda c, r: SqlIdentityProviderRepository(r.dbsession),
        IdentityLinkRepository: lambda c, r: SqlIdentityLinkRepository(r.dbsession),
        LinkChallengeRepository: lambda c, r: SqlLinkChallengeRepository(r.dbsession),
        AuditLog: lambda c, r: SqlAuditLog(r.dbsession),
        UserMatcher: _build(UserMatcher, IdentityLinkRepository, PractitionerRepository),
        LinkConfirmation: _build(
            LinkConfirmation,
            PractitionerRepository,
            IdentityProviderRepository,
            IdentityLinkRepository,
            LinkChallengeRepository,
            Throttle,
            Mailer,
            TokenSource,
            AuditLog,
            Clock,
        ),
        SingleSignOn: _build(
            SingleSignOn,
            IdentityProviderRepository,
            PractitionerRepository,
            IdentityLinkRepository,
            UserMatcher,
            LinkConfirmation,
            IdentityProviderClient,
            SecretBox,
            TokenSource,
            SessionRevocation,
            AuditLog,
            Clock,
        ),
        ProviderAdministration: _build(
            ProviderAdministration,
            IdentityProviderRepository,
            IdentityLinkRepository,
            SecretBox,
            UrlSafety,
            IdentityProviderClient,
            SessionRevocation,
            AuditLog,
            Clock,
            allow_local_http=settings.development,
        ),
        PasswordLogin: _build(PasswordLogin, PractitionerRepository, Throttle, PasswordHasher, Clock),
        PasswordReset: _build(
            PasswordReset,
            PractitionerRepository,
            PasswordResetTokenRepository,
            Throttle,
            PasswordHasher,
            Mailer,
            Links,
            TokenSource,
            SessionRevocation,
            Clock,
        ),
        PractitionerDirectory: _build(
            PractitionerDirectory, PractitionerRepository, PasswordHasher, PasswordReset, SessionRevocation, Clock
        ),
        LoginPolicyAdministration: _build(LoginPolicyAdministration, IdentityProviderRepository, SessionRevocation, AuditLog, Clock),
        AccountSettings: _build(AccountSettings, IdentityLinkRepository, IdentityProviderRepository, AuditLog, Clock),
        SelfRegistration: _build(SelfRegistration, PractitionerRepository, PasswordReset, Clock),
        ScimTokenRepository: lambda c, r: SqlScimTokenRepository(r.dbsession),
        ProvisioningTokens: _build(
            ProvisioningTokens, ScimTokenRepository, PractitionerRepository, TokenSource, AuditLog, Clock
        ),
        Provisioning: _build(
            Provisioning,
            PractitionerRepository,
            IdentityProviderRepository,
            IdentityLinkRepository,
            SessionRevocation,
            AuditLog,
            Clock,
        ),
        TenantOnboarding: _build(
            TenantOnboarding, TenantRepository, PractitionerRepository, PasswordHasher, TokenSource, Clock
        ),
    }
    for port, factory in per_request.items():
        config.register_service_factory(factory, port)
