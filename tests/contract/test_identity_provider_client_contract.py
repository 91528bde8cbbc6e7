"""What every IdentityProviderClient promises (the fake included).

The real one is PyoidcClient over real HTTP against the loopback OpenID Provider; the fake is
told what its provider would say. A provider that misbehaves in a way the fake can be told
about gets no identity through: the answer is ProviderUnavailable or IdentityRejected.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from adapters.http_fetch.fetcher import FetchPolicy, GuardedFetcher
from adapters.oidc.client import PyoidcClient
from adapters.oidc.keys import KeyCache
from domain.errors import DomainError, IdentityRejected, ProviderUnavailable
from domain.ports import IdentityProviderClient
from domain.sso.checks import PROVIDER_STEPS, Diagnosis, Status
from domain.sso.identity import VerifiedIdentity
from domain.sso.pending import pkce_challenge
from domain.sso.redemption import CodeRedemption
from domain.sso.provider import DiscoveredConfiguration, IdentityProvider, ProviderSettings
from tests.fakes import FakeIdentityProviderClient
from tests.loopback_op.provider import LoopbackProvider

CLIENT_ID, CLIENT_SECRET = "practice-portal", "client-secret-at-the-provider"
REDIRECT_URI = "http://acme.portal.test/process_sso"
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")
ANN = {"email": "ann@home.example", "email_verified": True, "given_name": "Ann", "family_name": "Smith"}

# Each way of misbehaving (a LoopbackProvider switch), and what the client must make of it.
HOSTILE: dict[str, type[DomainError]] = {
    "fail_token_endpoint": ProviderUnavailable,
    "jwks_unreachable": ProviderUnavailable,
    "tamper_id_token_signature": IdentityRejected,
    "sign_id_token_with_alg_none": IdentityRejected,
    "sign_id_token_hs256_with_public_key": IdentityRejected,
    "wrong_id_token_issuer": IdentityRejected,
    "wrong_id_token_audience": IdentityRejected,
    "expire_id_token": IdentityRejected,
    "wrong_id_token_nonce": IdentityRejected,
    "userinfo_sub_mismatch": IdentityRejected,
}


class Provider(Protocol):
    """A provider as the suite drives it: its issuer, the client under test, its user."""

    @property
    def issuer(self) -> str: ...

    @property
    def client(self) -> IdentityProviderClient: ...

    def user_signs_in(self, authorization_url: str, subject: str, **claims: Any) -> str:
        """The provider's user signs in at ``authorization_url``; returns the code issued."""

    def misbehaves(self, switch: str) -> None:
        """From now on the provider misbehaves the way the HOSTILE ``switch`` says."""


class AtLoopback:
    """PyoidcClient, as the app builds it, against the loopback OpenID Provider."""

    def __init__(self, op: LoopbackProvider) -> None:
        op.reset()
        op.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
        self.op, self.issuer = op, op.issuer
        fetcher = GuardedFetcher(FetchPolicy(development=True, timeout=2))
        self.client = PyoidcClient(fetcher, KeyCache(fetcher))

    def user_signs_in(self, authorization_url: str, subject: str, **claims: Any) -> str:
        self.op.login_as(subject, **claims)
        answer = requests.get(authorization_url, allow_redirects=False, timeout=5)
        assert answer.status_code == 303, answer.text
        return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]

    def misbehaves(self, switch: str) -> None:
        getattr(self.op, switch)()


class Told:
    """The fake, told what its provider says."""

    issuer = "https://login.contoso.test"

    def __init__(self) -> None:
        self.client = FakeIdentityProviderClient()
        self.client.documents[self.issuer] = DiscoveredConfiguration(
            self.issuer,
            f"{self.issuer}/authorize",
            f"{self.issuer}/token",
            f"{self.issuer}/jwks",
            f"{self.issuer}/userinfo",
            ("client_secret_basic",),
        )

    def user_signs_in(self, authorization_url: str, subject: str, **claims: Any) -> str:
        self.client.identity = VerifiedIdentity(self.issuer, subject, {"sub": subject, **claims})
        return "code-the-provider-issued"

    def misbehaves(self, switch: str) -> None:
        self.client.failure = HOSTILE[switch](f"the provider misbehaves: {switch}")


@pytest.fixture(scope="module")
def loopback() -> Iterator[LoopbackProvider]:
    with LoopbackProvider() as op:
        yield op


@pytest.fixture(params=["fake", "pyoidc"])
def idp(request: pytest.FixtureRequest) -> Provider:
    return Told() if request.param == "fake" else AtLoopback(request.getfixturevalue("loopback"))


