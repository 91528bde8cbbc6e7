"""A server process for the page-view benchmark: ``python bench/serve.py '<json>'``.

The JSON names the server (``waitress`` with its defaults, as development.ini serves, or ``gunicorn``
with 2 gthread workers of 8 threads, as production), the app (``page``: the portal made from
``settings``; ``bare``: bench/bare_app.py
on the same database), the port, and for the bare app the practitioner it reads. It serves until
it is sent SIGTERM.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import common  # noqa: F401  (puts src/ on the path)
from bare_app import bare_app
from entrypoints.web import main


def app_factory(options: dict[str, Any]) -> Callable[[], Any]:
    settings: dict[str, str] = options["settings"]
    if options["app"] == "page":
        return lambda: main({}, **settings)
    return lambda: bare_app(settings["sqlalchemy.url"], options["practitioner_id"])


def serve_waitress(make_app: Callable[[], Any], port: int) -> None:
    import waitress

    # waitress warns of every queued request ("Task queue depth is 4"): under load, that is the point.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress.serve(make_app(), host="127.0.0.1", port=port, _quiet=True)


def serve_gunicorn(make_app: Callable[[], Any], port: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            # As gunicorn.conf.py runs production (gthread, 8 threads), with exactly 2 workers on any machine.
            options = {"bind": f"127.0.0.1:{port}", "workers": 2, "worker_class": "gthread", "threads": 8}
            for name, value in options.items():
                self.cfg.set(name, value)
            self.cfg.set("loglevel", "warning")

        def load(self) -> Any:
            return make_app()  # in each worker, after the fork: no engine is shared

    Server().run()


if __name__ == "__main__":
    options = json.loads(sys.argv[1])
    serve = serve_waitress if options["server"] == "waitress" else serve_gunicorn
    serve(app_factory(options), int(options["port"]))
