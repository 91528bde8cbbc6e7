"""Connections only to vetted addresses, within one deadline and a size limit
(adapters.http_fetch.connection, deadline and transport), against a real server on loopback.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from adapters.http_fetch.fetcher import FetchFailed
from domain.errors import UnsafeUrl
from tests.integration.http_fetch.harness import PUBLIC_V4, dev, drip_server, prod


# -- no DNS-rebinding window ---------------------------------------------------------------------


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


# -- limits --------------------------------------------------------------------------------------


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


def test_the_deadline_needs_no_thread_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[threading.Thread] = []
    real_start = threading.Thread.start

    def spy(thread: threading.Thread, *args: Any, **kwargs: Any) -> None:
        started.append(thread)
        real_start(thread, *args, **kwargs)

    with drip_server() as (port, counts):
        before = threading.active_count()
        with monkeypatch.context() as patch, pytest.raises(FetchFailed) as failed:
            patch.setattr(threading.Thread, "start", spy)
            begun = time.monotonic()
            dev(timeout=0.5).get(f"http://127.0.0.1:{port}/drip")
        elapsed = time.monotonic() - begun
    assert failed.value.message == "no answer within 0.5 s"
    assert elapsed < 0.9
    assert started == []
    assert len(counts) >= 5 and max(counts) <= before  # sampled by the server while the call ran


@pytest.mark.parametrize("path", ["/big", "/big-stream", "/chunked?size=4096"])
def test_an_answer_larger_than_the_limit_fails(port: int, path: str) -> None:
    with pytest.raises(FetchFailed) as failed:
        dev(max_bytes=1024).get(f"http://127.0.0.1:{port}{path}")
    assert failed.value.message == "the answer is larger than 1 KiB"


def test_the_default_size_limit_is_named_in_mebibytes(port: int) -> None:
    with pytest.raises(FetchFailed) as failed:
        dev().get(f"http://127.0.0.1:{port}/bigger-than-a-mebibyte")
    assert failed.value.message == "the answer is larger than 1 MiB"
