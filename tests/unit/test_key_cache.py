"""KeyCache: JWKs become ``cryptography`` keys once, at fetch time; at most ``max_providers`` stores
are kept, the least recently used evicted, safely under threads and during a login."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from adapters.http_fetch.fetcher import FetchResponse, GuardedFetcher
from adapters.oidc.keys import KeyCache, SigningKey, signing_key, signing_keys
from domain.errors import ProviderUnavailable
from domain.sso.provider import IdentityProvider, ProviderSettings
from tests.unit.test_id_token_signatures import _ec_keys, _rsa_key, b64url, jwk_of

RSA_JWK = jwk_of(_rsa_key, kid="r1")
EC_JWKS = [jwk_of(key, kid=name) for name, key in _ec_keys.items()]


class CountingFetcher:
    """Answers every JWKS URL with the same document and counts the fetches per URL."""

    def __init__(self, document: Any, delay: float = 0.0) -> None:
        self.document, self.delay = document, delay
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    def get(self, url: str, headers: Any = None) -> FetchResponse:
        with self._lock:
            self.hits[url] += 1
        time.sleep(self.delay)
        return FetchResponse(200, {"content-type": "application/json"}, json.dumps(self.document).encode(), url)


def provider(number: int) -> IdentityProvider:
    base = f"https://idp{number}.example.test"
    settings = ProviderSettings(
        f"IdP {number}", "client", base, f"{base}/auth", f"{base}/token", f"{base}/jwks", f"{base}/userinfo"
    )
    return IdentityProvider(tenant_id=f"t{number}", settings=settings, sealed_client_secret="s", id=f"p{number}")


def cache(fetcher: CountingFetcher, max_providers: int = 1000) -> KeyCache:
    return KeyCache(cast(GuardedFetcher, fetcher), max_providers=max_providers)


# JWK -> key


def test_rsa_and_ec_jwks_become_public_keys_once_at_fetch_time():
    keys = cache(CountingFetcher({"keys": [RSA_JWK, *EC_JWKS]})).keys(provider(1))
    assert [(k.kty, k.kid) for k in keys] == [("RSA", "r1"), ("EC", "P-256"), ("EC", "P-384"), ("EC", "P-521")]
    assert isinstance(keys[0].public_key, rsa.RSAPublicKey)
    assert [k.public_key.curve.name for k in keys[1:] if isinstance(k.public_key, ec.EllipticCurvePublicKey)] == [
        "secp256r1",
        "secp384r1",
        "secp521r1",
    ]


def test_the_jwk_alg_and_a_missing_kid_are_kept():
    key = signing_key({k: v for k, v in RSA_JWK.items() if k != "kid"} | {"alg": "RS256", "use": "sig"})
    assert key is not None and (key.kid, key.alg) == ("", "RS256")


@pytest.mark.parametrize(
    "jwk",
    [
        {**RSA_JWK, "use": "enc"},
        {**RSA_JWK, "use": ["sig"]},
        {"kty": "oct", "k": "c2VjcmV0"},
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {**RSA_JWK, "kty": "rsa"},
        {"n": RSA_JWK["n"], "e": RSA_JWK["e"]},
    ],
    ids=["encryption key", "odd use", "symmetric", "okp", "lower-case kty", "no kty"],
)
def test_keys_that_are_not_rsa_or_ec_signature_keys_are_skipped(jwk):
    assert signing_key(jwk) is None


@pytest.mark.parametrize(
    "jwk",
    [
        {k: v for k, v in RSA_JWK.items() if k != "n"},
        {**RSA_JWK, "n": "not base64!"},
        {**RSA_JWK, "n": ""},
        {**RSA_JWK, "e": 65537},
        {**RSA_JWK, "kid": 7},
        {**EC_JWKS[0], "crv": "P-192"},
        {**EC_JWKS[0], "crv": ["P-256"]},
        {**EC_JWKS[0], "y": EC_JWKS[0]["x"]},
        {**EC_JWKS[0], "x": b64url(b"\xff" * 40)},
    ],
    ids=[
        "no n",
        "n not base64url",
        "n empty",
        "e a number",
        "kid a number",
        "unknown curve",
        "crv a list",
        "point off the curve",
        "x too large",
    ],  # fmt: skip
)
def test_a_signature_key_that_cannot_be_read_is_refused_by_itself(jwk):
    with pytest.raises(ValueError):
        signing_key(jwk)


def test_padded_jwk_values_are_read():
    key = signing_key({**RSA_JWK, "n": RSA_JWK["n"] + "=" * (-len(RSA_JWK["n"]) % 4)})
    assert isinstance(key, SigningKey)


def test_unreadable_keys_do_not_hide_the_good_ones():
    keys = signing_keys(["not a key", {**RSA_JWK, "n": "%%%"}, {**EC_JWKS[0], "crv": "P-192"}, EC_JWKS[1]])
    assert [k.kid for k in keys] == ["P-384"]


def test_a_jwks_of_only_unreadable_keys_says_so():
    with pytest.raises(ProviderUnavailable, match="the JWKS endpoint answered with keys that cannot be read"):
        signing_keys([{**RSA_JWK, "n": "%%%"}, {"kty": "oct", "k": "c2VjcmV0"}])


@pytest.mark.parametrize("jwks", [[], [{**RSA_JWK, "use": "enc"}], ["x", 1, None], [{"kty": "oct", "k": "eA"}]])
def test_a_jwks_without_signature_keys_says_so(jwks):
    with pytest.raises(ProviderUnavailable, match="the JWKS endpoint gave no signing keys"):
        signing_keys(jwks)


@pytest.mark.parametrize("document", [[RSA_JWK], {"keys": RSA_JWK}, {"jwks": [RSA_JWK]}])
def test_a_document_without_a_list_of_keys_is_refused(document):
    with pytest.raises(ProviderUnavailable, match="the JWKS endpoint answered without a list of keys"):
        cache(CountingFetcher(document)).keys(provider(1))


# The LRU


def test_the_least_recently_used_provider_is_evicted():
    fetcher = CountingFetcher({"keys": [RSA_JWK]})
    keys = cache(fetcher, max_providers=2)
    one, two, three = provider(1), provider(2), provider(3)
    keys.keys(one)
    keys.keys(two)
    keys.keys(one)  # one is now the most recently used
    keys.keys(three)  # evicts two
    assert keys.provider_count() == 2
    keys.keys(one)
    assert fetcher.hits[one.settings.jwks_uri] == 1  # still cached
    keys.keys(two)
    assert fetcher.hits[two.settings.jwks_uri] == 2  # fetched again: it had been evicted


def test_the_size_bound_holds_after_ten_thousand_providers():
    fetcher = CountingFetcher({"keys": [RSA_JWK, EC_JWKS[0]]})
    keys = cache(fetcher, max_providers=100)
    for number in range(10_000):
        keys.keys(provider(number))
    assert keys.provider_count() == 100
    assert keys.key_count() == 200
    assert sum(fetcher.hits.values()) == 10_000


def test_eviction_does_not_break_a_login_in_progress():
    fetcher = CountingFetcher({"keys": [RSA_JWK]})
    keys = cache(fetcher, max_providers=1)
    held = keys.keys(provider(1))  # a login has its keys...
    keys.keys(provider(2))  # ...when another provider's login evicts the store
    assert [k.kid for k in held] == ["r1"]  # the first login still verifies with them
    assert keys.refresh_for_unknown_kid(provider(1)) is None  # and its key-rotation path still works
    assert [k.kid for k in keys.keys(provider(1))] == ["r1"]
    assert keys.provider_count() == 1


def test_a_cache_without_room_is_refused():
    with pytest.raises(ValueError):
        cache(CountingFetcher({"keys": [RSA_JWK]}), max_providers=0)


def test_threads_sharing_the_cache_keep_the_bound_and_share_each_fetch():
    fetcher = CountingFetcher({"keys": [RSA_JWK]}, delay=0.001)
    keys = cache(fetcher, max_providers=20)
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def logins(offset: int) -> None:
        try:
            start.wait()
            for number in range(300):
                assert keys.keys(provider((number * 7 + offset) % 50))[0].kid == "r1"
                assert keys.keys(provider(1000))[0].kid == "r1"  # one provider every thread uses
        except BaseException as exc:  # reported below, a thread's exception would be lost
            errors.append(exc)

    threads = [threading.Thread(target=logins, args=(offset,)) for offset in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert keys.provider_count() <= 20
    assert keys.key_count() <= 20
    assert fetcher.hits[provider(1000).settings.jwks_uri] == 1  # used by all, never evicted, fetched once


class FailingFetcher(CountingFetcher):
    """The JWKS answers 503, after ``delay`` seconds."""

    def get(self, url: str, headers: Any = None) -> FetchResponse:
        super().get(url, headers)
        return FetchResponse(503, {}, b"", url)


def test_requests_queued_behind_a_failing_fetch_of_keys_never_read_share_its_failure():
    """A provider whose keys hang: the requests waiting for the one fetch are answered by it, not
    each sent again in turn (a pile-up of timeouts); a request after it tries again."""
    fetcher = FailingFetcher({}, delay=0.2)
    keys = cache(fetcher)
    failures: list[BaseException] = []
    start = threading.Barrier(5)

    def sign_in() -> None:
        start.wait()
        try:
            keys.keys(provider(1))
        except ProviderUnavailable as failure:
            failures.append(failure)

    threads = [threading.Thread(target=sign_in) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(failures) == 5 and all("JWKS" in str(f) or "503" in str(f) for f in failures)
    assert fetcher.hits[provider(1).settings.jwks_uri] == 1
    with pytest.raises(ProviderUnavailable):
        keys.keys(provider(1))
    assert fetcher.hits[provider(1).settings.jwks_uri] == 2
