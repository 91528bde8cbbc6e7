"""KeyCache: each provider's signing keys, fetched once, refreshed on an unknown ``kid``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from jwkest.jwk import Key
from oic.utils.keyio import KeyBundle

from adapters.http_fetch import FetchFailed, GuardedFetcher
from domain.errors import ProviderUnavailable, UnsafeUrl
from domain.sso import IdentityProvider

KEYS_TIME_TO_LIVE = 3600.0  # seconds: providers rotate keys rarely and announce them early
MIN_REFRESH_INTERVAL = 60.0  # seconds: an unknown kid may not make us hammer the provider


@dataclass
class _ProviderKeys:
    keys: list[Key] = field(default_factory=list)
    fetched_at: float = float("-inf")
    last_attempt: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


class KeyCache:
    """One store per (provider id, jwks_uri): a refresh never touches another tenant's keys."""

    def __init__(
        self,
        fetcher: GuardedFetcher,
        time_to_live: float = KEYS_TIME_TO_LIVE,
        min_refresh_interval: float = MIN_REFRESH_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher = fetcher
        self._ttl = time_to_live
        self._min_interval = min_refresh_interval
        self._now = monotonic
        self._stores: dict[tuple[str, str], _ProviderKeys] = {}
        self._stores_lock = threading.Lock()

    def keys(self, provider: IdentityProvider) -> list[Key]:
        """The cached keys; fetched when missing or older than the time to live."""
        store = self._store(provider)
        if self._now() - store.fetched_at >= self._ttl:
            self._refresh(provider, store, force=store.fetched_at == float("-inf"))
        if not store.keys:
            raise ProviderUnavailable("the JWKS endpoint gave no signing keys")
        return store.keys

    def refresh_for_unknown_kid(self, provider: IdentityProvider) -> bool:
        """One refresh at a time per provider, at most once a minute; old keys kept on failure.

        Returns whether a refresh happened, so the caller knows if trying again can help.
        """
        store = self._store(provider)
        return self._refresh(provider, store, force=False)

    def _store(self, provider: IdentityProvider) -> _ProviderKeys:
        key = (provider.id, provider.jwks_uri)
        with self._stores_lock:
            return self._stores.setdefault(key, _ProviderKeys())

    def _refresh(self, provider: IdentityProvider, store: _ProviderKeys, force: bool) -> bool:
        with store.lock:  # concurrent logins wait for the one fetch instead of each fetching
            now = self._now()
            if not force and now - store.last_attempt < self._min_interval:
                return False
            store.last_attempt = now
            try:
                store.keys = self._fetch(provider)
                store.fetched_at = now
                return True
            except ProviderUnavailable:
                if store.keys:  # a provider hiccup must not lock out everyone with a known kid
                    return False
                raise

    def _fetch(self, provider: IdentityProvider) -> list[Key]:
        try:
            response = self._fetcher.get(provider.jwks_uri)
            response.require_ok("the JWKS endpoint")
            document = response.json()
        except FetchFailed as failed:
            raise ProviderUnavailable(f"the JWKS endpoint: {failed.message}") from failed
        except UnsafeUrl as unsafe:
            raise ProviderUnavailable(f"the JWKS endpoint: {unsafe.reason}") from unsafe
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ProviderUnavailable("the JWKS endpoint answered without a list of keys")
        try:
            bundle = KeyBundle(keys=[k for k in document["keys"] if isinstance(k, dict)])
            return [k for k in bundle.keys() if k.use in ("", "sig", None)]
        except Exception as exc:  # pyoidc raises assorted errors for malformed keys
            raise ProviderUnavailable("the JWKS endpoint answered with keys that cannot be read") from exc
