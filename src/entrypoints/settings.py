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
)
DEV_SECRET_MARKER = "development-only"


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
    if not re.fullmatch(r"[0-9]{1,5}", value) or not 1 <= int(value) <= 65535:
        raise SettingsError("app.public_port must be empty or a port number from 1 to 65535")
    return int(value)


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


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

    @classmethod
    def load(cls, settings: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> PortalSettings:
        merged = {key: str(settings.get(key, "")) for key in KNOWN}
        for key in KNOWN:
            if environ.get(env_name(key)):
                merged[key] = environ[env_name(key)]
        if environ.get("DATABASE_URL"):
            merged["sqlalchemy.url"] = environ["DATABASE_URL"]

        def required(key: str) -> str:
            value = merged[key].strip()
            if not value:
                raise SettingsError(f"{key} is not set (in the .ini file or ${env_name(key)})")
            return value

        development = _flag(merged["app.development"])
        scheme = (merged["app.scheme"] or "https").strip()
        if scheme not in {"http", "https"}:
            raise SettingsError("app.scheme must be http or https")
        secret = required("session.secret")
        if not development:
            if scheme != "https":
                raise SettingsError("app.scheme must be https outside development")
            if len(secret) < 32 or DEV_SECRET_MARKER in secret:
                raise SettingsError("session.secret needs at least 32 random characters in production")
        secrets_key = required("secrets.key")
        if not development and not _is_fernet_key(secrets_key):
            raise SettingsError(
                "secrets.key must be a Fernet key in production: "
                'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            )
        try:
            http_timeout = float(merged["sso.http_timeout"] or 10)
        except ValueError:
            raise SettingsError("sso.http_timeout must be a number of seconds") from None
        if not 0 < http_timeout <= 60:
            raise SettingsError("sso.http_timeout must be between 0 and 60 seconds")
        profile = (merged["passwords.hash_profile"] or "default").strip()
        if profile not in {"default", "cheapest"}:
            raise SettingsError("passwords.hash_profile must be default or cheapest")
        if profile == "cheapest" and not development:
            raise SettingsError("passwords.hash_profile = cheapest is for tests, never production")
        backend = (merged["mail.backend"] or "outbox").strip()
        if backend not in {"outbox", "smtp"}:
            raise SettingsError("mail.backend must be outbox or smtp")
        if backend == "smtp":
            required("mail.host")
        public_port = _public_port(merged["app.public_port"])
        try:
            port = int(merged["mail.port"] or 587)
        except ValueError:
            raise SettingsError("mail.port must be a number") from None
        return cls(
            database_url=required("sqlalchemy.url"),
            base_domain=required("app.base_domain").lower().strip("."),
            scheme=scheme,
            public_port=public_port,
            development=development,
            session_secret=secret,
            mail_backend=backend,
            mail_outbox_dir=Path(merged["mail.outbox_dir"] or "var/outbox"),
            mail_host=merged["mail.host"],
            mail_port=port,
            mail_username=merged["mail.username"],
            mail_password=merged["mail.password"],
            mail_starttls=_flag(merged["mail.starttls"] or "true"),
            mail_sender=merged["mail.sender"] or "Practice Portal <no-reply@localhost>",
            password_hash_profile=profile,
            secrets_key=secrets_key,
            sso_allowed_private_hosts=frozenset(
                h.lower() for h in merged["sso.allowed_private_hosts"].replace(",", " ").split()
            ),
            sso_http_timeout=http_timeout,
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
