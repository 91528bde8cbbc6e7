"""TLS: the host name is verified (SNI and certificate), the handshake ends by the deadline, and
a TLS connection is kept alive like any other. Against HTTPS servers on loopback.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator

import pytest

from adapters.http_fetch import connection
from adapters.http_fetch.fetcher import FetchFailed
from tests.integration.http_fetch.harness import Recorder, dev, loopback_server
from tests.integration.http_fetch.tls import LoopbackCa

HOST = "idp.localhost"  # loopback, without asking DNS
Served = tuple[int, list[str | None], Recorder]  # port, SNI names received, what was seen


@pytest.fixture(scope="module")
def ca() -> LoopbackCa:
    return LoopbackCa()


@pytest.fixture
def names_sent(ca: LoopbackCa) -> Iterator[Served]:
    """An HTTPS server with a certificate for HOST; the SNI names clients sent to it."""
    names: list[str | None] = []

    def remember(sock: ssl.SSLSocket | ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        names.append(name)

    context = ca.server_context(HOST)
    context.sni_callback = remember
    with loopback_server(tls=context) as (port, seen):
        yield port, names, seen


@pytest.fixture
def trusted(ca: LoopbackCa, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetcher trusts the test CA instead of the default store."""
    context = ca.trusting()
    monkeypatch.setattr(connection, "tls_context", lambda: context)


def test_a_certificate_from_an_unknown_authority_is_refused(names_sent: Served) -> None:
    port = names_sent[0]
    with pytest.raises(FetchFailed) as failed:
        dev().get(f"https://{HOST}:{port}/json")
    assert failed.value.message == (
        "could not connect: the TLS certificate was not accepted (self-signed certificate in certificate chain)"
    )


@pytest.mark.usefixtures("trusted")
def test_the_host_name_is_sent_and_checked_and_the_connection_kept(
    names_sent: Served,
) -> None:
    port, names, seen = names_sent
    fetcher = dev()
    assert fetcher.get(f"https://{HOST}:{port}/json").json() == {"ok": True}
    assert fetcher.post(f"https://{HOST}:{port}/token", {"code": "abc"}).json() == {"posted": True}
    assert names == [HOST]  # one handshake, with the name
    assert seen.connections == 1


@pytest.mark.usefixtures("trusted")
def test_a_certificate_for_another_name_is_refused(names_sent: Served) -> None:
    port = names_sent[0]
    with pytest.raises(FetchFailed) as failed:
        dev().get(f"https://other.localhost:{port}/json")
    assert failed.value.message == (
        "could not connect: the TLS certificate was not accepted "
        "(Hostname mismatch, certificate is not valid for 'other.localhost'.)"
    )


def test_a_server_that_never_completes_the_handshake_is_given_up_at_the_deadline() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # the kernel accepts the connection; nobody ever answers
        started = time.monotonic()
        with pytest.raises(FetchFailed) as failed:
            dev(timeout=0.5).get(f"https://127.0.0.1:{listener.getsockname()[1]}/json")
    assert failed.value.message == "no answer within 0.5 s"
    assert time.monotonic() - started < 0.9


def test_the_default_context_verifies_names_and_certificates() -> None:
    context = connection.tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
