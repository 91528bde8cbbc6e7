"""The loopback OpenID Provider (tests/loopback_op) keeps connections alive, so the e2e and
contract suites exercise the fetcher's connection reuse against it.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from adapters.http_fetch.fetcher import FetchFailed
from tests.integration.http_fetch.harness import dev
from tests.loopback_op.protocol import DISCOVERY, JWKS
from tests.loopback_op.provider import LoopbackProvider


@pytest.fixture
def op() -> Iterator[LoopbackProvider]:
    with LoopbackProvider() as provider:
        yield provider


def test_the_fetcher_keeps_one_connection_to_the_provider(op: LoopbackProvider, connections: list[str]) -> None:
    fetcher = dev()
    for _ in range(3):
        assert fetcher.get(op.url(DISCOVERY)).require_ok("the issuer").json()["issuer"] == op.issuer
        assert fetcher.get(op.url(JWKS)).require_ok("the JWKS endpoint").json()["keys"]
    assert len(connections) == 1
    assert op.hits[DISCOVERY] == 3 and op.hits[JWKS] == 3


def test_a_streamed_answer_is_chunked_and_counted_against_the_limit(
    op: LoopbackProvider, connections: list[str]
) -> None:
    fetcher = dev()
    op.oversize_response(JWKS, size=2 << 20, send_content_length=False)
    with pytest.raises(FetchFailed) as failed:
        fetcher.get(op.url(JWKS))
    assert failed.value.message == "the answer is larger than 1 MiB"
    op.oversize_response(JWKS, size=4096, send_content_length=False)
    assert len(fetcher.get(op.url(JWKS)).body) >= 4096
    assert fetcher.get(op.url(JWKS)).status == 200
    assert len(connections) == 2  # the refused answer's connection was not kept; the next one is


def test_a_client_that_asks_to_close_gets_its_connection_closed(op: LoopbackProvider) -> None:
    connection = http.client.HTTPConnection(urlsplit(op.issuer).netloc, timeout=5)
    connection.request("GET", DISCOVERY, headers={"Connection": "close"})
    response = connection.getresponse()
    assert response.getheader("Connection") == "close"
    assert response.read() and response.will_close
    connection.close()


def test_stop_ends_kept_connections_at_once() -> None:
    threads = set(threading.enumerate())
    fetcher = dev()
    with LoopbackProvider() as op:
        fetcher.get(op.url(DISCOVERY))  # the fetcher keeps this connection open
        started = time.monotonic()
    assert time.monotonic() - started < 1  # not the server's 30 s idle timeout
    assert set(threading.enumerate()) <= threads
