"""The loopback OpenID Provider in a process of its own, so its CPU is never counted as the portal's.

The parent drives it as it would drive ``LoopbackProvider`` in-process (``register_client``,
``login_as``, ``reset``, ``hits``); each call goes over a pipe to the child, which runs the provider.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The commands the child answers, each a method of LoopbackProvider (hits is read, not called).
COMMANDS = frozenset({"register_client", "login_as", "reset", "hits"})


def _serve(connection: Connection) -> None:
    """The child: run the provider and answer the parent's commands until it says stop."""
    from tests.loopback_op.provider import LoopbackProvider

    logging.disable(logging.WARNING)  # pyoidc warns "Lost keys for <client>" on every token request
    with LoopbackProvider() as op:
        connection.send(op.issuer)
        while True:
            command, args, kwargs = connection.recv()
            if command == "stop":
                break
            result = dict(op.hits) if command == "hits" else getattr(op, command)(*args, **kwargs)
            connection.send(result)


class RemoteProvider:
    """A LoopbackProvider in a spawned process; ``with RemoteProvider() as op: ...``."""

    def __init__(self) -> None:
        self.issuer = ""
        context = multiprocessing.get_context("spawn")  # nothing of the parent (engines, sockets) is inherited
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_end,), name="loopback-op", daemon=True)

    def __enter__(self) -> RemoteProvider:
        self._process.start()
        self.issuer = self._answer()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._connection.send(("stop", (), {}))
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def url(self, path: str) -> str:
        return self.issuer + path

    def _call(self, command: str, *args: Any, **kwargs: Any) -> Any:
        assert command in COMMANDS
        self._connection.send((command, args, kwargs))
        return self._answer()

    def _answer(self) -> Any:
        # A child that died (an import error, say) must stop the benchmark, not hang it.
        if not self._connection.poll(60):
            raise RuntimeError("the loopback provider's process did not answer within 60 s")
        return self._connection.recv()

    def register_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self._call("register_client", client_id, client_secret, redirect_uri)

    def login_as(self, sub: str, **claims: Any) -> None:
        self._call("login_as", sub, **claims)

    def reset(self) -> None:
        """Switches off and the request log cleared (hits start again from zero)."""
        self._call("reset")

    def hits(self) -> dict[str, int]:
        """Requests received per path since the last reset."""
        hits: dict[str, int] = self._call("hits")
        return hits
