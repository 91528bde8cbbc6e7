"""A small keep-alive HTTP/1.1 server on loopback, and fetchers under the policies the tests use.

The fetcher's own tests talk to a real server on 127.0.0.1: real sockets are the point. The
server counts the connections it accepts, so tests can tell a reused connection from a new one.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from adapters.http_fetch.address_policy import Resolver
from adapters.http_fetch.fetcher import FetchPolicy, GuardedFetcher

SECRET = "Bearer s3cr3t-token-value"
PUBLIC_V4 = "93.184.215.14"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    query: str = ""  # as sent


@dataclass
class Recorder:
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: int = 0  # accepted so far
    closed: int = 0  # of those, ended (by either side)
    # A request arriving on a connection that already served this many is dropped unanswered,
    # as by a server that closed an idle connection just as the client reused it.
    drop_after: int | None = None

    def paths(self) -> list[str]:
        with self.lock:
            return [f"{s.method} {s.path}" for s in self.requests]

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.connections = self.closed = 0
            self.drop_after = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless an answer says otherwise
    recorder: Recorder

    def setup(self) -> None:
        super().setup()
        self.served = 0
        with self.recorder.lock:
            self.recorder.connections += 1

    def finish(self) -> None:
        super().finish()
        with self.recorder.lock:
            self.recorder.closed += 1

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        self.served += 1
        drop_after = self.recorder.drop_after
        if drop_after is not None and self.served > drop_after:
            self._record()
            self.close_connection = True
            return False  # no answer: handle_one_request skips the method
        return True

    def _record(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        with self.recorder.lock:
            self.recorder.requests.append(
                Seen(self.command, parts.path, {k.lower(): v for k, v in self.headers.items()}, parts.query)
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
            self._set_cookie(query)
        elif path == "/big":
            self._send(200, b"x" * 4096)
        elif path == "/big-stream":
            self._stream_without_length()
        elif path == "/bigger-than-a-mebibyte":
            self._send(200, b"x" * ((1 << 20) + 1))
        elif path == "/sleep":
            time.sleep(1.0)
            self._send(200, b"{}")
        elif path == "/drip":
            self._drip()
        else:
            self._more(path, query)

    def _more(self, path: str, query: dict[str, list[str]]) -> None:
        if path == "/close":
            self._send(200, b'{"closing": true}', {"Connection": "close"})
        elif path == "/close-after":
            # Framed for keep-alive, then closed without a word: as a server whose idle timeout
            # is shorter than the client's.
            self._send(200, b'{"ok": true}')
            self.close_connection = True
        elif path == "/chunked":
            self._chunked(int(query.get("size", ["2048"])[0]))
        elif path == "/gzip":
            self._send(200, gzip.compress(b'{"ok": true}'), {"Content-Encoding": "gzip"})
        else:
            self._send(404)

    def _set_cookie(self, query: dict[str, list[str]]) -> None:
        headers = {"Set-Cookie": "sid=cookie-from-server; Path=/"}
        if "next" in query:
            self._send(302, headers={**headers, "Location": query["next"][0]})
        else:
            self._send(200, b"{}", headers)

    def _stream_without_length(self) -> None:
        # No Content-Length: the size is only known by reading (the body ends at close).
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        for _ in range(64):
            self.wfile.write(b"x" * 1024)

    def _chunked(self, size: int) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, size, 1000):
            chunk = b"x" * min(1000, size - start)
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def _drip(self) -> None:
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


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is what several tests do on purpose


@contextmanager
def loopback_server(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, Recorder]]:
    """A server on 127.0.0.1 for as long as the block runs (HTTPS with a ``tls`` context): its
    port and what it has seen."""
    recorder = Recorder()
    handler = type("RecordingHandler", (Handler,), {"recorder": recorder})
    httpd = QuietServer(("127.0.0.1", 0), handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], recorder
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def drip_server() -> Iterator[tuple[int, list[int]]]:
    """A server on 127.0.0.1 run by one thread, started before the block: it answers one
    connection with a body announced as 1000 bytes and sent a byte every 50 ms, and notes
    ``threading.active_count()`` before each byte. Yields its port and those counts."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    counts: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError), listener.accept()[0] as connection:
            connection.recv(65536)  # the request
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            while not stop.is_set():
                counts.append(threading.active_count())
                connection.sendall(b" ")
                time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], counts
    finally:
        stop.set()
        thread.join()
        listener.close()


def dev(resolve: Resolver | None = None, **policy: Any) -> GuardedFetcher:
    """A fetcher as in development: plain http and loopback allowed."""
    settings = {"development": True, "timeout": 2.0, **policy}
    return GuardedFetcher(FetchPolicy(**settings), resolve=resolve)


def prod(resolve: Resolver | None = None, **policy: Any) -> GuardedFetcher:
    """A fetcher as in production."""
    return GuardedFetcher(FetchPolicy(**{"timeout": 2.0, **policy}), resolve=resolve)


def stub_dns(answers: dict[str, list[str]]) -> Resolver:
    """A resolver that knows only ``answers`` and says "no such name" for anything else."""

    def resolve(host: str) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    return resolve
