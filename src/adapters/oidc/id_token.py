"""Verifying an ID token completely: algorithm, signature, iss, aud, azp, exp, iat, nonce, sub."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from jwkest import BadSignature
from jwkest.jwk import Key
from jwkest.jws import JWS, JWSig, NoSuitableSigningKeys, SignerAlgError

from domain.errors import IdentityRejected
from domain.sso.provider import IdentityProvider

# Asymmetric algorithms only: HMAC would accept a token "signed" with the public key or
# the client secret; "none" is no signature at all.
ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC"}
CLOCK_LEEWAY = 60  # seconds of clock difference tolerated between us and the provider


class UnknownSigningKey(Exception):
    """No cached key fits the token's kid: the provider may have rotated its keys."""


def header_of(raw: str) -> Mapping[str, Any]:
    try:
        parts = JWSig().unpack(raw)
        if len(parts) != 3:
            raise ValueError("not three parts")
        return parts.headers  # type: ignore[no-any-return]
    except Exception as exc:
        raise IdentityRejected("the ID token is not a signed JWT") from exc


def verified_claims(raw: str, keys: list[Key], provider: IdentityProvider, nonce: str, now: float) -> dict[str, Any]:
    """The token's claims when every check passes; IdentityRejected naming the first that fails."""
    header = header_of(raw)
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise IdentityRejected(f"the ID token is signed with {algorithm!r}, which is not accepted")
    kid = header.get("kid")
    candidates = [k for k in keys if k.kty == KEY_TYPE[algorithm[:2]] and (kid is None or k.kid == kid)]
    if not candidates:
        raise UnknownSigningKey(kid)
    try:
        claims = JWS(alg=algorithm).verify_compact(raw, candidates, sigalg=algorithm)
    except (BadSignature, SignerAlgError, NoSuitableSigningKeys) as exc:
        raise IdentityRejected("the ID token's signature is not valid") from exc
    except Exception as exc:  # jwkest raises assorted errors for broken input
        raise IdentityRejected("the ID token cannot be verified") from exc
    if not isinstance(claims, dict):
        raise IdentityRejected("the ID token carries no claims")
    _check_claims(claims, provider, nonce, now)
    return claims


def _check_claims(claims: dict[str, Any], provider: IdentityProvider, nonce: str, now: float) -> None:
    if claims.get("iss") != provider.settings.issuer:
        raise IdentityRejected(f"the ID token's issuer is {claims.get('iss')!r}, not {provider.settings.issuer!r}")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if provider.settings.client_id not in audiences:
        raise IdentityRejected("the ID token is meant for another client (aud)")
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != provider.settings.client_id:
        raise IdentityRejected("the ID token names another authorized party (azp)")
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool):
        raise IdentityRejected("the ID token has no expiry (exp)")
    if expires + CLOCK_LEEWAY <= now:
        raise IdentityRejected("the ID token has expired")
    if not isinstance(issued, (int, float)) or isinstance(issued, bool):
        raise IdentityRejected("the ID token has no issue time (iat)")
    if issued - CLOCK_LEEWAY > now:
        raise IdentityRejected("the ID token was issued in the future (iat)")
    # Our own nonce from the browser's session, whatever pyoidc remembers or not.
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce.encode(), nonce.encode()):
        raise IdentityRejected("the ID token's nonce does not belong to this sign-in")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise IdentityRejected("the ID token has no usable subject (sub)")
