"""Redirects, answers and error messages of GuardedFetcher (adapters.http_fetch.fetcher),
against a real server on loopback.
"""

from __future__ import annotations

import socket

import pytest

from adapters.http_fetch.fetcher import FetchFailed, FetchResponse
from domain.errors import UnsafeUrl
from tests.integration.http_fetch.harness import SECRET, Recorder, dev


# -- redirects -----------------------------------------------------------------------------------


def test_redirects_are_followed_for_get_and_the_final_url_is_reported(port: int) -> None:
    answer = dev().get(f"http://127.0.0.1:{port}/redirect?to=/json")
    assert answer.status == 200
    assert answer.url == f"http://127.0.0.1:{port}/json"


def test_redirect_to_a_private_address_is_refused(port: int, connections: list[str]) -> None:
    with pytest.raises(UnsafeUrl) as refused:
        dev().get(f"http://127.0.0.1:{port}/redirect?to=http://10.0.0.5/")
    assert refused.value.url == "http://10.0.0.5/"
    assert "10.0.0.5 is a private address" in refused.value.reason
    assert set(connections) == {"127.0.0.1"}


def test_more_redirects_than_allowed_fail(port: int, seen: Recorder) -> None:
    with pytest.raises(FetchFailed) as failed:
        dev(max_redirects=3).get(f"http://127.0.0.1:{port}/loop")
    assert failed.value.message == "too many redirects"
    assert seen.paths() == ["GET /loop"] * 4


def test_a_post_is_never_redirected(port: int, seen: Recorder) -> None:
    answer = dev().post(f"http://127.0.0.1:{port}/post-redirect", {"code": "abc"})
    assert answer.status == 303
    assert answer.headers["location"] == "/json"
    assert seen.paths() == ["POST /post-redirect"]


def test_credentials_go_only_to_the_origin_they_were_given_for(port: int, seen: Recorder) -> None:
    dev().get(f"http://127.0.0.1:{port}/redirect?to=/json", headers={"Authorization": SECRET})
    dev().get(
        f"http://127.0.0.1:{port}/redirect?to=http://localhost:{port}/json",
        headers={"Authorization": SECRET},
    )
    authorizations = [s.headers.get("authorization") for s in seen.requests]
    assert authorizations == [SECRET, SECRET, SECRET, None]


# -- answers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/text", "/scalar"])
def test_an_answer_that_is_not_a_json_object_or_array_fails(port: int, path: str) -> None:
    answer = dev().get(f"http://127.0.0.1:{port}{path}")
    with pytest.raises(FetchFailed) as failed:
        answer.json()
    assert failed.value.message == "the answer is not valid JSON"


def test_non_2xx_answers_are_returned_and_require_ok_names_the_status(port: int) -> None:
    answer = dev().get(f"http://127.0.0.1:{port}/status/404")
    assert answer.status == 404 and answer.body == b"nope"
    with pytest.raises(FetchFailed) as failed:
        answer.require_ok("the token endpoint")
    assert failed.value.message == "the token endpoint answered HTTP 404"
    ok = FetchResponse(status=200, headers={}, body=b"[]", url="https://x/")
    assert ok.require_ok("the provider") is ok


def test_a_url_with_characters_outside_ascii_is_sent_percent_encoded(port: int, seen: Recorder) -> None:
    assert dev().get(f"http://127.0.0.1:{port}/json?name=Zoë").status == 200
    assert seen.requests[0].query == "name=Zo%C3%AB"


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer €"}, {"Bad Name": "x"}, {"X-Nul": "a\x00b"}])
def test_a_header_http_cannot_carry_fails_before_anything_is_sent(
    port: int, seen: Recorder, headers: dict[str, str]
) -> None:
    with pytest.raises(FetchFailed) as failed:
        dev().get(f"http://127.0.0.1:{port}/json", headers)
    assert failed.value.message == "the request could not be sent: a header is not valid"
    assert seen.requests == []


def test_the_defaults_ask_for_an_uncompressed_answer_and_the_caller_may_add_to_them(port: int, seen: Recorder) -> None:
    dev().post(f"http://127.0.0.1:{port}/token", {"code": "a b"}, {"accept": "application/json"})
    headers = seen.requests[0].headers
    assert headers["accept-encoding"] == "identity"
    assert headers["accept"] == "application/json"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["host"] == f"127.0.0.1:{port}"


def test_a_closed_port_fails_with_a_short_reason() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(FetchFailed) as failed:
        dev().get(f"http://127.0.0.1:{closed_port}/")
    assert failed.value.message == "could not connect: connection refused"


# -- no state between calls, no secrets in messages ----------------------------------------------


def test_cookies_are_never_replayed(port: int, seen: Recorder) -> None:
    fetcher = dev()
    fetcher.get(f"http://127.0.0.1:{port}/set-cookie")
    fetcher.get(f"http://127.0.0.1:{port}/json")
    fetcher.get(f"http://127.0.0.1:{port}/set-cookie?next=/json")  # not even across a redirect
    assert [s.headers.get("cookie") for s in seen.requests] == [None, None, None, None]


def test_error_messages_never_contain_the_authorization_header(port: int) -> None:
    headers = {"Authorization": SECRET}
    base = f"http://127.0.0.1:{port}"
    failures: list[Exception] = []
    for attempt in (
        lambda: dev().get(f"{base}/status/404", headers).require_ok("the provider"),
        lambda: dev(timeout=0.3).get(f"{base}/sleep", headers),
        lambda: dev(max_bytes=1024).get(f"{base}/big", headers),
        lambda: dev().get(f"{base}/text", headers).json(),
        lambda: dev().get(f"{base}/redirect?to=http://10.0.0.5/", headers),
        lambda: dev().post(f"{base}/nowhere", {"client_secret": SECRET}, headers).require_ok("x"),
        lambda: dev().get(f"{base}/json", {"Authorization": SECRET + "\r\nX-Injected: 1"}),
    ):
        with pytest.raises((FetchFailed, UnsafeUrl)) as raised:
            attempt()
        failures.append(raised.value)
    for failure in failures:
        assert "s3cr3t" not in str(failure)
        assert "s3cr3t" not in getattr(failure, "message", "")
