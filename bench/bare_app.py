"""The peer of a logged-in page: a bare Pyramid app, one route, one select by primary key, a short text answer.

It reads the same practitioners table on the same database as the portal, with a plain SQLAlchemy engine
and Core, and nothing else: no tweens, sessions, templates or security policy.
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.router import Router
from sqlalchemy import bindparam, create_engine, select

from adapters.db import schema


def bare_app(url: str, practitioner_id: str) -> Router:
    engine = create_engine(url)
    p = schema.practitioners.c
    query = select(p.first_name, p.last_name).where(p.id == bindparam("id"))

    def page(request: Request) -> Any:
        with engine.connect() as connection:
            row = connection.execute(query, {"id": practitioner_id}).one()
        return Response(f"Hello {row.first_name} {row.last_name}\n", content_type="text/plain")

    with Configurator() as config:
        config.add_route("account", "/account")
        config.add_view(page, route_name="account", request_method="GET")
        return config.make_wsgi_app()
