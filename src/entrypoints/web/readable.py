"""The edge where text enters the web app: the address, the query, the form and the cookies are
read here, once and strictly, before any route, view or error page reads them.

WebOb decodes each part lazily and in its own way: an undecodable path or query raises
wherever it is first read (in routing, or in the middle of an error view, which then fails
too), and a form is decoded with U+FFFD in place of bad bytes, which would be stored as if
typed. A NUL decodes fine but PostgreSQL refuses it (SQLite keeps it), so it is refused with
the bad bytes. Which characters one field may hold beyond that (one line or several) is the
domain's rule, applied by its value cleaners (``domain.values``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from urllib.parse import unquote_to_bytes

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import INGRESS
from webob.compat import cgi_FieldStorage

from entrypoints.scim.errors import error_response

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Unreadable(Exception):
    """What in the request is not text the portal can keep, in a visitor's words."""


def _no_nul(pairs: Iterable[tuple[object, object]], where: str) -> None:
    for key, value in pairs:
        if "\x00" in str(key) or (isinstance(value, str) and "\x00" in value):
            raise Unreadable(f"{where} contains a NUL character")


def _urlencoded_fields(body: bytes) -> list[tuple[str, str]]:
    """The pairs of a urlencoded form, decoded as UTF-8 strictly (UnicodeDecodeError on bad bytes)."""
    pairs = []
    for item in body.split(b"&"):
        if item:
            key, _, value = item.partition(b"=")
            pairs.append(tuple(unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8") for part in (key, value)))
    return pairs  # type: ignore[return-value]


def _multipart_fields(request: Request, body: bytes) -> list[tuple[str, object]]:
    """The text fields of a multipart form, decoded as UTF-8 strictly; file uploads stay bytes."""
    environ = {**request.environ, "QUERY_STRING": "", "CONTENT_LENGTH": str(len(body))}
    form = cgi_FieldStorage(fp=io.BytesIO(body), environ=environ, keep_blank_values=True, encoding="utf-8", errors="strict")
    return [(part.name or "", part.value) for part in form.list or []]


def check_readable(request: Request) -> None:
    """Raises Unreadable naming the first part of the request that is not storable text."""
    try:
        path = request.path_info
    except UnicodeDecodeError:
        raise Unreadable("the address is not valid UTF-8") from None
    if "\x00" in path:
        raise Unreadable("the address contains a NUL character")
    try:
        query = list(request.GET.items())
    except UnicodeDecodeError:
        raise Unreadable("the query in the address is not valid UTF-8") from None
    _no_nul(query, "the query in the address")
    try:
        request.cookies.items()
    except UnicodeDecodeError:
        raise Unreadable("a cookie your browser sent for this site is not valid UTF-8; delete this site's cookies") from None
    if _is_scim(request):
        return  # a SCIM body is JSON, read by the SCIM API's own reader, never as a form
    # WebOb reads a POST without a content type as a urlencoded form too.
    urlencoded = request.content_type == FORM_TYPES[0] or (request.method == "POST" and not request.content_type)
    if not urlencoded and request.content_type != FORM_TYPES[1]:
        return
    if request.charset != "UTF-8":  # WebOb's own spelling of every name of UTF-8
        raise Unreadable(f"the form is sent as {request.charset}; forms are read as UTF-8")
    body = request.body
    try:
        fields = _urlencoded_fields(body) if urlencoded else _multipart_fields(request, body)
    except UnicodeDecodeError:
        raise Unreadable("the form is not valid UTF-8") from None
    except ValueError:  # a multipart body without a usable boundary, or with broken parts
        raise Unreadable("the form cannot be read") from None
    _no_nul(fields, "the form")


def _is_scim(request: Request) -> bool:
    path = request.environ.get("PATH_INFO", "")  # the raw path: it may not decode
    return bool(path == "/scim" or path.startswith("/scim/"))


def _refusal(request: Request, problem: str) -> Response:
    if _is_scim(request):
        return error_response(400, f"{problem}; send UTF-8 text without NUL characters", "invalidSyntax")
    request.response.status = 400
    # tenant and me are given, so rendering reads neither the Host, the session nor the cookies.
    return render_to_response(
        "error.jinja2",
        {
            "title": "This request cannot be read",
            "message": f"{problem[:1].upper()}{problem[1:]}. Check the address, or go back and send the form again.",
            "tenant": None,
            "me": None,
        },
        request=request,
    )


def readable_input_tween(handler: Callable[[Request], Response], registry: Registry) -> Callable[[Request], Response]:
    def tween(request: Request) -> Response:
        try:
            check_readable(request)
        except Unreadable as unreadable:
            return _refusal(request, str(unreadable))
        return handler(request)

    return tween


def includeme(config: Configurator) -> None:
    # Outermost: nothing (the transaction, routing, an error view) reads the request before this.
    config.add_tween("entrypoints.web.readable.readable_input_tween", under=INGRESS)
