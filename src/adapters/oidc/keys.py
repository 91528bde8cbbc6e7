"""KeyCache: each provider's signing keys, fetched once, refreshed on an unknown ``kid``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from jwkest.jwk import Key
from oic.utils.keyio import KeyBundle

from adapters.http_fetch.fetcher import FetchFailed, GuardedFetcher
from domain.errors import ProviderUnavailable, UnsafeUrl
from domain.sso.provider import IdentityProvider

KEYS_TIME_TO_LIVE = 3600.0  # seconds: providers rotate keys rarely and announce them early
MIN_REFRESH_INTERVAL = 60.0  # seconds between fetches a login can cause beyond the regular ones
NEVER = float("-inf")


@dataclass
class _ProviderKeys:
    keys: list[Key] = field(default_factory=list)
    fetched_at: float = NEVER  # last successful fetch
    last_scheduled_attempt: float = NEVER  # last fetch because the keys were missing or old
    last_kid_refresh: float = NEVER  # last fetch because a token named an unknown kid
    kid_refresh_succeeded: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class KeyCache:
    """One store per (provider id, jwks_uri): a refresh never touches another tenant's keys.

    Logins waiting for the same provider share one fetch (a lock per provider), a failed fetch
    keeps the keys there were, and a token with an unknown ``kid`` causes at most one fetch per
    MIN_REFRESH_INTERVAL, however many such tokens arrive.
    """

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

    def key_count(self) -> int:
        """How many keys are cached, all providers together."""
        with self._stores_lock:
            return sum(len(store.keys) for store in self._stores.values())

    def keys(self, provider: IdentityProvider) -> list[Key]:
        """The cached keys; fetched when missing or older than the time to live."""
        store = self._store(provider)
        if self._now() - store.fetched_at >= self._ttl:
            with store.lock:
                now = self._now()
                fresh = now - store.fetched_at < self._ttl  # another login fetched meanwhile
                retried_lately = now - store.last_scheduled_attempt < self._min_interval
                if not fresh and not (store.keys and retried_lately):
                    store.last_scheduled_attempt = now
                    failure = self._load(provider, store)
                    if failure is not None and not store.keys:
                        raise failure
        return store.keys

    def refresh_for_unknown_kid(self, provider: IdentityProvider) -> bool:
        """Whether the keys may have changed since the token was checked: then check once more."""
        store = self._store(provider)
        with store.lock:
            now = self._now()
            if now - store.last_kid_refresh < self._min_interval:
                return store.kid_refresh_succeeded  # a login just refreshed: reuse, fetch nothing
            store.last_kid_refresh = now
            store.kid_refresh_succeeded = self._load(provider, store) is None
            return store.kid_refresh_succeeded

    def _store(self, provider: IdentityProvider) -> _ProviderKeys:
        key = (provider.id, provider.settings.jwks_uri)
        with self._stores_lock:
            return self._stores.setdefault(key, _ProviderKeys())

    def _load(self, provider: IdentityProvider, store: _ProviderKeys) -> ProviderUnavailable | None:
        """Fetches into ``store`` (lock held). On failure the old keys stay; the failure is returned."""
        try:
            store.keys = self._fetch(provider)
        except ProviderUnavailable as failure:
            return failure
        store.fetched_at = self._now()
        return None

    def _fetch(self, provider: IdentityProvider) -> list[Key]:
        try:
            response = self._fetcher.get(provider.settings.jwks_uri)
            response.require_ok("the JWKS endpoint")
            document = response.json()
        except FetchFailed as failed:
            message = (
                failed.message if failed.message.startswith("the JWKS") else f"the JWKS endpoint: {failed.message}"
            )
            raise ProviderUnavailable(message) from failed
        except UnsafeUrl as unsafe:
            raise ProviderUnavailable(f"the JWKS endpoint: {unsafe.reason}") from unsafe
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ProviderUnavailable("the JWKS endpoint answered without a list of keys")
        try:
            bundle = KeyBundle(keys=[k for k in document["keys"] if isinstance(k, dict)])
            keys = [k for k in bundle.keys() if k.use in ("", "sig", None)]
        except Exception as exc:  # pyoidc raises assorted errors for malformed keys
            raise ProviderUnavailable("the JWKS endpoint answered with keys that cannot be read") from exc
        if not keys:
            raise ProviderUnavailable("the JWKS endpoint gave no signing keys")
        return keys
