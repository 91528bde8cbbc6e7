"""Keep-alive: GuardedFetcher reuses a connection per origin, only when that is safe, against a
real keep-alive server on loopback that counts the connections it accepts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from adapters.http_fetch.fetcher import FetchFailed
from domain.errors import UnsafeUrl
from tests.integration.http_fetch.harness import Recorder, dev, loopback_server


def test_calls_to_one_origin_share_one_connection(port: int, seen: Recorder) -> None:
    fetcher = dev()
    base = f"http://127.0.0.1:{port}"
    assert fetcher.post(f"{base}/token", {"code": "abc"}).json() == {"posted": True}
    assert fetcher.get(f"{base}/json").json() == {"ok": True}
    assert fetcher.get(f"{base}/redirect?to=/json").status == 200  # both hops too
    assert seen.connections == 1
    assert seen.paths() == ["POST /token", "GET /json", "GET /redirect", "GET /json"]


def test_a_chunked_answer_is_read_whole_and_the_connection_kept(port: int, seen: Recorder) -> None:
    fetcher = dev()
    assert fetcher.get(f"http://127.0.0.1:{port}/chunked?size=2500").body == b"x" * 2500
    assert fetcher.get(f"http://127.0.0.1:{port}/json").status == 200
    assert seen.connections == 1


def test_each_origin_has_its_own_connections(port: int, seen: Recorder) -> None:
    fetcher = dev()
    fetcher.get(f"http://127.0.0.1:{port}/json")
    fetcher.get(f"http://localhost:{port}/json")  # same server, another origin
    fetcher.get(f"http://127.0.0.1:{port}/json")
    assert seen.connections == 2


@pytest.mark.parametrize(
    ("path", "policy"),
    [
        ("/close", {}),  # the server said Connection: close
        ("/big-stream", {}),  # no length: the answer ends when the connection does
        ("/big", {"max_bytes": 1024}),  # refused by its declared length, left unread
        ("/chunked?size=4096", {"max_bytes": 1024}),  # refused while reading, the rest unread
        ("/gzip", {}),  # refused unread
        ("/sleep", {"timeout": 0.3}),  # the deadline passed
    ],
)
def test_a_connection_is_not_reused_after(port: int, seen: Recorder, path: str, policy: dict[str, float]) -> None:
    fetcher = dev(**policy)
    try:
        fetcher.get(f"http://127.0.0.1:{port}{path}")
    except FetchFailed:
        pass  # the oversized, compressed and slow answers fail; what matters is the connection
    assert fetcher.get(f"http://127.0.0.1:{port}/json").json() == {"ok": True}
    assert seen.connections == 2


def test_a_compressed_answer_is_refused(port: int) -> None:
    with pytest.raises(FetchFailed) as failed:
        dev().get(f"http://127.0.0.1:{port}/gzip")
    assert failed.value.message == "the answer is compressed, though it was asked for uncompressed"


def test_a_connection_the_server_closed_while_idle_is_not_used() -> None:
    # A server of its own: no connection of another test ends while this one waits.
    with loopback_server() as (port, seen):
        fetcher = dev()
        fetcher.get(f"http://127.0.0.1:{port}/close-after")
        _wait_until(lambda: seen.closed == 1)
        # A POST is never sent twice, so it succeeds only if the closed connection was noticed
        # before sending.
        assert fetcher.post(f"http://127.0.0.1:{port}/token", {"code": "abc"}).status == 200
        assert seen.connections == 2


def test_a_get_on_a_kept_connection_that_dies_unanswered_is_sent_once_more(port: int, seen: Recorder) -> None:
    fetcher = dev()
    fetcher.get(f"http://127.0.0.1:{port}/json")
    seen.drop_after = 1  # the kept connection dies at its next request
    assert fetcher.get(f"http://127.0.0.1:{port}/json").json() == {"ok": True}
    assert seen.paths() == ["GET /json"] * 3
    assert seen.connections == 2


def test_a_post_on_a_kept_connection_that_dies_unanswered_is_never_sent_again(port: int, seen: Recorder) -> None:
    fetcher = dev()
    fetcher.post(f"http://127.0.0.1:{port}/token", {"code": "abc"})
    seen.drop_after = 1
    with pytest.raises(FetchFailed) as failed:
        fetcher.post(f"http://127.0.0.1:{port}/token", {"code": "abc"})
    assert failed.value.message == "could not connect: the server closed the connection without answering"
    assert seen.paths() == ["POST /token"] * 2
    assert seen.connections == 1


def test_a_get_is_sent_once_more_only_once(port: int, seen: Recorder) -> None:
    fetcher = dev()
    fetcher.get(f"http://127.0.0.1:{port}/json")
    seen.drop_after = 0  # every request is dropped, on the new connection too
    with pytest.raises(FetchFailed) as failed:
        fetcher.get(f"http://127.0.0.1:{port}/json")
    assert failed.value.message == "could not connect: the server closed the connection without answering"
    assert seen.paths() == ["GET /json"] * 3
    assert seen.connections == 2


def test_a_name_that_rebinds_is_checked_again_when_a_new_connection_replaces_a_kept_one(
    port: int, seen: Recorder, connections: list[str]
) -> None:
    # Lookups: check and connect of the first GET, check of the second; then the new connection's.
    answers = iter([["127.0.0.1"]] * 3 + [["10.0.0.5"]])
    fetcher = dev(resolve=lambda host: next(answers))
    fetcher.get(f"http://idp.example:{port}/json")
    seen.drop_after = 1  # the kept connection dies unanswered: the GET needs a new one
    with pytest.raises(UnsafeUrl) as refused:
        fetcher.get(f"http://idp.example:{port}/json")
    assert "idp.example resolves to 10.0.0.5, a private address" in refused.value.reason
    assert "when connecting" in refused.value.reason
    assert set(connections) == {"127.0.0.1"}
    assert seen.connections == 1


def test_the_pool_keeps_the_most_recently_used_origins(port: int, seen: Recorder) -> None:
    fetcher = dev()
    hosts = [f"h{n}.localhost" for n in range(40)]  # each a loopback origin of its own
    for host in hosts:
        fetcher.get(f"http://{host}:{port}/json")
    assert seen.connections == 40
    fetcher.get(f"http://{hosts[-1]}:{port}/json")  # kept
    assert seen.connections == 40
    fetcher.get(f"http://{hosts[0]}:{port}/json")  # let go: the pool holds 32 idle connections
    assert seen.connections == 41
    _wait_until(lambda: seen.closed >= 40 - 32)  # and the ones let go were closed


def _wait_until(condition: Callable[[], bool], seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
