"""The provider's RSA signing keys (made once per process) and base64url."""

from __future__ import annotations

import base64
import hashlib
import threading

from Cryptodome.PublicKey import RSA
from jwkest.jwk import RSAKey

# RSA generation is the slow part of starting (~0.5 s for 2048 bits with pycryptodome), so each
# key is made once per process and shared by every provider; a rotation takes the next one.
_rsa_keys: list[RSA.RsaKey] = []
_rsa_lock = threading.Lock()


def rsa_key(index: int) -> RSA.RsaKey:
    with _rsa_lock:
        while len(_rsa_keys) <= index:
            _rsa_keys.append(RSA.generate(2048))
        return _rsa_keys[index]


def signing_jwk(index: int, name: str = "loopback") -> RSAKey:
    """A fresh jwkest wrapper around the process's ``index``-th RSA key; the kid names the key."""
    key = rsa_key(index)
    fingerprint = hashlib.sha256(key.n.to_bytes(256, "big")).hexdigest()[:12]
    return RSAKey(key=key, kid=f"{name}-{index + 1}-{fingerprint}", use="sig", alg="RS256")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
