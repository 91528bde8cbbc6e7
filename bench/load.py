"""The load generator of the page-view benchmark, a process of its own: ``python bench/load.py '<json>'``.

One client thread per entry of ``headers`` (a browser: its Host and session cookie), each on its own
connection, kept alive (http.client reconnects when the server closes, as gunicorn's sync workers do
after every answer), GETs ``path`` as fast as the answers come. Answers in the first ``warm_up``
seconds are not counted, those of the next ``duration`` seconds are. Prints one JSON line: requests
per second, answers that were not 200, and connection errors.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Tally:
    answered: int = 0
    not_ok: int = 0
    errors: int = 0


def client(options: dict[str, Any], headers: dict[str, str], start: float, tally: Tally, lock: threading.Lock) -> None:
    counting_from, until = start + options["warm_up"], start + options["warm_up"] + options["duration"]
    connection = http.client.HTTPConnection("127.0.0.1", options["port"], timeout=10)
    mine = Tally()
    while (now := time.monotonic()) < until:
        try:
            connection.request("GET", options["path"], headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            connection.close()  # the next request opens a new connection
            mine.errors += now >= counting_from
            continue
        if time.monotonic() >= counting_from:
            mine.answered += 1
            mine.not_ok += response.status != 200
    connection.close()
    with lock:
        tally.answered += mine.answered
        tally.not_ok += mine.not_ok
        tally.errors += mine.errors


def run(options: dict[str, Any]) -> dict[str, float]:
    tally, lock = Tally(), threading.Lock()
    start = time.monotonic()
    threads = [
        threading.Thread(target=client, args=(options, headers, start, tally, lock)) for headers in options["headers"]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"rps": tally.answered / options["duration"], "not_ok": tally.not_ok, "errors": tally.errors}


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
