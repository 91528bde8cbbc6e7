"""Settings from the .ini file, overridable by environment variables for production.

Every setting ``a.b_c`` can be overridden by the variable ``A_B_C``; ``sqlalchemy.url`` also
by ``DATABASE_URL``, the name hosting platforms use.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

KNOWN = (
    "sqlalchemy.url",
    "app.base_domain",
    "app.scheme",
    "app.public_port",
    "app.development",
    "session.secret",
    "secrets.key",
    "mail.backend",
    "mail.outbox_dir",
    "mail.host",
    "mail.port",
    "mail.username",
    "mail.password",
    "mail.starttls",
    "mail.sender",
    "passwords.hash_profile",
    "sso.allowed_private_hosts",
    "sso.http_timeout",
    "sso.key_cache_size",
    "sso.demo_provider",
)
DEV_SECRET_MARKER = "development-only"
_N = TypeVar("_N", int, float)


class SettingsError(SystemExit):
    """A one-line explanation of what is wrong with the configuration, then exit 1."""

    def __init__(self, message: str) -> None:
        super().__init__(f"practice-portal: configuration error: {message}")


def env_name(setting: str) -> str:
    return setting.upper().replace(".", "_")


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except ValueError:
        return False


def _public_port(value: str) -> int | None:
    """The port in links that leave the app: empty in production (the scheme's own port)."""
    value = value.strip()
    if not value:
        return None
    if not _is_port(value):
        raise SettingsError("app.public_port must be empty or a port number from 1 to 65535")
    return int(value)


def _is_port(value: str) -> bool:
    return re.fullmatch(r"[0-9]{1,5}", value) is not None and 1 <= int(value) <= 65535


def _mail_port(value: str) -> int:
    value = value.strip() or "587"
    if not _is_port(value):
        raise SettingsError("mail.port must be a number from 1 to 65535")
    return int(value)


# A DNS name: what instance hosts (<slug>.<base_domain>) and every link are built on.
_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


def _base_domain(raw: _Raw) -> str:
    domain = raw.required("app.base_domain").lower().strip(".")
    if not _HOST_NAME.fullmatch(domain):
        raise SettingsError("app.base_domain must be a host name such as portal.example (no scheme, port or path)")
    return domain


def _database_url(raw: _Raw) -> str:
    """A URL SQLAlchemy can open with an installed driver, checked here so that a wrong one stops
    the start with one line (never repeating its password) instead of a traceback."""
    url = raw.required("sqlalchemy.url")
    try:
        make_url(url).get_dialect().import_dbapi()
    except (ArgumentError, ValueError, ImportError):
        raise SettingsError(
            "sqlalchemy.url (or $DATABASE_URL) is not a database URL with an installed driver: "
            "postgresql+psycopg://user:password@host:5432/portal (not postgres://...) or sqlite:///path"
        ) from None
    return url


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


class _Raw:
    """The settings as text, the environment over the .ini file, with the checks they share."""

    def __init__(self, settings: Mapping[str, str], environ: Mapping[str, str]) -> None:
        self._values = {key: str(settings.get(key, "")) for key in KNOWN}
        for key in KNOWN:
            if environ.get(env_name(key)):
                self._values[key] = environ[env_name(key)]
        if environ.get("DATABASE_URL"):
            self._values["sqlalchemy.url"] = environ["DATABASE_URL"]

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def required(self, key: str) -> str:
        value = self._values[key].strip()
        if not value:
            raise SettingsError(f"{key} is not set (in the .ini file or ${env_name(key)})")
        return value

    def choice(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = (self._values[key] or default).strip()
        if value not in allowed:
            raise SettingsError(f"{key} must be {' or '.join(allowed)}")
        return value

    def number(self, key: str, default: float, kind: type[_N], message: str) -> _N:
        try:
            return kind(self._values[key] or default)
        except ValueError:
            raise SettingsError(message) from None


def _refuse_development_values(scheme: str, secret: str, secrets_key: str, profile: str) -> None:
    """Outside development every shortcut that the development settings take is refused."""
    if scheme != "https":
        raise SettingsError("app.scheme must be https outside development")
    if len(secret) < 32 or DEV_SECRET_MARKER in secret:
        raise SettingsError("session.secret needs at least 32 random characters in production")
    if not _is_fernet_key(secrets_key):
        raise SettingsError(
            "secrets.key must be a Fernet key in production: "
            'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        )
    if profile == "cheapest":
        raise SettingsError("passwords.hash_profile = cheapest is for tests, never production")


def require_development(setting: str, development: bool) -> None:
    """A development-only feature (the demo identity provider) is refused anywhere else."""
    if not development:
        raise SettingsError(f"{setting} is for development only: it needs app.development = true")


def _http_timeout(raw: _Raw) -> float:
    timeout = raw.number("sso.http_timeout", 10, float, "sso.http_timeout must be a number of seconds")
    if not 0 < timeout <= 60:
        raise SettingsError("sso.http_timeout must be between 0 and 60 seconds")
    return timeout


def _key_cache_size(raw: _Raw) -> int:
    size = raw.number("sso.key_cache_size", 1000, int, "sso.key_cache_size must be a whole number")
    if size < 1:
        raise SettingsError("sso.key_cache_size must be at least 1")
    return size


@dataclass(frozen=True)
class PortalSettings:
    database_url: str
    base_domain: str
    scheme: str
    public_port: int | None
    development: bool
    session_secret: str
    mail_backend: str
    mail_outbox_dir: Path
    mail_host: str
    mail_port: int
    mail_username: str
    mail_password: str
    mail_starttls: bool
    mail_sender: str
    password_hash_profile: str
    secrets_key: str
    sso_allowed_private_hosts: frozenset[str]
    sso_http_timeout: float
    sso_key_cache_size: int  # identity providers whose signing keys a process keeps
    # `make run`'s demo OpenID Provider on idp.<base_domain> (entrypoints.openid_provider.demo).
    sso_demo_provider: bool = False

    @classmethod
    def load(cls, settings: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> PortalSettings:
        raw = _Raw(settings, environ)
        development = _flag(raw["app.development"])
        scheme = raw.choice("app.scheme", "https", ("http", "https"))
        profile = raw.choice("passwords.hash_profile", "default", ("default", "cheapest"))
        secret, secrets_key = raw.required("session.secret"), raw.required("secrets.key")
        if not development:
            _refuse_development_values(scheme, secret, secrets_key, profile)
        demo_provider = _flag(raw["sso.demo_provider"])
        if demo_provider:
            require_development("sso.demo_provider", development)
        backend = raw.choice("mail.backend", "outbox", ("outbox", "smtp"))
        if backend == "smtp":
            raw.required("mail.host")
        return cls(
            database_url=_database_url(raw),
            base_domain=_base_domain(raw),
            scheme=scheme,
            public_port=_public_port(raw["app.public_port"]),
            development=development,
            session_secret=secret,
            mail_backend=backend,
            mail_outbox_dir=Path(raw["mail.outbox_dir"] or "var/outbox"),
            mail_host=raw["mail.host"],
            mail_port=_mail_port(raw["mail.port"]),
            mail_username=raw["mail.username"],
            mail_password=raw["mail.password"],
            mail_starttls=_flag(raw["mail.starttls"] or "true"),
            mail_sender=raw["mail.sender"] or "Practice Portal <no-reply@localhost>",
            password_hash_profile=profile,
            secrets_key=secrets_key,
            sso_allowed_private_hosts=frozenset(
                h.lower() for h in raw["sso.allowed_private_hosts"].replace(",", " ").split()
            ),
            sso_http_timeout=_http_timeout(raw),
            sso_key_cache_size=_key_cache_size(raw),
            sso_demo_provider=demo_provider,
        )

    @property
    def secure_cookies(self) -> bool:
        return self.scheme == "https"

    def tenant_url(self, slug: str, path: str = "") -> str:
        """An absolute URL on a tenant's instance, for everything that leaves the app (mail links,
        the redirect URI, SCIM locations). Built from settings only: the request's Host header
        selects a tenant, it never names where a link points."""
        port = f":{self.public_port}" if self.public_port else ""
        return f"{self.scheme}://{slug}.{self.base_domain}{port}{path}"
