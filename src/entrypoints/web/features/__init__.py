"""One includeme per domain feature: its routes (the public contract), its views, its services."""

from __future__ import annotations

from pyramid.config import Configurator


def add_routes(config: Configurator, context: type[object], **patterns: str) -> None:
    """Routes (name=pattern) whose pages share a context factory, and so its ACL (security.py)."""
    for name, pattern in patterns.items():
        config.add_route(name, pattern, factory=context)
