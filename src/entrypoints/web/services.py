"""Wiring, done once at configuration: ports to adapters, and domain services per request."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.db.engine import make_session_factory, transactional_session
from adapters.db.repositories import (
    SqlFailureLog,
    SqlPasswordResetTokenRepository,
    SqlPractitionerRepository,
    SqlTenantRepository,
)
from adapters.db.web_sessions import SqlSessionRevocation
from adapters.hashing import Argon2PasswordHasher
from adapters.mail import OutboxTransport, SmtpTransport, TransactionalMailer, Transport
from adapters.system import SecretsTokenSource, SystemClock
from domain.login import PasswordLogin
from domain.password_reset import PasswordReset
from domain.ports import (
    Clock,
    FailureLog,
    Links,
    Mailer,
    PasswordHasher,
    PasswordResetTokenRepository,
    PractitionerRepository,
    SessionRevocation,
    TenantRepository,
    TokenSource,
)
from domain.practitioners import PractitionerDirectory
from domain.tenants import TenantOnboarding
from entrypoints.settings import PortalSettings


class RequestLinks:
    """Links into the instance the request came to; the host was validated by tenancy."""

    def __init__(self, request: Request) -> None:
        self._request = request

    def _absolute(self, path: str) -> str:
        return f"{self._request.registry.portal_settings.scheme}://{self._request.host}{path}"

    def password_link(self, token: str) -> str:
        return self._absolute(self._request.route_path("password_reset", token=token))

    def login_link(self) -> str:
        return self._absolute(self._request.route_path("login"))


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


def _password_reset(_context: Any, request: Request) -> PasswordReset:
    return PasswordReset(
        *(
            _port(request, port)
            for port in (
                PractitionerRepository,
                PasswordResetTokenRepository,
                FailureLog,
                PasswordHasher,
                Mailer,
                Links,
                TokenSource,
                SessionRevocation,
                Clock,
            )
        )
    )


def _password_login(_context: Any, request: Request) -> PasswordLogin:
    return PasswordLogin(
        *(_port(request, p) for p in (PractitionerRepository, FailureLog, PasswordHasher, Clock))
    )


def _directory(_context: Any, request: Request) -> PractitionerDirectory:
    return PractitionerDirectory(
        _port(request, PractitionerRepository),
        _port(request, PasswordHasher),
        _port(request, PasswordReset),
        _port(request, SessionRevocation),
        _port(request, Clock),
    )


def _onboarding(_context: Any, request: Request) -> TenantOnboarding:
    return TenantOnboarding(
        *(
            _port(request, p)
            for p in (TenantRepository, PractitionerRepository, PasswordHasher, TokenSource, Clock)
        )
    )


def includeme(config: Configurator) -> None:
    settings: PortalSettings = config.registry.portal_settings
    engine: Engine = config.registry.db_engine
    session_factory = make_session_factory(engine)

    def dbsession(request: Request) -> Session:
        return transactional_session(session_factory, request.tm)

    config.add_request_method(dbsession, "dbsession", reify=True)

    transport = make_transport(settings)
    config.registry.mail_transport = transport
    config.register_service(Argon2PasswordHasher.with_profile(settings.password_hash_profile), PasswordHasher)
    config.register_service(SystemClock(), Clock)
    config.register_service(SecretsTokenSource(), TokenSource)

    per_request = {
        TenantRepository: lambda c, r: SqlTenantRepository(r.dbsession),
        PractitionerRepository: lambda c, r: SqlPractitionerRepository(r.dbsession),
        PasswordResetTokenRepository: lambda c, r: SqlPasswordResetTokenRepository(r.dbsession),
        FailureLog: lambda c, r: SqlFailureLog(r.dbsession),
        SessionRevocation: lambda c, r: SqlSessionRevocation(r.dbsession),
        Mailer: lambda c, r: TransactionalMailer(transport, settings.mail_sender, r.tm),
        Links: lambda c, r: RequestLinks(r),
        PasswordLogin: _password_login,
        PasswordReset: _password_reset,
        PractitionerDirectory: _directory,
        TenantOnboarding: _onboarding,
    }
    for port, factory in per_request.items():
        config.register_service_factory(factory, port)
