"""The loopback provider's switches: each makes it misbehave in exactly one way.

``Switches`` holds the state (a fresh instance is the well-behaved provider) and says how each
switch changes an answer; the provider asks it at fixed points of each endpoint. ``SwitchBoard``
is how a test flips them: ``op.expire_id_token()``, ``op.jwks_unreachable("hang")``...

A tampered ID token keeps every other claim (nonce included) and is otherwise validly signed,
so a refusal proves that one check works. Switches are plain fields read by the server's
threads: set them between requests (tests are sequential), not while a request is in flight.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jwkest.jwk import SYMKey
from jwkest.jws import JWS

from tests.loopback_op.protocol import JSON_PATHS, JWKS, b64url, b64url_decode, rsa_key, signing_jwk
from tests.loopback_op.server import Reply, error_reply

# Sentinel for patch_id_token(): remove the claim instead of setting it.
DROP: Any = object()
JWKS_MODES = ("503", "close", "hang")


@dataclass
class Switches:
    """Every way the provider can be told to misbehave; a fresh instance is the well-behaved OP."""

    send_iss_param: bool = False
    iss_param_value: str | None = None  # None: the real issuer
    set_cookie_on_token: bool = False
    send_id_token: bool = True
    id_token_signing: str = "RS256"  # or bad_signature, none, hs256_public_key, hs256_client_secret
    hs256_public_key_pem: bytes | None = None
    id_token_patch: dict[str, Any] = field(default_factory=dict)
    userinfo_sub: str | None = None
    userinfo_answer: dict[str, Any] | None = None
    key_index: int = 0
    published_key_indexes: tuple[int, ...] = (0,)
    token_status: int | None = None
    token_delay: float = 0.0
    jwks_mode: str | None = None  # one of JWKS_MODES
    hang_seconds: float = 60.0
    deny_description: str | None = None
    oversize: dict[str, tuple[int, bool]] = field(default_factory=dict)  # path -> (bytes, send length)

    # -- what each switch does to an answer; the provider asks at these points ----------------

    def drops_connection(self, target: str) -> bool:
        """An unreachable JWKS endpoint that closes the connection without an answer."""
        return urlsplit(target).path == JWKS and self.jwks_mode == "close"

    def authorization_refusal(self) -> tuple[str, str] | None:
        return ("access_denied", self.deny_description) if self.deny_description is not None else None

    def with_iss_param(self, reply: Reply, issuer: str) -> Reply:
        """RFC 9207: pyoidc always adds iss to the redirect; keep it only when asked to (or lie)."""
        location = reply.header("Location")
        if reply.status not in (302, 303) or location is None:
            return reply
        parts = urlsplit(location)
        params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
        if self.send_iss_param:
            params.append(("iss", self.iss_param_value or issuer))
        reply.replace_header("Location", urlunsplit(parts._replace(query=urlencode(params))))
        return reply

    def discovery(self, document: dict[str, Any]) -> dict[str, Any]:
        return {**document, "authorization_response_iss_parameter_supported": self.send_iss_param}

    def jwks_failure(self, sleep: Callable[[float], None]) -> Reply | None:
        if self.jwks_mode == "hang":
            sleep(self.hang_seconds)
        if self.jwks_mode in ("503", "hang"):
            return error_reply(503, "temporarily_unavailable", "JWKS unavailable")
        return None

    def published_keys(self) -> list[dict[str, Any]]:
        return [signing_jwk(i).serialize(private=False) for i in self.published_key_indexes]

    def token_failure(self, sleep: Callable[[float], None]) -> Reply | None:
        if self.token_delay:
            sleep(self.token_delay)
        if self.token_status is not None:
            return error_reply(self.token_status, "server_error", "the token endpoint is failing")
        return None

    def token(self, reply: Reply, client_secret: Callable[[str], str]) -> Reply:
        """The token answer pyoidc gave (200), with its ID token tampered, dropped or kept."""
        document = reply.json()
        if "id_token" in document and not self.send_id_token:
            reply = reply.with_json({k: v for k, v in document.items() if k != "id_token"})
        elif "id_token" in document and self._id_token_altered():
            reply = reply.with_json({**document, "id_token": self._tampered(document["id_token"], client_secret)})
        if self.set_cookie_on_token:
            reply.headers.append(("Set-Cookie", f"op_session={secrets.token_hex(8)}; Path=/; HttpOnly"))
        return reply

    def userinfo(self, reply: Reply) -> Reply:
        if self.userinfo_answer is not None:
            return reply.with_json(self.userinfo_answer)
        if self.userinfo_sub is not None:
            return reply.with_json({**reply.json(), "sub": self.userinfo_sub})
        return reply

    def shaped(self, path: str, reply: Reply) -> Reply:
        """A successful JSON answer of an oversized path, padded (an extra member) to its size."""
        if path not in self.oversize or reply.status != 200:
            return reply
        size, send_length = self.oversize[path]
        padding = max(0, size - len(reply.body) - len(', "x_padding": ""'))
        padded = reply.with_json({**reply.json(), "x_padding": "x" * padding})
        padded.streamed = not send_length
        return padded

    # -- ID token tampering ----------------------------------------------------------------------

    def _id_token_altered(self) -> bool:
        return self.id_token_signing != "RS256" or bool(self.id_token_patch)

    def _tampered(self, token: str, client_secret: Callable[[str], str]) -> str:
        """The token pyoidc issued, with the patch applied and signed the way the switch says."""
        original = json.loads(b64url_decode(token.split(".")[1]))
        claims = dict(original)
        for name, value in self.id_token_patch.items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value(original) if callable(value) else value
        return self._signed(json.dumps(claims), lambda: client_secret(audience(original)))

    def _signed(self, payload: str, client_secret: Callable[[], str]) -> str:
        rsa = signing_jwk(self.key_index)
        if self.id_token_signing == "none":
            return f"{b64url(json.dumps({'alg': 'none'}).encode())}.{b64url(payload.encode())}."
        if self.id_token_signing == "hs256_public_key":
            pem = self.hs256_public_key_pem or rsa_key(self.key_index).public_key().export_key("PEM") + b"\n"
            return str(JWS(payload, alg="HS256").sign_compact([SYMKey(key=pem, kid=rsa.kid)]))
        if self.id_token_signing == "hs256_client_secret":
            return str(JWS(payload, alg="HS256").sign_compact([SYMKey(key=client_secret())]))
        signed = str(JWS(payload, alg="RS256").sign_compact([rsa]))
        if self.id_token_signing == "bad_signature":
            head, body, signature = signed.split(".")
            raw = bytearray(b64url_decode(signature))
            raw[len(raw) // 2] ^= 0x01  # flip one bit in the middle: same length, wrong value
            signed = f"{head}.{body}.{b64url(bytes(raw))}"
        return signed


def audience(claims: Mapping[str, Any]) -> str:
    aud = claims["aud"]
    return str(aud[0] if isinstance(aud, list) else aud)


class SwitchBoard:
    """The switches as methods of the provider; each sets fields of ``self._switches``."""

    _switches: Switches

    @property
    def send_iss_param(self) -> bool:
        """RFC 9207 ``iss`` on the authorization redirect."""
        return self._switches.send_iss_param

    @send_iss_param.setter
    def send_iss_param(self, value: bool) -> None:
        self._switches.send_iss_param = value

    @property
    def set_cookie_on_token(self) -> bool:
        """Set-Cookie on token responses."""
        return self._switches.set_cookie_on_token

    @set_cookie_on_token.setter
    def set_cookie_on_token(self, value: bool) -> None:
        self._switches.set_cookie_on_token = value

    @property
    def send_id_token(self) -> bool:
        """Whether token responses carry the ID token pyoidc issued."""
        return self._switches.send_id_token

    @send_id_token.setter
    def send_id_token(self, value: bool) -> None:
        self._switches.send_id_token = value

    def send_wrong_iss_param(self, iss: str = "http://127.0.0.1:9/evil") -> None:
        """RFC 9207 ``iss`` on the authorization redirect, with a value that isn't this issuer."""
        self._switches.send_iss_param = True
        self._switches.iss_param_value = iss

    def tamper_id_token_signature(self) -> None:
        """RS256 with the right kid, but signature bytes altered."""
        self._switches.id_token_signing = "bad_signature"

    def sign_id_token_with_alg_none(self) -> None:
        """Unsigned ID token: header {"alg":"none"}, empty signature."""
        self._switches.id_token_signing = "none"

    def sign_id_token_hs256_with_public_key(self, pem: bytes | None = None) -> None:
        """Key confusion: HS256 keyed with the RSA public key's PEM (SubjectPublicKeyInfo, as
        ``cryptography`` writes it, trailing newline included) and the RSA key's kid."""
        self._switches.id_token_signing = "hs256_public_key"
        self._switches.hs256_public_key_pem = pem

    def sign_id_token_hs256_with_client_secret(self) -> None:
        """HS256 keyed with the client secret (valid per OIDC, but not the algorithm agreed)."""
        self._switches.id_token_signing = "hs256_client_secret"

    def patch_id_token(self, **claims: Any) -> None:
        """Set (or, with DROP, remove) ID token claims; a callable value gets the original claims."""
        self._switches.id_token_patch.update(claims)

    def wrong_id_token_issuer(self, iss: str = "http://127.0.0.1:9/other-issuer") -> None:
        self.patch_id_token(iss=iss)

    def wrong_id_token_audience(self, aud: str = "another-client") -> None:
        self.patch_id_token(aud=aud)

    def multiple_audiences(self, azp: str | None = None, other: str = "another-client") -> None:
        """aud = [client, other]; ``azp`` absent when None, else that value (the client's id is the
        well-formed case, anything else is wrong)."""
        self.patch_id_token(aud=lambda claims: [audience(claims), other], azp=DROP if azp is None else azp)

    def drop_id_token_iat(self) -> None:
        self.patch_id_token(iat=DROP)

    def expire_id_token(self, seconds_ago: int = 600) -> None:
        """exp in the past (beyond any sane leeway); iat stays as issued."""
        self.patch_id_token(exp=lambda claims: int(time.time()) - seconds_ago)

    def wrong_id_token_nonce(self, nonce: str = "not-the-nonce-that-was-sent") -> None:
        self.patch_id_token(nonce=nonce)

    def userinfo_sub_mismatch(self, sub: str = "someone-else") -> None:
        """Userinfo answers with a different ``sub`` than the ID token's."""
        self._switches.userinfo_sub = sub

    def answer_userinfo_with(self, document: dict[str, Any]) -> None:
        """Userinfo answers exactly this document to a valid access token."""
        self._switches.userinfo_answer = document

    def rotate_signing_key(self, keep_old: bool = True) -> str:
        """Sign with a new RSA key (new kid) and publish it in /jwks, with or without the old one.

        Returns the new kid. reset() goes back to the original key.
        """
        sw = self._switches
        old = sw.published_key_indexes if keep_old else ()
        sw.key_index += 1
        sw.published_key_indexes = (sw.key_index, *old)
        return str(signing_jwk(sw.key_index).kid)

    def fail_token_endpoint(self, status: int = 500) -> None:
        self._switches.token_status = status

    def slow_token_endpoint(self, seconds: float) -> None:
        """The token endpoint waits ``seconds`` before answering (reset() and stop() cut it short)."""
        self._switches.token_delay = seconds

    def jwks_unreachable(self, mode: str = "503", hang_seconds: float = 60.0) -> None:
        """/jwks answers 503 (``"503"``), closes the connection unanswered (``"close"``), or keeps
        it open without answering for ``hang_seconds`` or until reset() or stop() (``"hang"``)."""
        if mode not in JWKS_MODES:
            raise ValueError(f"unknown mode: {mode}")
        self._switches.jwks_mode = mode
        self._switches.hang_seconds = hang_seconds

    def deny_authorization(self, description: str = "The user declined the request") -> None:
        """The authorization endpoint redirects with error=access_denied, the description and state."""
        self._switches.deny_description = description

    def oversize_response(self, path: str, size: int = 5 * 1024 * 1024, send_content_length: bool = True) -> None:
        """The JSON answer of ``path`` is padded (extra member) to ``size`` bytes; it stays valid.

        Without ``send_content_length`` the body is streamed in chunks with no Content-Length.
        """
        if path not in JSON_PATHS:
            raise ValueError(f"only JSON endpoints can be oversized: {sorted(JSON_PATHS)}")
        self._switches.oversize[path] = (size, send_content_length)


__all__ = ["DROP", "SwitchBoard", "Switches", "audience"]
