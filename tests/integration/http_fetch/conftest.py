"""A loopback server for the fetcher's tests, and a spy that fails any test in which the
fetcher connects anywhere but loopback: refused URLs are never contacted."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.http_fetch.harness import Recorder, loopback_server


@pytest.fixture(scope="package")
def server() -> Iterator[tuple[int, Recorder]]:
    with loopback_server() as running:
        yield running


@pytest.fixture
def port(server: tuple[int, Recorder]) -> int:
    return server[0]


@pytest.fixture
def seen(server: tuple[int, Recorder]) -> Recorder:
    recorder = server[1]
    recorder.reset()
    return recorder


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address the adapter connects to; anything but loopback fails the test."""
    attempted: list[str] = []
    real = socket.create_connection

    def spy(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempted.append(address[0])
        assert ipaddress.ip_address(address[0]).is_loopback, f"tried to reach {address[0]}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return attempted
