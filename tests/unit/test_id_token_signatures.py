"""The ID-token verifier: every allowed algorithm family verifies with keys made by ``cryptography``,
and every tampered, foreign or broken token is refused with the message the admin and the tests read."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from adapters.oidc.id_token import ES_CURVES, HASHES, UnknownSigningKey, verified_claims
from adapters.oidc.keys import SigningKey, base64url_decode, signing_key
from domain.errors import IdentityRejected
from domain.sso.provider import IdentityProvider, ProviderSettings

ISSUER, CLIENT_ID, NONCE = "https://login.example.test", "portal-client", "the-nonce-of-this-sign-in"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
CURVE_NAMES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
_ec_keys = {name: ec.generate_private_key(curve) for name, curve in CURVES.items()}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def private_key_for(algorithm: str) -> PrivateKey:
    return _rsa_key if algorithm[:2] in ("RS", "PS") else _ec_keys[CURVE_NAMES[algorithm]]


def jwk_of(key: PrivateKey, kid: str = "k1", **extra: str) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    if isinstance(numbers, rsa.RSAPublicNumbers):
        n, e = (i.to_bytes((i.bit_length() + 7) // 8, "big") for i in (numbers.n, numbers.e))
        return {"kty": "RSA", "kid": kid, "n": b64url(n), "e": b64url(e), **extra}
    size = (numbers.curve.key_size + 7) // 8
    crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[numbers.curve.name]
    x, y = numbers.x.to_bytes(size, "big"), numbers.y.to_bytes(size, "big")
    return {"kty": "EC", "kid": kid, "crv": crv, "x": b64url(x), "y": b64url(y), **extra}


def key_of(private_key: PrivateKey, kid: str = "k1", **extra: str) -> SigningKey:
    key = signing_key(jwk_of(private_key, kid, **extra))
    assert key is not None
    return key


def signature(algorithm: str, key: PrivateKey, signing_input: bytes) -> bytes:
    digest = HASHES[algorithm[2:]]
    if isinstance(key, rsa.RSAPrivateKey):
        if algorithm.startswith("RS"):
            return key.sign(signing_input, padding.PKCS1v15(), digest)
        return key.sign(signing_input, padding.PSS(padding.MGF1(digest), digest.digest_size), digest)
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(digest)))
    size = ES_CURVES[algorithm][1]
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": CLIENT_ID, "sub": "user-1", "nonce": NONCE, "iat": now, "exp": now + 300, **changes}


def token(algorithm: str = "RS256", key: PrivateKey | None = None, payload: bytes | None = None, **header: Any) -> str:
    key = key or private_key_for(algorithm)
    head = b64url(json.dumps({"alg": algorithm, "kid": "k1", **header}).encode())
    body = b64url(json.dumps(claims()).encode() if payload is None else payload)
    return f"{head}.{body}.{b64url(signature(algorithm, key, f'{head}.{body}'.encode()))}"


def provider() -> IdentityProvider:
    """Made per test: once the contract tests map the entities, one made at import would not do."""
    settings = ProviderSettings(
        "Example", CLIENT_ID, ISSUER, f"{ISSUER}/auth", f"{ISSUER}/token", f"{ISSUER}/jwks", f"{ISSUER}/userinfo"
    )
    return IdentityProvider(tenant_id="t1", settings=settings, sealed_client_secret="sealed")


def verify(raw: str, keys: list[SigningKey] | None = None) -> dict[str, Any]:
    return verified_claims(raw, [key_of(_rsa_key)] if keys is None else keys, provider(), NONCE, time.time())


def refused(raw: str, keys: list[SigningKey] | None = None) -> str:
    with pytest.raises(IdentityRejected) as refusal:
        verify(raw, keys)
    return refusal.value.reason


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_allowed_algorithm_verifies_a_token_signed_with_it(algorithm):
    key = key_of(private_key_for(algorithm))
    assert verify(token(algorithm), [key])["sub"] == "user-1"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_jwk_bound_to_the_algorithm_verifies_and_one_bound_to_another_does_not(algorithm):
    private_key = private_key_for(algorithm)
    assert verify(token(algorithm), [key_of(private_key, alg=algorithm)])["sub"] == "user-1"
    other = {"RS": "PS", "PS": "RS", "ES": "ES"}[algorithm[:2]] + ("384" if algorithm.endswith("256") else "256")
    assert "signature is not valid" in refused(token(algorithm), [key_of(private_key, alg=other)])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_tampered_payload_is_refused(algorithm):
    head, _, sig = token(algorithm).split(".")
    forged = b64url(json.dumps(claims(sub="admin")).encode())
    assert "signature is not valid" in refused(f"{head}.{forged}.{sig}", [key_of(private_key_for(algorithm))])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_tampered_signature_is_refused(algorithm):
    head, body, sig = token(algorithm).split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=="))
    raw[len(raw) // 2] ^= 0x01
    assert "signature is not valid" in refused(
        f"{head}.{body}.{b64url(bytes(raw))}", [key_of(private_key_for(algorithm))]
    )


def test_a_tampered_header_is_refused():
    _, body, sig = token("RS256").split(".")
    head = b64url(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
    assert "signature is not valid" in refused(f"{head}.{body}.{sig}")


def test_an_empty_signature_is_refused():
    head, body, _ = token("RS256").split(".")
    assert "signature is not valid" in refused(f"{head}.{body}.")


def test_a_pss_signature_with_another_salt_length_is_refused():
    head = b64url(json.dumps({"alg": "PS256", "kid": "k1"}).encode())
    body = b64url(json.dumps(claims()).encode())
    sig = _rsa_key.sign(f"{head}.{body}".encode(), padding.PSS(padding.MGF1(hashes.SHA256()), 0), hashes.SHA256())
    assert "signature is not valid" in refused(f"{head}.{body}.{b64url(sig)}")


def test_an_es_signature_in_der_form_is_refused():
    key = _ec_keys["P-256"]
    head = b64url(json.dumps({"alg": "ES256", "kid": "k1"}).encode())
    body = b64url(json.dumps(claims()).encode())
    der = key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    assert "signature is not valid" in refused(f"{head}.{body}.{b64url(der)}", [key_of(key)])


def test_an_es_token_is_refused_with_a_key_on_another_curve_under_its_kid():
    assert "signature is not valid" in refused(token("ES256"), [key_of(_ec_keys["P-384"])])


@pytest.mark.parametrize("alg", ["none", "HS256", "HS512", "RS1", "rs256", None, ["RS256"], {"a": 1}, 256])
def test_an_algorithm_outside_the_list_is_refused_by_name(alg):
    head = b64url(json.dumps({"alg": alg, "kid": "k1"} if alg is not None else {"kid": "k1"}).encode())
    body = b64url(json.dumps(claims()).encode())
    assert (
        refused(f"{head}.{body}.{b64url(b'x' * 32)}") == f"the ID token is signed with {alg!r}, which is not accepted"
    )


def test_hs256_signed_with_the_public_key_is_refused():
    import hmac

    head = b64url(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
    body = b64url(json.dumps(claims()).encode())
    secret = json.dumps(jwk_of(_rsa_key)).encode()
    sig = hmac.new(secret, f"{head}.{body}".encode(), "sha256").digest()
    assert "signed with 'HS256'" in refused(f"{head}.{body}.{b64url(sig)}")


@pytest.mark.parametrize(
    "algorithm, keys",
    [
        ("RS256", lambda: [key_of(_ec_keys["P-256"])]),
        ("PS256", lambda: [key_of(_ec_keys["P-256"])]),
        ("ES256", lambda: [key_of(_rsa_key)]),
    ],
    ids=["RS with an EC key", "PS with an EC key", "ES with an RSA key"],
)
def test_a_key_of_another_type_is_no_candidate(algorithm, keys):
    with pytest.raises(UnknownSigningKey):
        verify(token(algorithm), keys())


def test_an_unknown_kid_asks_for_a_refresh():
    with pytest.raises(UnknownSigningKey):
        verify(token("RS256", kid="rotated"))


def test_the_key_named_by_kid_is_the_one_used():
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = [key_of(other, kid="k0"), key_of(_rsa_key, kid="k1")]
    assert verify(token("RS256"), keys)["sub"] == "user-1"
    keys = [key_of(other, kid="k1"), key_of(_rsa_key, kid="k2")]  # the wrong key under the token's kid
    assert "signature is not valid" in refused(token("RS256"), keys)


def test_without_a_kid_every_key_of_the_type_is_tried():
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    head = b64url(json.dumps({"alg": "RS256"}).encode())
    body = b64url(json.dumps(claims()).encode())
    raw = f"{head}.{body}.{b64url(signature('RS256', _rsa_key, f'{head}.{body}'.encode()))}"
    assert verify(raw, [key_of(other, kid="a"), key_of(_ec_keys["P-256"], kid="b"), key_of(_rsa_key, kid="c")])


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "=",  # padding
        lambda t: t.replace(".", "=.", 1),
        lambda t: t.replace("-", "+").replace("_", "/") if ("-" in t or "_" in t) else "+" + t,
        lambda t: " " + t,
        lambda t: t + "\n",
        lambda t: "é" + t,
        lambda t: t.split(".")[0] + "A." + ".".join(t.split(".")[1:]),  # a length no base64 has
        lambda t: t + ".",
        lambda t: ".".join(t.split(".")[:2]),
        lambda t: "",
        lambda t: "..",
    ],
    ids=[
        "padded",
        "padded header",
        "base64 alphabet",
        "space",
        "newline",
        "non-ascii",
        "bad length",
        "four parts",
        "two parts",
        "empty",
        "empty parts",
    ],  # fmt: skip
)
def test_input_that_is_not_a_compact_jws_is_refused_cleanly(mangle):
    assert refused(mangle(token("RS256"))) == "the ID token is not a signed JWT"


def test_a_non_canonical_base64url_spelling_is_refused():
    head, body, sig = token("RS256").split(".")
    assert len(sig) % 4 in (2, 3)  # the last character has unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    respelled = sig[:-1] + alphabet[alphabet.index(sig[-1]) ^ 1]  # same bytes, other unused bit
    assert base64.urlsafe_b64decode(respelled + "==") == base64.urlsafe_b64decode(sig + "==")
    assert refused(f"{head}.{body}.{respelled}") == "the ID token is not a signed JWT"


@pytest.mark.parametrize("header", [b"[1]", b'"RS256"', b"not json", b"\xff\xfe", b"[" * 100_000])
def test_a_header_that_is_not_a_json_object_is_refused(header):
    _, body, sig = token("RS256").split(".")
    assert refused(f"{b64url(header)}.{body}.{sig}") == "the ID token is not a signed JWT"


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"claims"', b"42", b"null", b"not json", b'{"a": 1'])
def test_signed_claims_that_are_not_a_json_object_are_refused(payload):
    assert refused(token("RS256", payload=payload)) == "the ID token carries no claims"


@pytest.mark.parametrize("payload", [b"\xff\xfe{}", b"[" * 100_000 + b"]" * 100_000], ids=["not utf-8", "deep"])
def test_signed_claims_that_cannot_be_read_are_refused(payload):
    assert refused(token("RS256", payload=payload)) == "the ID token cannot be verified"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e400", "true", '"soon"'])
def test_an_expiry_that_is_no_moment_is_refused(value):
    body = json.dumps(claims(exp="EXP")).replace('"EXP"', value).encode()
    assert refused(token("RS256", payload=body)) == "the ID token has no expiry (exp)"


def test_a_nonce_with_a_lone_surrogate_is_refused_not_an_error():
    body = json.dumps(claims(nonce="NONCE")).replace('"NONCE"', '"\\ud800"').encode()
    assert refused(token("RS256", payload=body)) == "the ID token's nonce does not belong to this sign-in"


def test_the_claims_checks_still_follow_the_signature():
    assert "issuer is" in refused(token("RS256", payload=json.dumps(claims(iss="https://evil.test")).encode()))
    assert refused(token("RS256", payload=json.dumps(claims(exp=1)).encode())) == "the ID token has expired"


@pytest.mark.parametrize("algorithm", ["RS256", "PS256", "PS512", "ES256"])
def test_tokens_signed_by_jwkest_verify_as_before(algorithm):
    """jwkest verified ID tokens until now; what it signs is what providers send."""
    from cryptography.hazmat.primitives import serialization
    from jwkest.jwk import ECKey, RSAKey, import_rsa_key
    from jwkest.jws import JWS

    if algorithm == "ES256":
        private_key: PrivateKey = _ec_keys["P-256"]
        jwk = {
            **jwk_of(private_key),
            "d": b64url(_ec_keys["P-256"].private_numbers().private_value.to_bytes(32, "big")),
        }
        signer = ECKey(**jwk)
        signer.deserialize()
    else:
        private_key = _rsa_key
        pem = _rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        signer = RSAKey(key=import_rsa_key(pem), kid="k1")
    raw = JWS(json.dumps(claims()), alg=algorithm).sign_compact([signer])
    assert verify(raw, [key_of(private_key)])["nonce"] == NONCE


@given(st.binary(max_size=200))
def test_base64url_decodes_what_it_encodes(data):
    assert base64url_decode(b64url(data)) == data


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .", max_size=12))
def test_base64url_accepts_exactly_the_canonical_spellings(text):
    try:
        decoded = base64url_decode(text)
    except ValueError:
        decoded = None
    canonical = not set(text) & set("=+/ .") and len(text) % 4 != 1
    canonical = canonical and b64url(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))) == text
    assert (decoded is not None) == canonical


def test_a_token_with_critical_header_extensions_is_refused_even_when_its_signature_is_good():
    assert "(crit)" in refused(token(crit=["exp"], exp=1))
