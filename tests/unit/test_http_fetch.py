"""The SSRF guard and limits of adapters.http_fetch.

These tests talk to a real HTTP server on 127.0.0.1 (the adapter's own test, so real sockets
are the point). Every connection the adapter opens goes through a spy that fails the test if
it is not to a loopback address: refused URLs are never contacted.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3.util.connection

from adapters.http_fetch import FetchFailed, FetchPolicy, FetchResponse, GuardedFetcher
from domain.errors import UnsafeUrl

SECRET = "Bearer s3cr3t-token-value"
PUBLIC_V4 = "93.184.215.14"


# -- a small server on loopback ------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Recorder:
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        with self.lock:
            return [f"{s.method} {s.path}" for s in self.requests]


class Handler(BaseHTTPRequestHandler):
    recorder: Recorder

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _record(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        with self.recorder.lock:
            self.recorder.requests.append(
                Seen(self.command, parts.path, {k.lower(): v for k, v in self.headers.items()})
            )
        return parts.path, parse_qs(parts.query)

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path, _ = self._record()
        if path == "/post-redirect":
            self._send(303, headers={"Location": "/json"})
        elif path == "/token":
            self._send(200, b'{"posted": true}')
        else:
            self._send(404, b"nope")

    def do_GET(self) -> None:
        path, query = self._record()
        if path == "/json":
            self._send(200, b'{"ok": true}', {"Content-Type": "application/json"})
        elif path == "/text":
            self._send(200, b"<html>not json</html>")
        elif path == "/scalar":
            self._send(200, b"42")
        elif path == "/status/404":
            self._send(404, b"nope")
        elif path == "/redirect":
            self._send(302, headers={"Location": query["to"][0]})
        elif path == "/loop":
            self._send(302, headers={"Location": "/loop"})
        elif path == "/set-cookie":
            headers = {"Set-Cookie": "sid=cookie-from-server; Path=/"}
            if "next" in query:
                self._send(302, headers={**headers, "Location": query["next"][0]})
            else:
                self._send(200, b"{}", headers)
        elif path == "/big":
            self._send(200, b"x" * 4096)
        elif path == "/big-stream":
            # No Content-Length: the size is only known by reading (HTTP/1.0, ends at close).
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"x" * 1024)
        elif path == "/sleep":
            time.sleep(1.0)
            self._send(200, b"{}")
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):  # one byte every 50 ms: each read is quick, the whole is not
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass  # the client gave up, as it should
        else:
            self._send(404)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is what several tests do on purpose


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, Recorder]]:
    recorder = Recorder()
    handler = type("RecordingHandler", (Handler,), {"recorder": recorder})
    httpd = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield httpd.server_address[1], recorder
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def port(server: tuple[int, Recorder]) -> int:
    return server[0]


@pytest.fixture
def seen(server: tuple[int, Recorder]) -> Recorder:
    recorder = server[1]
    with recorder.lock:
        recorder.requests.clear()
    return recorder


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address the adapter connects to; anything but loopback fails the test."""
    attempted: list[str] = []
    real = urllib3.util.connection.create_connection

    def spy(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempted.append(address[0])
        assert ipaddress.ip_address(address[0]).is_loopback, f"tried to reach {address[0]}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", spy)
    return attempted


def dev(resolve: Any = None, **policy: Any) -> GuardedFetcher:
    settings = {"development": True, "timeout": 2.0, **policy}
    return GuardedFetcher(FetchPolicy(**settings), resolve=resolve)


def prod(resolve: Any = None, **policy: Any) -> GuardedFetcher:
    return GuardedFetcher(FetchPolicy(**{"timeout": 2.0, **policy}), resolve=resolve)


def stub_dns(answers: dict[str, list[str]]) -> Any:
    def resolve(host: str) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    return resolve


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
def test_internal_addresses_are_refused_and_never_contacted(
    url: str, reason: str, connections: list[str]
) -> None:
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


# -- redirects ---------------------------------------------------------------------------------


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
    dev().get(
        f"http://127.0.0.1:{port}/redirect?to=/json", headers={"Authorization": SECRET}
    )
    dev().get(
        f"http://127.0.0.1:{port}/redirect?to=http://localhost:{port}/json",
        headers={"Authorization": SECRET},
    )
    authorizations = [s.headers.get("authorization") for s in seen.requests]
    assert authorizations == [SECRET, SECRET, SECRET, None]


# -- limits -----------------------------------------------------------------------------------


def test_a_server_that_does_not_answer_in_time_fails_with_no_answer_within(port: int) -> None:
    started = time.monotonic()
    with pytest.raises(FetchFailed) as failed:
        dev(timeout=0.5).get(f"http://127.0.0.1:{port}/sleep")
    assert failed.value.message == "no answer within 0.5 s"
    assert time.monotonic() - started < 0.9


def test_a_slow_drip_of_bytes_cannot_outlast_the_total_deadline(port: int) -> None:
    started = time.monotonic()
    with pytest.raises(FetchFailed) as failed:
        dev(timeout=0.5).get(f"http://127.0.0.1:{port}/drip")
    assert failed.value.message == "no answer within 0.5 s"
    assert time.monotonic() - started < 0.9


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_an_answer_larger_than_the_limit_fails(port: int, path: str) -> None:
    with pytest.raises(FetchFailed) as failed:
        dev(max_bytes=1024).get(f"http://127.0.0.1:{port}{path}")
    assert failed.value.message == "the answer is larger than 1 KiB"


def test_the_default_size_limit_is_named_in_mebibytes() -> None:
    assert GuardedFetcher(FetchPolicy())._size_message() == "the answer is larger than 1 MiB"


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


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused_when_connecting(
    port: int, connections: list[str]
) -> None:
    answers = iter([[PUBLIC_V4], ["127.0.0.1"]])  # first for the check, then for the connection
    fetcher = prod(resolve=lambda host: next(answers))
    with pytest.raises(UnsafeUrl) as refused:
        fetcher.get(f"https://rebind.example:{port}/json")
    assert "resolves to 127.0.0.1, a loopback address" in refused.value.reason
    assert "when connecting" in refused.value.reason
    assert connections == []

