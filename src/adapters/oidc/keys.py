"""KeyCache: each provider's signing keys, fetched once, refreshed on an unknown ``kid``.

Keys are parsed into ``cryptography`` public keys when fetched, so a login only verifies.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from adapters.http_fetch.fetcher import FetchFailed, GuardedFetcher
from domain.errors import N_, ProviderUnavailable, UnsafeUrl
from domain.sso.provider import IdentityProvider

KEYS_TIME_TO_LIVE = 3600.0  # seconds: providers rotate keys rarely and announce them early
MIN_REFRESH_INTERVAL = 60.0  # seconds between fetches a login can cause beyond the regular ones
MAX_PROVIDERS = 1000  # provider stores kept per process; the least recently used goes first
NEVER = float("-inf")
JWKS_ENDPOINT = N_("the JWKS endpoint")


def problem_at(what: str, problem: str) -> str:
    """A problem met at one place the client talks to (``what``: "the JWKS endpoint")."""
    return N_("%(what)s: %(problem)s", what=what, problem=problem)


CURVES: Mapping[str, ec.EllipticCurve] = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
_BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_BASE64URL = re.compile("[A-Za-z0-9_-]*")
# A final group of 2 characters ends with 4 unused bits, one of 3 with 2: zero in the one canonical spelling.
_CANONICAL_LAST = {2: frozenset(_BASE64URL_ALPHABET[::16]), 3: frozenset(_BASE64URL_ALPHABET[::4])}


def base64url_decode(text: str) -> bytes:
    """Base64url without padding (RFC 7515 section 2), in its one canonical spelling; else ValueError.

    Python's decoder skips foreign characters and ignores the unused bits of the last one, so a
    token could be re-spelled without changing what it decodes to.
    """
    remainder = len(text) % 4
    if remainder == 1 or not _BASE64URL.fullmatch(text) or (remainder and text[-1] not in _CANONICAL_LAST[remainder]):
        raise ValueError("not canonical base64url")
    return base64.urlsafe_b64decode(text + "=" * (-remainder % 4))


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One key of a provider's JWKS that may check a signature, parsed once."""

    kty: str  # "RSA" or "EC"
    kid: str  # "" when the JWK names none
    alg: str  # "" when the JWK does not bind the key to one algorithm
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def signing_key(jwk: Mapping[str, object]) -> SigningKey | None:
    """The RSA or EC signature key a JWK describes; None for any other key (encryption, other
    types); ValueError when it claims to be one but cannot be read."""
    kty = jwk.get("kty")
    if jwk.get("use") not in (None, "", "sig") or kty not in ("RSA", "EC"):
        return None
    kid, alg = jwk.get("kid", ""), jwk.get("alg", "")
    if not isinstance(kid, str) or not isinstance(alg, str):
        raise ValueError("kid and alg must be text")
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
    if kty == "RSA":
        public_key = rsa.RSAPublicNumbers(_integer(jwk, "e"), _integer(jwk, "n")).public_key()
    else:
        curve = jwk.get("crv")
        if not isinstance(curve, str) or curve not in CURVES:
            raise ValueError("not a curve for signatures")
        # public_key() refuses a point that is not on the curve.
        public_key = ec.EllipticCurvePublicNumbers(_integer(jwk, "x"), _integer(jwk, "y"), CURVES[curve]).public_key()
    return SigningKey(kty=kty, kid=kid, alg=alg, public_key=public_key)


def _integer(jwk: Mapping[str, object], name: str) -> int:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} is missing")
    # Some libraries pad JWK values; the key is the same number either way.
    return int.from_bytes(base64url_decode(value.rstrip("=")), "big")


def signing_keys(jwks: list[object]) -> list[SigningKey]:
    """The signature keys of a JWKS's ``keys``: one unreadable key does not hide the others."""
    keys: list[SigningKey] = []
    unreadable: ValueError | None = None
    for jwk in jwks:
        try:
            key = signing_key(jwk) if isinstance(jwk, dict) else None
        except ValueError as exc:
            unreadable = exc
            continue
        if key is not None:
            keys.append(key)
    if not keys and unreadable is not None:
        raise ProviderUnavailable(N_("the JWKS endpoint answered with keys that cannot be read")) from unreadable
    if not keys:
        raise ProviderUnavailable(N_("the JWKS endpoint gave no signing keys"))
    return keys


