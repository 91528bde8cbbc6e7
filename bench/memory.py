"""Benchmark 3: the memory of one process as its OIDC client and key cache see more and more identity providers.

    .venv/bin/python bench/memory.py

The client is the app's own (IdentityProviderClient from the configured app, so built exactly as
entrypoints/web/wiring.py builds it, with the default sso.key_cache_size), and its key cache the one
inside it. Each provider is a distinct IdentityProvider value with its own jwks_uri on the loopback
provider (which runs in another process): the client builds its authorization URL and the cache fetches
its keys. RSS (/proc/self/statm) is read after WARM_UP providers, after 1,000 and after 10,000; a cache
that forgets the least recently used keeps it flat from 1,000 to 10,000.
"""

from __future__ import annotations

import gc
import os
from typing import Any

from pyramid.scripting import prepare

from common import benchmark_portal, goal_line, heading  # first: it puts this checkout's src/ first on the path
from remote_op import RemoteProvider

from adapters.oidc.keys import KeyCache
from domain.identifiers import new_id
from domain.ports import IdentityProviderClient
from domain.sso.provider import IdentityProvider, ProviderSettings

WARM_UP, FEW, MANY = 100, 1_000, 10_000
FLAT = 1.05  # RSS after MANY / after FEW: what flat means, allowing for the allocator's noise
REDIRECT_URI = "http://t0.bench.test/process_sso"


def rss() -> int:
    """Resident set size of this process, in bytes, after a full collection."""
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def key_cache(client: Any) -> KeyCache:
    """The key cache inside the app's client: the cache is not a service of its own."""
    for name in getattr(type(client), "__slots__", ()) or vars(client):
        value = getattr(client, name, None)
        if isinstance(value, KeyCache):
            return value
    raise RuntimeError(f"no KeyCache found in {type(client).__name__}; update bench/memory.py")


def provider(op: RemoteProvider, n: int) -> IdentityProvider:
    settings = ProviderSettings(
        display_name=f"IdP {n}",
        client_id=f"client-{n}",
        issuer=op.issuer,
        authorization_endpoint=op.url("/authorization"),
        token_endpoint=op.url("/token"),
        jwks_uri=op.url(f"/jwks?provider={n}"),
        userinfo_endpoint=op.url("/userinfo"),
    )
    return IdentityProvider(tenant_id=f"tenant-{n}", settings=settings, sealed_client_secret="sealed", id=new_id())


def see(client: Any, cache: KeyCache, idp: IdentityProvider) -> None:
    client.authorization_url(idp, REDIRECT_URI, "state", "nonce", "c" * 43)
    if not cache.keys(idp):
        raise RuntimeError("the cache returned no keys")


def megabytes(size: int) -> str:
    return f"{size / 2**20:,.1f} MB"


def run() -> None:
    with RemoteProvider() as op, benchmark_portal() as portal:
        heading(f"3. Memory of one process: OIDC client and key cache after {FEW:,} and {MANY:,} distinct providers")
        env = prepare(registry=portal.app.registry)
        client = env["request"].find_service(IdentityProviderClient)
        env["closer"]()
        cache = key_cache(client)
        sizes = {}
        seen = 0
        for upto in (WARM_UP, FEW, MANY):
            # One at a time, in this thread: a pool's queued work would leave its own high-water mark in RSS.
            for n in range(seen, upto):
                see(client, cache, provider(op, n))
            seen = upto
            sizes[upto] = rss()
        fetched = op.hits().get("/jwks", 0)
        growth = sizes[MANY] / sizes[FEW]
        goal_line(
            f"RSS after {MANY:,} / after {FEW:,} providers",
            growth,
            f"<= {FLAT:g}x",
            growth <= FLAT,
            f"{megabytes(sizes[WARM_UP])} after {WARM_UP}, {megabytes(sizes[FEW])}, {megabytes(sizes[MANY])}",
        )
        per_provider = (sizes[MANY] - sizes[FEW]) / (MANY - FEW)
        print(
            f"  {'':<44} {per_provider / 1024:,.2f} KB per provider from {FEW:,} to {MANY:,}"
            f" ({(sizes[FEW] - sizes[WARM_UP]) / (FEW - WARM_UP) / 1024:,.2f} KB up to {FEW:,});"
            f" {fetched:,} JWKS fetches"
        )
        if hasattr(cache, "provider_count"):
            print(f"  {'':<44} the key cache holds {cache.provider_count():,} providers' keys")


if __name__ == "__main__":
    run()
