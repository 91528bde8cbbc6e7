"""The floor of an SSO callback: what any callback must do, done with the plainest tools, its CPU timed per part.

- http: the token POST and the userinfo GET to the provider's process, with http.client on one
  connection kept alive;
- verify: one RS256 signature check of the ID token the provider answered, with cryptography;
- database: 2 indexed selects (the tenant by its slug; the link and its practitioner by the identity's
  key), 1 insert (an audit row) and a commit, with the database's own driver: the raw DB-API connection
  of the app's engine (psycopg or pysqlite), no SQLAlchemy in between.

Getting an authorization code for each sample (the browser's hop to the provider) is not timed.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from common import Portal
from remote_op import RemoteProvider


@dataclass(frozen=True)
class RelyingParty:
    """The portal as the provider knows it: one tenant's client registration."""

    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class Lookup:
    """The tenant, the provider and the linked identity the floor's selects look up."""

    slug: str
    tenant_id: str
    provider_id: str
    subject: str


@dataclass(frozen=True)
class FloorSample:
    """CPU seconds of each part of one floor sample."""

    http: float
    verify: float
    database: float

    @property
    def total(self) -> float:
        return self.http + self.verify + self.database


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def redirect_from(url: str) -> str:
    """GET ``url`` (the provider's authorization endpoint) and return where it redirects, unfollowed."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        response = connection.getresponse()
        response.read()
        location = response.getheader("Location")
    finally:
        connection.close()
    if response.status not in (302, 303) or location is None:
        raise RuntimeError(f"the provider answered {response.status} to the authorization request")
    return location


class Floor:
    """Takes floor samples for one relying party and identity; ``close()`` when done."""

    def __init__(self, portal: Portal, op: RemoteProvider, rp: RelyingParty, lookup: Lookup) -> None:
        self._op, self._rp, self._lookup = op, rp, lookup
        engine = portal.engine
        self.driver = engine.dialect.driver
        self._sqlite = engine.dialect.name == "sqlite"
        self._db = engine.raw_connection()  # checked out once and kept, as a pool keeps it
        self._mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._http = http.client.HTTPConnection(urlsplit(op.issuer).netloc, timeout=10)
        self.keep_alive = True  # until the provider closes a connection
        self._key = self._signing_key()

    def close(self) -> None:
        self._http.close()
        self._db.close()

    def sample(self) -> FloorSample:
        code, verifier = self._authorization_code()
        started = time.process_time()
        id_token = self._token_and_userinfo(code, verifier)
        exchanged = time.process_time()
        self._verify(id_token)
        verified = time.process_time()
        self._database()
        return FloorSample(exchanged - started, verified - exchanged, time.process_time() - verified)

    def _get_json(self, path: str, headers: dict[str, str]) -> Any:
        self._http.request("GET", path, headers=headers)
        return self._read_json()

    def _read_json(self) -> Any:
        response = self._http.getresponse()
        body = response.read()
        self.keep_alive = self.keep_alive and not response.will_close
        if response.status != 200:
            raise RuntimeError(f"the provider answered {response.status}: {body[:200]!r}")
        return json.loads(body)

    def _signing_key(self) -> rsa.RSAPublicKey:
        [jwk] = self._get_json("/jwks", {})["keys"]
        n, e = (int.from_bytes(b64url_decode(jwk[name]), "big") for name in ("n", "e"))
        return rsa.RSAPublicNumbers(e, n).public_key()

    def _authorization_code(self) -> tuple[str, str]:
        """A code for whoever the provider logs in now, and its PKCE verifier."""
        verifier = secrets.token_urlsafe(48)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._rp.client_id,
                "redirect_uri": self._rp.redirect_uri,
                "scope": "openid email profile",
                "state": secrets.token_urlsafe(16),
                "nonce": secrets.token_urlsafe(16),
                "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
                "code_challenge_method": "S256",
            }
        )
        location = redirect_from(self._op.url(f"/authorization?{query}"))
        return parse_qs(urlsplit(location).query)["code"][0], verifier

    def _token_and_userinfo(self, code: str, verifier: str) -> str:
        form = urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._rp.redirect_uri,
                "code_verifier": verifier,
            }
        )
        basic = base64.b64encode(f"{self._rp.client_id}:{self._rp.client_secret}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}
        self._http.request("POST", "/token", body=form, headers=headers)
        tokens = self._read_json()
        self._get_json("/userinfo", {"Authorization": f"Bearer {tokens['access_token']}"})
        return str(tokens["id_token"])

    def _verify(self, id_token: str) -> None:
        header, payload, signature = id_token.split(".")
        signed = f"{header}.{payload}".encode("ascii")
        self._key.verify(b64url_decode(signature), signed, padding.PKCS1v15(), hashes.SHA256())

    def _database(self) -> None:
        cursor = self._db.cursor()
        mark, who = self._mark, self._lookup
        if self._sqlite:  # the engine puts pysqlite in autocommit mode and begins itself
            cursor.execute("BEGIN")
        cursor.execute(f"SELECT id, slug, name, active FROM tenants WHERE slug = {mark}", (who.slug,))
        cursor.fetchone()
        cursor.execute(
            "SELECT l.id, l.practitioner_id, p.email, p.active FROM identity_links l"
            " JOIN practitioners p ON p.id = l.practitioner_id"
            f" WHERE l.tenant_id = {mark} AND l.provider_id = {mark} AND l.issuer = {mark} AND l.subject = {mark}",
            (who.tenant_id, who.provider_id, self._op.issuer, who.subject),
        )
        cursor.fetchone()
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        cursor.execute(
            "INSERT INTO audit_events (id, tenant_id, kind, at, summary, actor_id)"
            f" VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, {mark})",
            (
                secrets.token_hex(16),
                who.tenant_id,
                "sso_login_succeeded",
                now.isoformat(" ") if self._sqlite else now,  # as SQLAlchemy stores a DateTime on SQLite
                "floor",
                None,
            ),
        )
        cursor.close()
        self._db.commit()
