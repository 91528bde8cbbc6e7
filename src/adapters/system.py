"""Clock and TokenSource ports from the standard library."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class SecretsTokenSource:
    def new_token(self, nbytes: int = 32) -> str:
        return secrets.token_urlsafe(nbytes)

    def new_digits(self, count: int) -> str:
        return "".join(secrets.choice("0123456789") for _ in range(count))
