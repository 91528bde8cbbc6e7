"""SecretBox port with Fernet (cryptography): client secrets are encrypted at rest."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from domain.errors import ProviderUnavailable


class FernetSecretBox:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(self.derive_key(key))

    @staticmethod
    def derive_key(key: str) -> bytes:
        """A proper Fernet key is used as is; any other passphrase is stretched to one."""
        try:
            if len(base64.urlsafe_b64decode(key.encode())) == 32:
                return key.encode()
        except (ValueError, TypeError):
            pass
        return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest())

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            # secrets.key changed or the row was damaged: only a new secret from the admin helps.
            raise ProviderUnavailable(
                "the stored client secret cannot be decrypted; an administrator must enter it again"
            ) from exc
