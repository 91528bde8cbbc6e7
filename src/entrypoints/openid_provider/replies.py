"""What the provider answers: a status, headers and a body, whatever server sends it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from oic.utils.http_util import Response

CHUNK = 64 * 1024


@dataclass
class Reply:
    """One answer; a ``streamed`` body goes in chunks, without a Content-Length."""

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
        """A streamed body, piece by piece."""
        return (self.body[start : start + CHUNK] for start in range(0, len(self.body), CHUNK))


def json_reply(status: int, document: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    return Reply(
        status,
        [("Content-Type", "application/json"), ("Cache-Control", "no-store"), *headers],
        json.dumps(document).encode(),
    )


def error_reply(status: int, error: str, description: str) -> Reply:
    return json_reply(status, {"error": error, "error_description": description})


def redirect_reply(location: str, status: int = 302) -> Reply:
    return Reply(status, [("Location", location)], b"")


def from_pyoidc(response: Response) -> Reply:
    """Run a pyoidc Response as the WSGI app it is and keep what it would have sent."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        captured["status"], captured["headers"] = int(status.split()[0]), list(headers)

    chunks = response({}, start_response)
    body = b"".join(chunk.encode() if isinstance(chunk, str) else chunk for chunk in chunks)
    return Reply(captured["status"], captured["headers"], body)
