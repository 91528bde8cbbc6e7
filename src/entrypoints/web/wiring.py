"""The composition root: each port gets its adapter, once, when the app is configured.

Domain services are not wired here: each feature's includeme (entrypoints/web/features)
registers its own with ``add_service``, which builds them from their constructors' annotations.
Views never import this module; they ask ``request.find_service`` for a domain service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.db.engine import make_session_factory, transactional_session
from adapters.db.mail_outbox import MailDelivery, SqlMailOutbox
from adapters.db.repositories import (
    SqlPasswordResetTokenRepository,
    SqlPractitionerRepository,
    SqlScimTokenRepository,
    SqlTenantRepository,
    SqlThrottle,
)
from adapters.db.scim_groups import SqlScimGroupRepository
from adapters.db.sso_repositories import (
    SqlAuditLog,
    SqlIdentityLinkRepository,
    SqlIdentityProviderRepository,
    SqlLinkChallengeRepository,
)
from adapters.db.web_sessions import SqlLogoutTokenReplays, SqlSessionRevocation
from adapters.hashing import Argon2PasswordHasher
from adapters.http_fetch.fetcher import FetchPolicy, GuardedFetcher
from adapters.mail import OutboxTransport, SmtpTransport, Transport
from adapters.oidc.client import PyoidcClient
from adapters.oidc.keys import KeyCache
from adapters.secret_box import FernetSecretBox
from adapters.system import SecretsTokenSource, SystemClock
from adapters.translation import CatalogTranslator
from domain.audit import AuditLog, AuditTrail, RequestOrigin
from domain.practitioners.mail import Post
from domain.ports import (
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
    RecoveryLinks,
    ScimGroupRepository,
    ScimTokenRepository,
    SecretBox,
    LogoutTokenReplays,
    SessionRevocation,
    TenantRepository,
    TokenSource,
    Translator,
    UrlSafety,
)
from domain.throttle import Throttle
from entrypoints.settings import PortalSettings
from entrypoints.web.factories import add_adapter, add_service
from entrypoints.web.language import DOMAIN, LOCALE_DIRECTORY
from entrypoints.web.links import RequestLinks, SettingsRecoveryLinks

T = TypeVar("T")


def _adapter(port: type[T], build: Callable[[Request], T]) -> tuple[type[object], Callable[[Request], object]]:
    """A port and what builds its adapter for a request; mypy checks that the adapter implements it."""
    return port, build


# The adapters that live as long as the request's database session.
PER_REQUEST: dict[type[object], Callable[[Request], object]] = dict(
    [
        _adapter(TenantRepository, lambda r: SqlTenantRepository(r.dbsession)),
        _adapter(PractitionerRepository, lambda r: SqlPractitionerRepository(r.dbsession)),
        _adapter(PasswordResetTokenRepository, lambda r: SqlPasswordResetTokenRepository(r.dbsession)),
        _adapter(Throttle, lambda r: SqlThrottle(r.dbsession)),
        _adapter(SessionRevocation, lambda r: SqlSessionRevocation(r.dbsession)),
        _adapter(LogoutTokenReplays, lambda r: SqlLogoutTokenReplays(r.dbsession)),
        _adapter(Mailer, lambda r: SqlMailOutbox(r.dbsession, r.find_service(Clock, context=None))),
        _adapter(Links, RequestLinks),
        _adapter(RecoveryLinks, SettingsRecoveryLinks),
        _adapter(IdentityProviderRepository, lambda r: SqlIdentityProviderRepository(r.dbsession)),
        _adapter(IdentityLinkRepository, lambda r: SqlIdentityLinkRepository(r.dbsession)),
        _adapter(LinkChallengeRepository, lambda r: SqlLinkChallengeRepository(r.dbsession)),
        _adapter(AuditLog, lambda r: SqlAuditLog(r.dbsession)),
        # REMOTE_ADDR, which the server sets from a trusted proxy (waitress trusted_proxy; under gunicorn
        # the proxy middleware gunicorn.conf.py installs); never client_addr, which any client can forge.
        _adapter(RequestOrigin, lambda r: RequestOrigin(r.remote_addr, r.user_agent)),
        _adapter(ScimTokenRepository, lambda r: SqlScimTokenRepository(r.dbsession)),
        _adapter(ScimGroupRepository, lambda r: SqlScimGroupRepository(r.dbsession)),
    ]
)


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


def includeme(config: Configurator) -> None:
    settings: PortalSettings = config.registry.portal_settings
    engine: Engine = config.registry.db_engine
    session_factory = make_session_factory(engine)

    def dbsession(request: Request) -> Session:
        return transactional_session(session_factory, request.tm)

    config.add_request_method(dbsession, "dbsession", reify=True)
    clock: Clock = SystemClock()
    # Requests only queue mail (the Mailer); the `worker` command delivers it with this.
    config.registry.mail_delivery = MailDelivery(engine, make_transport(settings), settings.mail_sender, clock)
    add_adapter(config, Clock, lambda _request: clock)
    _process_wide(config, settings)
    for port, adapter in PER_REQUEST.items():
        add_adapter(config, port, adapter)
    # The shared kernel's services; every feature's services may ask for them.
    add_service(config, AuditTrail)
    add_service(config, Post)


def _process_wide(config: Configurator, settings: PortalSettings) -> None:
    # Each adapter is annotated with its port, so mypy checks that it implements it.
    hasher: PasswordHasher = Argon2PasswordHasher.with_profile(settings.password_hash_profile)
    add_adapter(config, PasswordHasher, lambda _request: hasher)
    translator: Translator = CatalogTranslator(LOCALE_DIRECTORY, DOMAIN)
    add_adapter(config, Translator, lambda _request: translator)
    tokens: TokenSource = SecretsTokenSource()
    add_adapter(config, TokenSource, lambda _request: tokens)
    # Process-wide and thread-safe: no per-login state, one key store per provider.
    fetcher = GuardedFetcher(
        FetchPolicy(
            allowed_private_hosts=settings.sso_allowed_private_hosts,
            development=settings.development,
            timeout=settings.sso_http_timeout,
        )
    )
    url_safety: UrlSafety = fetcher
    add_adapter(config, UrlSafety, lambda _request: url_safety)
    secret_box: SecretBox = FernetSecretBox(settings.secrets_key)
    add_adapter(config, SecretBox, lambda _request: secret_box)
    client: IdentityProviderClient = PyoidcClient(fetcher, KeyCache(fetcher, max_providers=settings.sso_key_cache_size))
    add_adapter(config, IdentityProviderClient, lambda _request: client)
