"""Identifiers and digests: how entities are named and high-entropy secrets are kept."""

from __future__ import annotations

import hashlib
import uuid


def new_id() -> str:
    return uuid.uuid4().hex


def digest(secret: str) -> str:
    """How high-entropy secrets (reset tokens) are stored: never in clear."""
    return hashlib.sha256(secret.encode()).hexdigest()
