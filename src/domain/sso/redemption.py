"""CodeRedemption: what redeeming one authorization code takes, as the identity-provider port is given it.

A module of its own so the port (domain.ports) can name it without importing the pending login."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeRedemption:
    """What redeeming one authorization code takes: the code, the client's secret, and what binds
    the code to the login that asked for it (PKCE verifier, redirect URI, nonce)."""

    code: str
    client_secret: str
    code_verifier: str
    redirect_uri: str
    nonce: str
