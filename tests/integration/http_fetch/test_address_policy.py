"""Which addresses the fetcher may reach (adapters.http_fetch.address_policy).

Refused URLs are never contacted: the package's conftest fails any test in which the fetcher
connects anywhere but loopback.
"""

from __future__ import annotations

import pytest

from domain.errors import UnsafeUrl
from domain.text import MAX_URL_LENGTH
from tests.integration.http_fetch.harness import PUBLIC_V4, dev, prod, stub_dns


# -- which addresses are refused -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.0.0.5/", "10.0.0.5 is a private address"),
        ("https://172.16.3.4/", "is a private address"),
        ("https://192.168.1.1/", "is a private address"),
        ("https://[fd12:3456::1]/", "is a private address"),
        ("https://169.254.169.254/latest/meta-data", "is a cloud metadata address"),
        ("https://[fd00:ec2::254]/", "is a cloud metadata address"),
        ("https://100.100.100.200/", "is a cloud metadata address"),
        ("https://169.254.1.1/", "is a link-local address"),
        ("https://[fe80::1]/", "is a link-local address"),
        ("https://127.0.0.1/", "is a loopback address"),
        ("https://[::1]/", "is a loopback address"),
        ("https://[::ffff:127.0.0.1]/", "is a loopback address"),
        ("https://[2002:7f00:1::]/", "is a loopback address"),  # 6to4 of 127.0.0.1
        ("https://[64:ff9b::a00:5]/", "is a private address"),  # NAT64 of 10.0.0.5
        ("https://100.64.0.1/", "is a private address"),  # carrier-grade NAT
        ("https://0.0.0.0/", "is an unspecified address"),
        ("https://[::]/", "is an unspecified address"),
        ("https://224.0.0.1/", "is a multicast address"),
        ("https://[ff02::1]/", "is a multicast address"),
        ("https://240.0.0.1/", "is a reserved address"),
        ("https://192.0.2.10/", "is a reserved address"),
        ("https://2130706433/", "resolves to 127.0.0.1, a loopback address"),  # decimal form
    ],
)
def test_internal_addresses_are_refused_and_never_contacted(url: str, reason: str, connections: list[str]) -> None:
    fetcher = prod()
    with pytest.raises(UnsafeUrl) as refused:
        fetcher.check(url)
    assert reason in refused.value.reason
    with pytest.raises(UnsafeUrl):
        fetcher.get(url)
    with pytest.raises(UnsafeUrl):
        fetcher.post(url, {"a": "b"})
    assert connections == []


def test_public_addresses_pass_the_check() -> None:
    fetcher = prod()
    fetcher.check(f"https://{PUBLIC_V4}/.well-known/openid-configuration")
    fetcher.check("https://[2606:2800:220:1::1]/")
    prod(resolve=stub_dns({"idp.example": [PUBLIC_V4]})).check("https://IdP.Example./x")


def test_private_address_is_refused_unless_the_operator_allows_the_host() -> None:
    dns = stub_dns({"keycloak.internal": ["10.0.0.7"]})
    with pytest.raises(UnsafeUrl, match="keycloak.internal resolves to 10.0.0.7, a private"):
        prod(resolve=dns).check("https://keycloak.internal/realms/x")
    with pytest.raises(UnsafeUrl, match="10.0.0.5 is a private address"):
        prod().check("https://10.0.0.5/")

    allowed = frozenset({"Keycloak.Internal", "10.0.0.5", "[FD00::1]"})
    allowing = prod(allowed_private_hosts=allowed, resolve=dns)
    allowing.check("https://KEYCLOAK.internal/realms/x")
    allowing.check("https://10.0.0.5/")
    allowing.check("https://[fd00:0::1]/")
    with pytest.raises(UnsafeUrl, match="10.0.0.6 is a private address"):
        allowing.check("https://10.0.0.6/")


def test_an_allowance_never_opens_metadata_or_link_local_addresses() -> None:
    dns = stub_dns({"idp.internal": ["169.254.169.254"]})
    allowed = frozenset({"idp.internal", "169.254.169.254"})
    allowing = prod(allowed_private_hosts=allowed, resolve=dns)
    with pytest.raises(UnsafeUrl, match="cloud metadata"):
        allowing.check("https://169.254.169.254/")
    with pytest.raises(UnsafeUrl, match="cloud metadata"):
        allowing.check("https://idp.internal/")


def test_a_host_with_any_internal_answer_is_refused() -> None:
    dns = stub_dns({"mixed.example": [PUBLIC_V4, "2606:2800:220:1::1", "fd00::5"]})
    with pytest.raises(UnsafeUrl, match="mixed.example resolves to fd00::5, a private address"):
        prod(resolve=dns).check("https://mixed.example/")


def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UnsafeUrl) as refused:
        prod().check("https://no-such-provider.invalid/.well-known/openid-configuration")
    assert refused.value.reason == "the host name does not resolve"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("not a url", "spaces"),
        ("https:///path-only", "no host name"),
        ("https://[::1/", "not well formed"),
        ("https://example.com:port/", "not well formed"),
        ("ftp://example.com/", "only https"),
        ("javascript:alert(1)", "only https"),
        ("https://exa_mple..com/", "not well formed"),
        ("https://example.com\\@10.0.0.5/", "user name or password"),
    ],
)
def test_malformed_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl) as refused:
        prod().check(url)
    assert reason in refused.value.reason


def test_userinfo_in_the_url_is_refused_and_the_password_is_not_repeated() -> None:
    with pytest.raises(UnsafeUrl) as refused:
        prod().check(f"https://admin:hunter2@{PUBLIC_V4}/")
    assert "user name or password" in refused.value.reason
    assert "hunter2" not in str(refused.value)


# -- development and plain http ------------------------------------------------------------------


def test_plain_http_is_refused_for_public_hosts_even_in_development() -> None:
    dns = stub_dns({"idp.example": [PUBLIC_V4]})
    with pytest.raises(UnsafeUrl, match="plain http is not allowed"):
        prod(resolve=dns).check("http://idp.example/")
    with pytest.raises(UnsafeUrl, match="only allowed for loopback"):
        dev(resolve=dns).check("http://idp.example/")


def test_loopback_over_plain_http_works_in_development_and_is_refused_otherwise(
    port: int, connections: list[str]
) -> None:
    url = f"http://127.0.0.1:{port}/json"
    answer = dev().get(url)
    assert answer.status == 200 and answer.json() == {"ok": True}
    assert answer.headers["content-type"] == "application/json"

    connections.clear()
    with pytest.raises(UnsafeUrl):
        prod().get(url)
    with pytest.raises(UnsafeUrl, match="loopback"):
        prod().get(f"https://127.0.0.1:{port}/json")
    assert connections == []


def test_localhost_names_are_loopback_without_asking_dns(port: int) -> None:
    def no_dns(host: str) -> list[str]:
        raise AssertionError(f"asked DNS for {host}")

    answer = dev(resolve=no_dns).get(f"http://demo.localhost:{port}/json")
    assert answer.json() == {"ok": True}
    with pytest.raises(UnsafeUrl, match="loopback"):
        prod(resolve=no_dns).check("https://demo.localhost/")


def test_a_url_longer_than_the_one_url_limit_is_never_fetched(connections: list[str]) -> None:
    fetcher = dev()
    with pytest.raises(UnsafeUrl) as refused:
        fetcher.check("http://127.0.0.1/" + "x" * MAX_URL_LENGTH)
    assert f"longer than {MAX_URL_LENGTH} characters" in refused.value.reason
    assert connections == []
