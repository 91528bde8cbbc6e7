"""What the provider and its switches share: the endpoint paths, the signing keys, base64url.

They are the development OpenID Provider's (entrypoints.openid_provider), which this OP is built on.
"""

from __future__ import annotations

from entrypoints.openid_provider.core import AUTHORIZATION, DISCOVERY, END_SESSION, JWKS, TOKEN, USERINFO
from entrypoints.openid_provider.keys import b64url, b64url_decode, rsa_key, signing_jwk

JSON_PATHS = frozenset({DISCOVERY, TOKEN, USERINFO, JWKS})

__all__ = [
    "AUTHORIZATION",
    "DISCOVERY",
    "END_SESSION",
    "JSON_PATHS",
    "JWKS",
    "TOKEN",
    "USERINFO",
    "b64url",
    "b64url_decode",
    "rsa_key",
    "signing_jwk",
]