def configured(idp: Provider, protocol: str = "oidc") -> IdentityProvider:
    """The provider as an admin saves it after discovery."""
    found = idp.client.discover(idp.issuer)
    settings = ProviderSettings(
        display_name="Contoso ID",
        client_id=CLIENT_ID,
        issuer=found.issuer,
        **{name: getattr(found, name) for name in ENDPOINTS},
        token_endpoint_auth_method=found.preferred_auth_method,
        protocol=protocol,
    )
    return IdentityProvider(tenant_id="t-acme", settings=settings, sealed_client_secret="sealed")


def sign_in(idp: Provider, provider: IdentityProvider) -> VerifiedIdentity:
    """The whole round trip, as the sign-in use case makes it: state, nonce, PKCE, code."""
    state, nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url = idp.client.authorization_url(provider, REDIRECT_URI, state, nonce, pkce_challenge(verifier))
    code = idp.user_signs_in(url, "ann-sub", **ANN)
    return idp.client.redeem(provider, CodeRedemption(code, CLIENT_SECRET, verifier, REDIRECT_URI, nonce))


def test_discovery_gives_the_issuer_and_its_endpoints(idp: Provider) -> None:
    found = idp.client.discover(idp.issuer)
    assert found.issuer == idp.issuer
    assert all(getattr(found, name).startswith(idp.issuer + "/") for name in ENDPOINTS)
    assert found.preferred_auth_method == "client_secret_basic"


def test_an_issuer_without_a_discovery_document_is_unavailable(idp: Provider) -> None:
    with pytest.raises(ProviderUnavailable):
        idp.client.discover(idp.issuer + "/nowhere")


def test_the_authorization_url_carries_state_nonce_and_an_s256_challenge(idp: Provider) -> None:
    provider = configured(idp)
    url = idp.client.authorization_url(provider, REDIRECT_URI, "the-state", "the-nonce", "the-challenge")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == provider.settings.authorization_endpoint
    assert {name: values for name, values in parse_qs(parts.query).items() if name != "scope"} == {
        "response_type": ["code"],
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT_URI],
        "state": ["the-state"],
        "nonce": ["the-nonce"],
        "code_challenge": ["the-challenge"],
        "code_challenge_method": ["S256"],
    }


def test_a_plain_oauth2_provider_is_asked_without_a_nonce(idp: Provider) -> None:
    oauth2 = configured(idp, "oauth2")
    url = idp.client.authorization_url(oauth2, REDIRECT_URI, "the-state", "the-nonce", "the-challenge")
    query = parse_qs(urlsplit(url).query)
    assert "nonce" not in query
    assert (query["state"], query["code_challenge"], query["code_challenge_method"]) == (
        ["the-state"],
        ["the-challenge"],
        ["S256"],
    )


def test_a_good_code_is_redeemed_for_the_verified_identity(idp: Provider) -> None:
    identity = sign_in(idp, configured(idp))
    assert (identity.issuer, identity.subject) == (idp.issuer, "ann-sub")
    assert {name: identity.claims[name] for name in ANN} == ANN


@pytest.mark.parametrize("switch", HOSTILE)
def test_a_misbehaving_provider_gets_no_identity_through(idp: Provider, switch: str) -> None:
    provider = configured(idp)
    idp.misbehaves(switch)
    with pytest.raises(HOSTILE[switch]):
        sign_in(idp, provider)


def diagnosed(idp: Provider, provider: IdentityProvider) -> Diagnosis:
    """The same round trip, the code diagnosed as an admin's test sign-in does."""
    state, nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url = idp.client.authorization_url(provider, REDIRECT_URI, state, nonce, pkce_challenge(verifier))
    code = idp.user_signs_in(url, "ann-sub", **ANN)
    return idp.client.diagnose(provider, CodeRedemption(code, CLIENT_SECRET, verifier, REDIRECT_URI, nonce))


def test_a_diagnosis_of_a_good_code_passes_every_step_with_the_identity_redeem_gives(idp: Provider) -> None:
    diagnosis = diagnosed(idp, configured(idp))
    assert [check.step for check in diagnosis.checks] == list(PROVIDER_STEPS)
    assert all(check.status is Status.PASSED for check in diagnosis.checks)
    assert diagnosis.identity is not None and (diagnosis.identity.issuer, diagnosis.identity.subject) == (
        idp.issuer,
        "ann-sub",
    )


@pytest.mark.parametrize("switch", HOSTILE)
def test_a_diagnosis_of_a_misbehaving_provider_names_a_failed_step_and_gives_no_identity(
    idp: Provider, switch: str
) -> None:
    provider = configured(idp)
    idp.misbehaves(switch)
    diagnosis = diagnosed(idp, provider)
    assert not diagnosis.passed and diagnosis.identity is None
    assert any(check.status is Status.FAILED and check.explanation for check in diagnosis.checks)
