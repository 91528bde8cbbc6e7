"""Verifying an ID token completely: algorithm, signature, iss, aud, azp, exp, iat, nonce, sub."""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from adapters.oidc.keys import SigningKey, base64url_decode
from domain.errors import N_, IdentityRejected
from domain.sso.logout import is_instant
from domain.sso.provider import IdentityProvider

# Asymmetric algorithms only: HMAC would accept a token "signed" with the public key or
# the client secret; "none" is no signature at all.
ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC"}
CLOCK_LEEWAY = 60  # seconds of clock difference tolerated between us and the provider
HASHES: dict[str, hashes.HashAlgorithm] = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
# RFC 7518 3.4: each ES algorithm has its curve, and its signature is r || s, each as long as the curve's order.
ES_CURVES = {"ES256": ("secp256r1", 32), "ES384": ("secp384r1", 48), "ES512": ("secp521r1", 66)}
ID_TOKEN = N_("the ID token")
# The refusals of a signed token's times: the test sign-in tells them as a clock difference.
EXPIRED = N_("the ID token has expired")
ISSUED_IN_THE_FUTURE = N_("the ID token was issued in the future (iat)")


class UnknownSigningKey(Exception):
    """No cached key fits the token's kid: the provider may have rotated its keys."""


@dataclass(frozen=True, slots=True)
class CompactJws:
    header: dict[str, Any]
    signing_input: bytes
    payload: bytes
    signature: bytes


def parsed(raw: str, what: str = ID_TOKEN) -> CompactJws:
    """The three parts of a compact JWS, decoded; IdentityRejected when ``raw`` is not one.
    ``what``: the token, as a refusal names it (an ID token, a logout token)."""
    parts = raw.split(".")
    if len(parts) != 3:
        raise IdentityRejected(N_("%(what)s is not a signed JWT", what=what))
    try:
        header, payload, signature = (base64url_decode(part) for part in parts)
        # Read before the signature is checked: json.loads raises RecursionError on deep nesting.
        document = json.loads(header.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise IdentityRejected(N_("%(what)s is not a signed JWT", what=what)) from exc
    if not isinstance(document, dict):
        raise IdentityRejected(N_("%(what)s is not a signed JWT", what=what))
    return CompactJws(document, f"{parts[0]}.{parts[1]}".encode("ascii"), payload, signature)


def verified_claims(
    raw: str, keys: Sequence[SigningKey], provider: IdentityProvider, nonce: str, now: float
) -> dict[str, Any]:
    """The token's claims when every check passes; IdentityRejected naming the first that fails."""
    claims = signed_claims(raw, keys)
    _check_claims(claims, provider, nonce, now)
    return claims


def signed_claims(raw: str, keys: Sequence[SigningKey], what: str = ID_TOKEN) -> dict[str, Any]:
    """The claims of a JWS that one of ``keys`` signed with an allowed algorithm, not yet checked;
    UnknownSigningKey when no key fits its kid, IdentityRejected for anything else."""
    token = parsed(raw, what)
    algorithm = token.header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in ALLOWED_ALGORITHMS:
        raise IdentityRejected(
            N_("%(what)s is signed with %(algorithm)r, which is not accepted", what=what, algorithm=algorithm)
        )
    if "crit" in token.header:  # RFC 7515 4.1.11: extensions we do not understand must be refused
        raise IdentityRejected(
            N_("%(what)s requires header extensions this portal does not understand (crit)", what=what)
        )
    kid = token.header.get("kid")
    candidates = [k for k in keys if k.kty == KEY_TYPE[algorithm[:2]] and (kid is None or k.kid == kid)]
    if not candidates:
        raise UnknownSigningKey(kid)
    _verify_signature(token, algorithm, candidates, what)
    return _claims(token.payload, what)


def _verify_signature(token: CompactJws, algorithm: str, candidates: list[SigningKey], what: str) -> None:
    failure: Exception | None = None
    for key in candidates:
        try:
            _verify(key, algorithm, token)
            return
        except (InvalidSignature, ValueError) as exc:  # ValueError: e.g. a key too short for PS512
            failure = exc
    raise IdentityRejected(N_("%(what)s's signature is not valid", what=what)) from failure


def _verify(key: SigningKey, algorithm: str, token: CompactJws) -> None:
    """Returns when ``key`` signed ``token`` with ``algorithm``; InvalidSignature otherwise."""
    if key.alg and key.alg != algorithm:  # the JWK binds the key to another algorithm (RFC 7517 4.4)
        raise InvalidSignature("the key is for another algorithm")
    digest = HASHES[algorithm[2:]]
    public_key = key.public_key
    if isinstance(public_key, rsa.RSAPublicKey):
        scheme = (
            padding.PKCS1v15()
            if algorithm.startswith("RS")
            else padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)  # RFC 7518 3.5
        )
        public_key.verify(token.signature, token.signing_input, scheme, digest)
        return
    curve, size = ES_CURVES[algorithm]
    if public_key.curve.name != curve or len(token.signature) != 2 * size:
        raise InvalidSignature("not a signature of this curve")
    r, s = int.from_bytes(token.signature[:size], "big"), int.from_bytes(token.signature[size:], "big")
    public_key.verify(encode_dss_signature(r, s), token.signing_input, ec.ECDSA(digest))


