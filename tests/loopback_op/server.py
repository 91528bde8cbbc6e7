"""The loopback HTTP server: one answer function served by threads on 127.0.0.1.

It knows nothing of OpenID Connect. It turns each request into a RecordedRequest, keeps it in
its RequestLog (a dropped connection is recorded too), asks the answer function for a Reply
and sends it. It speaks HTTP/1.1 and keeps connections alive (a Reply's body goes with a
Content-Length, or in chunks when streamed), so a client's connection reuse can be exercised.
``sleep`` lets a slow or hanging answer wait; ``wake_sleepers`` and ``stop`` cut every such
wait short, and ``stop`` ends idle connections, so nothing outlives ``stop``.
"""

from __future__ import annotations

import contextlib
import http
import http.server
import socket
import socketserver
import sys
import threading
import traceback
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from entrypoints.openid_provider.replies import Reply, error_reply, json_reply

HOST = "127.0.0.1"
# Framing is the server's: it sets these itself.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received (a dropped connection is recorded too, with no body)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    query_string: str = ""

    @classmethod
    def of(cls, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> RecordedRequest:
        parts = urlsplit(target)
        return cls(
            method,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.title(): v for k, v in headers.items()},
            body,
            parts.query,
        )

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)


class RequestLog:
    """Every request received, how many went to each path, and the cookies sent to each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.cookies: defaultdict[str, list[str]] = defaultdict(list)
        self.requests: list[RecordedRequest] = []

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self.hits[request.path] += 1
            cookie = request.headers.get("Cookie")
            if cookie:
                self.cookies[request.path].append(cookie)

    def to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def clear(self) -> None:
        with self._lock:
            self.hits.clear()
            self.cookies.clear()
            self.requests.clear()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    # One thread per connection, so a hanging answer doesn't block the others or stop(). They
    # are not daemons because server_close() joins only non-daemon threads (block_on_close):
    # nothing outlives stop(). Connections are kept alive, so stop() also ends the idle ones.
    daemon_threads = False
    loopback: LoopbackServer

    def __init__(self, loopback: LoopbackServer) -> None:
        self.loopback = loopback
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((HOST, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can be slow; skip it.
        socketserver.TCPServer.server_bind(self)

    def opened(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.add(connection)

    def closed(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(connection)

    def end_connections(self) -> None:
        """Wakes every connection thread waiting for a request (or writing an answer): its
        socket reports the end, and the thread finishes."""
        with self._open_lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, size limit) is expected here, not an error to print.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1: connections are kept alive; a body goes with a Content-Length or, streamed,
    in chunks; a client's ``Connection: close`` (or HTTP/1.0 without keep-alive) is honoured."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # a client that keeps a connection and sends nothing must not pin a thread forever
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and a streamed body go in separate writes: do not let Nagle hold them back.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.opened(self.connection)

    def finish(self) -> None:
        self.server.closed(self.connection)
        super().finish()

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        loopback = self.server.loopback
        if loopback.drops_connection(self.path):
            # Record the attempt, then close the socket without answering (returning False
            # skips the answer; finish() closes the connection).
            loopback.log.record(RecordedRequest.of(self.command, self.path, dict(self.headers.items())))
            self.close_connection = True
            return False
        return True

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        request = self._received()
        self.server.loopback.log.record(request)
        try:
            reply = self.server.loopback.answer(request)
        except Exception:
            traceback.print_exc()  # the test shows it; the client sees a plain 500, as from wsgiref
            self.close_connection = True
            reply = Reply(500, [("Content-Type", "text/plain")], b"A server error occurred.")
        self._send(reply)

    def _received(self) -> RecordedRequest:
        """The request as the log keeps it, body read, repeated headers joined with commas."""
        if "transfer-encoding" in self.headers:
            self.close_connection = True  # a chunked request body is not read: the stream is lost
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.title()
            headers[key] = f"{headers[key]},{value.strip()}" if key in headers else value.strip()
        path, _, query = self.path.partition("?")
        target = urllib.parse.unquote(path, "iso-8859-1") + ("?" + query if query else "")
        return RecordedRequest.of(self.command, target, headers, body)

    def _send(self, reply: Reply) -> None:
        framed_by_close = reply.streamed and self.request_version == "HTTP/1.0"
        if framed_by_close:
            self.close_connection = True  # HTTP/1.0 knows no chunks: the body ends with the connection
        headers = [(k, v) for k, v in reply.headers if k.lower() not in _FRAMING]
        if not reply.streamed:
            headers.append(("Content-Length", str(len(reply.body))))
        elif not framed_by_close:
            headers.append(("Transfer-Encoding", "chunked"))
        if self.close_connection:
            headers.append(("Connection", "close"))
        lines = [f"HTTP/1.1 {reply.status} {http.HTTPStatus(reply.status).phrase}", f"Date: {self.date_time_string()}"]
        head = "\r\n".join([*lines, *(f"{k}: {v}" for k, v in headers), "", ""]).encode("iso-8859-1")
        if not reply.streamed:
            self.wfile.write(head + reply.body)  # one write: no wait between headers and body
            return
        self.wfile.write(head)
        for chunk in reply.chunks():
            self.wfile.write(chunk if framed_by_close else b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if not framed_by_close:
            self.wfile.write(b"0\r\n\r\n")


class LoopbackServer:
    """Serves ``answer`` on http://127.0.0.1:<free port>; ``drops_connection(target)`` says
    which requests get their connection closed unanswered."""

    def __init__(self, answer: Callable[[RecordedRequest], Reply], drops_connection: Callable[[str], bool]) -> None:
        self._answer = answer
        self.drops_connection = drops_connection
        self.log = RequestLog()
        self._wake = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Binds a free port and serves in a daemon thread; returns the base URL."""
        if self._server is not None:
            raise RuntimeError("the loopback server is already running")
        server = _Server(self)
        self._wake = threading.Event()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"loopback-op-{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return f"http://{HOST}:{server.server_address[1]}"

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._wake.set()  # sleeping answers return, so their threads can be joined
        server.shutdown()
        thread.join()
        server.end_connections()  # kept-alive connections stop waiting for a next request
        server.server_close()  # closes the socket and joins the connection threads
        self._server = self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def sleep(self, seconds: float) -> None:
        """Waits ``seconds``, or less when wake_sleepers() or stop() comes first."""
        self._wake.wait(seconds)

    def wake_sleepers(self) -> None:
        self._wake.set()
        self._wake = threading.Event()

    def answer(self, request: RecordedRequest) -> Reply:
        return self._answer(request)


__all__ = ["HOST", "LoopbackServer", "RecordedRequest", "Reply", "RequestLog", "error_reply", "json_reply"]
