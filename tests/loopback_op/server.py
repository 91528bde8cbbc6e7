"""The loopback HTTP server: one WSGI answer function served by threads on 127.0.0.1.

It knows nothing of OpenID Connect. It turns each request into a RecordedRequest, keeps it in
its RequestLog (a dropped connection is recorded too), asks the answer function for a Reply
and sends it. ``sleep`` lets a slow or hanging answer wait; ``wake_sleepers`` and ``stop`` cut
every such wait short, so nothing outlives ``stop``.
"""

from __future__ import annotations

import http
import json
import socketserver
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

HOST = "127.0.0.1"
CHUNK = 64 * 1024


@dataclass
class Reply:
    """What the server sends; a ``streamed`` body goes in chunks, without a Content-Length."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    streamed: bool = False

    def json(self) -> Any:
        return json.loads(self.body)

    def with_json(self, document: Any) -> Reply:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        return Reply(self.status, headers, json.dumps(document).encode())

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def replace_header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()] + [(name, value)]

    def chunks(self) -> Iterable[bytes]:
        if not self.streamed:
            return [self.body]  # one chunk: wsgiref adds the Content-Length
        return (self.body[start : start + CHUNK] for start in range(0, len(self.body), CHUNK))


def json_reply(status: int, document: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    return Reply(
        status,
        [("Content-Type", "application/json"), ("Cache-Control", "no-store"), *headers],
        json.dumps(document).encode(),
    )


def error_reply(status: int, error: str, description: str) -> Reply:
    return json_reply(status, {"error": error, "error_description": description})


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


def _received(environ: dict[str, Any]) -> RecordedRequest:
    """The WSGI request as the log keeps it, body read, headers named as sent."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-")] = environ[name]
    query = environ.get("QUERY_STRING", "")
    return RecordedRequest.of(
        environ["REQUEST_METHOD"], environ.get("PATH_INFO", "") + ("?" + query if query else ""), headers, body
    )


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    # One thread per request, so a hanging answer doesn't block the others or stop(). They are
    # not daemons because server_close() joins only non-daemon threads (block_on_close): nothing
    # outlives stop().
    daemon_threads = False
    loopback: LoopbackServer

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can be slow; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, size limit) is expected here, not an error to print.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(WSGIRequestHandler):
    timeout = 30  # a client that connects and sends nothing must not pin a thread forever

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        loopback: LoopbackServer = self.server.loopback  # type: ignore[attr-defined]
        if loopback.drops_connection(self.path):
            # Record the attempt, then close the socket without answering (returning False
            # makes wsgiref skip the app; finish() closes the connection).
            loopback.log.record(RecordedRequest.of(self.command, self.path, dict(self.headers.items())))
            self.close_connection = True
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        pass


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
        server = _Server((HOST, 0), _Handler)
        server.loopback = self
        server.set_app(self._app)
        self._wake = threading.Event()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"loopback-op-{server.server_port}",
            daemon=True,
        )
        self._thread.start()
        return f"http://{HOST}:{server.server_port}"

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._wake.set()  # sleeping answers return, so their threads can be joined
        server.shutdown()
        thread.join()
        server.server_close()  # closes the socket and joins the request threads
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

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = _received(environ)
        self.log.record(request)
        reply = self._answer(request)
        start_response(f"{reply.status} {http.HTTPStatus(reply.status).phrase}", reply.headers)
        return reply.chunks()


__all__ = ["HOST", "LoopbackServer", "RecordedRequest", "Reply", "RequestLog", "error_reply", "json_reply"]
