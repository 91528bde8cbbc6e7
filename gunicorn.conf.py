"""gunicorn in production: `gunicorn --paste production.ini`, run from this directory.

`gunicorn --paste` reads only the app and logging sections of the .ini file; its own settings
come from this file, which it finds in the current directory (elsewhere: `-c /path/to/gunicorn.conf.py`).
`pserve production.ini` reaches the same settings through [server:main]. Command-line options and
$GUNICORN_CMD_ARGS override anything here, e.g. GUNICORN_CMD_ARGS="--threads 16 --bind 127.0.0.1:8000".
"""

from __future__ import annotations

import os
from typing import Any

from pyramid.paster import get_appsettings
from waitress.proxy_headers import proxy_headers_middleware

from entrypoints.settings import PortalSettings

# The TLS-terminating proxy on this host: the only peer whose X-Forwarded-* headers are believed.
TRUSTED_PROXY = "127.0.0.1"


def _cpus() -> int:
    """The CPUs this process may run on (a container's cpuset), not all of the host's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# Only the proxy on this host reaches the app: on every interface, plain http would be served to the
# network past the proxy's TLS. A proxy on another host: --bind that host's side, and TRUSTED_PROXY.
bind = ["127.0.0.1:6543"]

# One process per CPU: processes give the parallelism (a process computes on one CPU at a time,
# the GIL), threads cover the waits. Measured on 2 CPUs, 5 gthread processes served 1.07x the pages/s
# of 2 (within the noise) for 2.5x the memory (~115 MB each) and the database connections.
workers = int(os.environ.get("WEB_CONCURRENCY") or _cpus())

# Threads, not sync workers: an SSO callback waits on the identity provider for up to
# sso.http_timeout (10 s), and a sync worker serves nothing else meanwhile. Measured, 16 logins at
# a provider taking 1 s: sync, 2 processes, 8.4 s and pages stuck behind them for up to 8.3 s
# (5 processes: 4.3 s); gthread, 2 x 8 threads, 2.1 s and pages within 1 s. So each process serves
# 8 logins waiting on providers at once, and more queue. At most 15 threads: the engine's pool of
# 5 + 10 overflow connections, one per thread, none waiting. (gunicorn runs gthread whenever
# threads > 1: a sync worker also needs --threads 1.)
worker_class = "gthread"
threads = 8

# The engine is made in main(), which each worker runs after the fork, so no pool is shared between
# processes. (`pserve` loads the app before forking whatever this says: see post_worker_init.)
preload_app = False

# gunicorn reads X-Forwarded-Proto only from the proxy; the middleware below does the same for the
# client address, which gunicorn itself never takes from X-Forwarded-For.
forwarded_allow_ips = TRUSTED_PROXY


def on_starting(server: Any) -> None:
    """Settings the app refuses (production.ini's checks: https, secrets, hashing, the demo provider)
    stop gunicorn here, in the master, with their one line. In a worker they would not: a worker
    that exits on its configuration is started again, once a second, for ever."""
    if server.cfg.paste:  # `pserve` loaded the app, and checked them, before gunicorn started
        PortalSettings.load(get_appsettings(server.cfg.paste), os.environ)


def post_worker_init(worker: Any) -> None:
    """Runs in each worker once the app is loaded.

    A pool forked from the master (`pserve` and preload_app load the app there) is dropped without
    closing its connections, which still belong to the master: two processes on one connection
    corrupt each other's transactions. When the worker made the engine itself this costs nothing.

    Then the same proxy rule as the waitress server: REMOTE_ADDR (what the login and one-time-password
    throttles count per address) from the last X-Forwarded-For hop when the peer is the proxy, and
    every X-Forwarded-* / Forwarded header removed from any other peer, so no client forges one."""
    worker.wsgi.registry.db_engine.dispose(close=False)
    worker.wsgi = proxy_headers_middleware(
        worker.wsgi,
        trusted_proxy=TRUSTED_PROXY,
        trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
        clear_untrusted=True,
    )