@dataclass
class _ProviderKeys:
    keys: list[SigningKey] = field(default_factory=list)
    fetched_at: float = NEVER  # last successful fetch
    last_scheduled_attempt: float = NEVER  # last fetch because the keys were missing or old
    scheduled_attempt_ended: float = NEVER  # when that fetch ended
    scheduled_failure: ProviderUnavailable | None = None  # why it failed, None when it did not
    last_kid_refresh: float = NEVER  # last fetch because a token named an unknown kid
    kid_refresh_failure: ProviderUnavailable | None = None  # why the last of those fetches failed
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Stores:
    """At most ``capacity`` provider stores, the least recently used evicted first.

    An evicted store is only forgotten: a login that holds it keeps using it (and its lock), and
    the provider's next login starts a new one.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a key cache needs room for at least one provider")
        self._capacity = capacity
        self._stores: OrderedDict[tuple[str, str], _ProviderKeys] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._stores)

    def get(self, key: tuple[str, str]) -> _ProviderKeys:
        with self._lock:
            store = self._stores.get(key)
            if store is not None:
                self._stores.move_to_end(key)
                return store
            store = self._stores[key] = _ProviderKeys()
            if len(self._stores) > self._capacity:
                self._stores.popitem(last=False)
            return store

    def key_count(self) -> int:
        with self._lock:
            return sum(len(store.keys) for store in self._stores.values())


class KeyCache:
    """One store per (provider id, jwks_uri): a refresh never touches another tenant's keys.

    Logins waiting for the same provider share one fetch (a lock per provider), a failed fetch
    keeps the keys there were, and a token with an unknown ``kid`` causes at most one fetch per
    MIN_REFRESH_INTERVAL, however many such tokens arrive. At most ``max_providers`` stores are
    kept, so memory is bounded however many tenants a process serves.
    """

    def __init__(
        self,
        fetcher: GuardedFetcher,
        time_to_live: float = KEYS_TIME_TO_LIVE,
        min_refresh_interval: float = MIN_REFRESH_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        max_providers: int = MAX_PROVIDERS,
    ) -> None:
        self._fetcher = fetcher
        self._ttl = time_to_live
        self._min_interval = min_refresh_interval
        self._now = monotonic
        self._stores = _Stores(max_providers)

    def key_count(self) -> int:
        """How many keys are cached, all providers together."""
        return self._stores.key_count()

    def provider_count(self) -> int:
        """How many providers have a store: never more than ``max_providers``."""
        return len(self._stores)

    def keys(self, provider: IdentityProvider) -> list[SigningKey]:
        """The cached keys; fetched when missing or older than the time to live."""
        store = self._store(provider)
        asked = self._now()
        if asked - store.fetched_at >= self._ttl:
            with store.lock:
                now = self._now()
                fresh = now - store.fetched_at < self._ttl  # another login fetched meanwhile
                retried_lately = now - store.last_scheduled_attempt < self._min_interval
                # A fetch that ended while this request waited for the lock answers it too: the
                # requests queued behind a provider whose keys hang are not each sent again.
                answered_meanwhile = store.scheduled_attempt_ended >= asked
                if not fresh and not answered_meanwhile and not (store.keys and retried_lately):
                    store.last_scheduled_attempt = now
                    store.scheduled_failure = self._load(provider, store)
                    store.scheduled_attempt_ended = self._now()
                failure = store.scheduled_failure
                if not store.keys and failure is not None:
                    raise ProviderUnavailable(failure.what) from failure
        return store.keys

    def refresh_for_unknown_kid(self, provider: IdentityProvider) -> ProviderUnavailable | None:
        """Fetches the keys again because a token named a kid not among them, at most once per interval
        (within it, the last refresh's outcome stands). None: the keys may have changed, so check once
        more; otherwise why they could not be read (the old keys stay)."""
        store = self._store(provider)
        with store.lock:
            now = self._now()
            if now - store.last_kid_refresh < self._min_interval:
                return store.kid_refresh_failure  # a login just refreshed: reuse, fetch nothing
            store.last_kid_refresh = now
            store.kid_refresh_failure = self._load(provider, store)
            return store.kid_refresh_failure

    def _store(self, provider: IdentityProvider) -> _ProviderKeys:
        return self._stores.get((provider.id, provider.settings.jwks_uri))

    def _load(self, provider: IdentityProvider, store: _ProviderKeys) -> ProviderUnavailable | None:
        """Fetches into ``store`` (lock held). On failure the old keys stay; the failure is returned."""
        try:
            store.keys = self._fetch(provider)
        except ProviderUnavailable as failure:
            return failure
        store.fetched_at = self._now()
        return None

    def _fetch(self, provider: IdentityProvider) -> list[SigningKey]:
        try:
            response = self._fetcher.get(provider.settings.jwks_uri)
            response.require_ok(JWKS_ENDPOINT)
            document = response.json()
        except FetchFailed as failed:
            message = (
                failed.message
                if failed.message.startswith(JWKS_ENDPOINT)
                else problem_at(JWKS_ENDPOINT, failed.message)
            )
            raise ProviderUnavailable(message) from failed
        except UnsafeUrl as unsafe:
            raise ProviderUnavailable(problem_at(JWKS_ENDPOINT, unsafe.reason)) from unsafe
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ProviderUnavailable(N_("the JWKS endpoint answered without a list of keys"))
        return signing_keys(document["keys"])
