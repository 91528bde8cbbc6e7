"""The web entrypoint's shape: views reach domain services through the request, never the wiring."""

from __future__ import annotations

import grimp


def test_no_view_imports_the_composition_root():
    graph = grimp.build_graph("entrypoints", "adapters", "domain")
    assert not graph.chain_exists("entrypoints.web.features", "entrypoints.web.wiring", as_packages=True)
    assert not graph.chain_exists("entrypoints.web.errors", "entrypoints.web.wiring", as_packages=True)
    assert not graph.chain_exists("entrypoints.scim", "entrypoints.web.wiring", as_packages=True)
