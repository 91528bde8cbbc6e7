"""The provider's side of logout: OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.

``end_session`` checks an end-session request (the ``id_token_hint`` this provider signed, the
``client_id``, a registered ``post_logout_redirect_uri``) and says where the browser goes next;
``logout_token_claims`` and ``signed_logout_token`` make the token a back-channel logout POSTs.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jwkest import JWKESTException
from jwkest.jwk import RSAKey
from jwkest.jws import JWS

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# Back-Channel Logout 1.0 §2.4: the token is short-lived; two minutes covers a slow RP's clock.
LOGOUT_TOKEN_LIFETIME = 120


class EndSessionRefused(ValueError):
    """An end-session request this provider does not honour; the message says why."""


@dataclass(frozen=True)
class EndSession:
    """An honoured end-session request: whose login ends and where the browser goes (None: stay here)."""

    client_id: str
    sub: str | None
    sid: str | None
    redirect_to: str | None


def end_session(
    params: Mapping[str, str], issuer: str, keys: Sequence[RSAKey], post_logout_uris: Mapping[str, Sequence[str]]
) -> EndSession:
    """RP-Initiated Logout 1.0 §2-3: ``post_logout_uris`` maps each registered client to its URIs.

    An expired ``id_token_hint`` is fine (the spec expects RPs to send old ones); its signature,
    issuer and audience are not.
    """
    claims = _hint_claims(params["id_token_hint"], issuer, keys) if params.get("id_token_hint") else {}
    audience = _audience(claims)
    client_id = params.get("client_id") or (audience[0] if len(audience) == 1 else str(claims.get("azp", "")))
    if not client_id:
        raise EndSessionRefused("id_token_hint or client_id is required")
    if claims and client_id not in audience:
        raise EndSessionRefused("client_id is not an audience of the id_token_hint")
    if client_id not in post_logout_uris:
        raise EndSessionRefused("unknown client_id")
    redirect = params.get("post_logout_redirect_uri")
    if redirect is not None and redirect not in post_logout_uris[client_id]:
        raise EndSessionRefused("post_logout_redirect_uri is not registered for this client")
    state = params.get("state")
    return EndSession(
        client_id,
        claims.get("sub"),
        claims.get("sid"),
        None if redirect is None else _with_query(redirect, {} if state is None else {"state": state}),
    )


def _hint_claims(hint: str, issuer: str, keys: Sequence[RSAKey]) -> dict[str, Any]:
    try:
        claims = JWS().verify_compact(hint, keys=list(keys), sigalg="RS256")
    except (JWKESTException, ValueError, TypeError, KeyError) as err:
        raise EndSessionRefused(f"id_token_hint is not an ID token this provider signed ({type(err).__name__})")
    if not isinstance(claims, dict) or claims.get("iss") != issuer:
        raise EndSessionRefused("id_token_hint was issued by another provider")
    return claims


def _audience(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud", [])
    return [str(a) for a in aud] if isinstance(aud, list) else [str(aud)]


def _with_query(uri: str, extra: Mapping[str, str]) -> str:
    parts = urlsplit(uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *extra.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def logout_token_claims(issuer: str, audience: str, sub: str | None, sid: str | None) -> dict[str, Any]:
    """A well-formed logout token's claims (Back-Channel Logout 1.0 §2.4): fresh jti, no nonce."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    return claims | {name: value for name, value in (("sub", sub), ("sid", sid)) if value is not None}


def signed_logout_token(claims: Mapping[str, Any], key: RSAKey) -> str:
    """RS256 with ``key`` (its kid in the header), explicitly typed as §2.4 recommends."""
    return str(JWS(json.dumps(dict(claims)), alg="RS256", typ="logout+jwt").sign_compact([key]))


__all__ = [
    "BACKCHANNEL_LOGOUT_EVENT",
    "EndSession",
    "EndSessionRefused",
    "end_session",
    "logout_token_claims",
    "signed_logout_token",
]
