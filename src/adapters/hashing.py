"""PasswordHasher port with argon2id (argon2-cffi)."""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        self._hasher = hasher or argon2.PasswordHasher()
        # Verified against when the account does not exist, so the answer takes as long.
        self._dummy_hash = self._hasher.hash("no account has this password")

    @classmethod
    def with_profile(cls, profile: str) -> Argon2PasswordHasher:
        """``default``: argon2-cffi's recommended parameters; ``cheapest``: for test suites."""
        if profile == "cheapest":
            return cls(argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST))
        return cls()

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def spend_verify_time(self, password: str) -> None:
        self.verify(self._dummy_hash, password)