def _claims(payload: bytes, what: str = ID_TOKEN) -> dict[str, Any]:
    """The payload as a JSON object. json.loads raises RecursionError on deep nesting and
    ValueError on integers of more than 4,300 digits, so no input makes it run away."""
    try:
        claims = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, RecursionError) as exc:
        raise IdentityRejected(N_("%(what)s cannot be verified", what=what)) from exc
    except ValueError as exc:
        raise IdentityRejected(N_("%(what)s carries no claims", what=what)) from exc
    if not isinstance(claims, dict):
        raise IdentityRejected(N_("%(what)s carries no claims", what=what))
    return claims


def unsigned_claims(raw: str, what: str) -> dict[str, Any]:
    """What a JWS says before its signature is checked: only to choose whose keys check it."""
    return _claims(parsed(raw, what).payload, what)


def _check_claims(claims: dict[str, Any], provider: IdentityProvider, nonce: str, now: float) -> None:
    if claims.get("iss") != provider.settings.issuer:
        raise IdentityRejected(
            N_(
                "the ID token's issuer is %(sent)r, not %(expected)r",
                sent=claims.get("iss"),
                expected=provider.settings.issuer,
            )
        )
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if provider.settings.client_id not in audiences:
        raise IdentityRejected(N_("the ID token is meant for another client (aud)"))
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != provider.settings.client_id:
        raise IdentityRejected(N_("the ID token names another authorized party (azp)"))
    expires, issued = claims.get("exp"), claims.get("iat")
    if not is_instant(expires):
        raise IdentityRejected(N_("the ID token has no expiry (exp)"))
    if expires + CLOCK_LEEWAY <= now:
        raise IdentityRejected(EXPIRED)
    if not is_instant(issued):
        raise IdentityRejected(N_("the ID token has no issue time (iat)"))
    if issued - CLOCK_LEEWAY > now:
        raise IdentityRejected(ISSUED_IN_THE_FUTURE)
    # Our own nonce from the browser's session, whatever pyoidc remembers or not.
    token_nonce = claims.get("nonce")
    # surrogatepass: JSON may spell a lone surrogate, which plain encode() would turn into a 500.
    if not isinstance(token_nonce, str) or not hmac.compare_digest(
        token_nonce.encode(errors="surrogatepass"), nonce.encode()
    ):
        raise IdentityRejected(N_("the ID token's nonce does not belong to this sign-in"))
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise IdentityRejected(N_("the ID token has no usable subject (sub)"))
