from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config


@view_config(route_name="home", renderer="home.jinja2")
def home(request: Request) -> Any:
    if request.tenant is None:
        return {"platform": True}
    if request.identity is None:
        return HTTPSeeOther(request.route_path("login"))
    return {"platform": False}
