"""The edge where bytes become text: the address, the query, the cookies and the form are read
here, once and strictly, before any route, view or error page reads them.

WebOb decodes each part lazily and in its own way: an undecodable path, query or cookie raises
wherever it is first read (in routing, or in the middle of an error view, which then fails
too: a 500), and a form is decoded with U+FFFD in place of bad bytes, which would be stored
as if typed. So a request that is not UTF-8 is refused here with a 400 that says which part.
A NUL in the address or the query is refused too: no address of the portal has one, and
PostgreSQL cannot store it. A NUL in a form field is refused beside its field
(``views.forms.text``), and what one field may hold beyond storable text (one line or
several) is the domain's rule (``domain.text``), applied by its value cleaners.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import INGRESS
from webob.compat import cgi_FieldStorage

from domain.errors import N_
from entrypoints.scim.errors import error_response
from entrypoints.web.forms import sentence

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# What a multipart part may say of its own bytes: nothing that WebOb would decode after this check.
# RFC 7578 has senders use no Content-Transfer-Encoding (WebOb applies base64 and quoted-printable).
AS_SENT = frozenset({"7bit", "8bit", "binary"})


class Unreadable(Exception):
    """What in the request is not text the portal can read, in a visitor's words (``problem``, a
    Message: the page says it in the visitor's language, SCIM and a provider's server in English)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


# A provider's server posts its logout tokens here, and reads its refusals as OAuth JSON errors.
BACKCHANNEL_LOGOUT_PATH = "/sso/backchannel-logout"


def _is_scim(request: Request) -> bool:
    path = request.environ.get("PATH_INFO", "")  # as received: it may not decode
    return bool(path == "/scim" or path.startswith("/scim/"))


def _decode_urlencoded(body: bytes) -> None:
    """Decodes every name and value of a urlencoded form as UTF-8, strictly."""
    for item in body.split(b"&"):
        for part in item.partition(b"=")[::2]:
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")


def _decode_multipart(request: Request, body: bytes) -> None:
    """Decodes every text field of a multipart form as UTF-8, strictly; file uploads stay bytes.
    A part naming another charset or a transfer encoding is refused: WebOb would decode it by
    what it names after this check (an unknown charset, or bytes that are not UTF-8 once decoded)."""
    environ = {**request.environ, "QUERY_STRING": "", "CONTENT_LENGTH": str(len(body))}
    form = cgi_FieldStorage(
        fp=io.BytesIO(body), environ=environ, keep_blank_values=True, encoding="utf-8", errors="strict"
    )
    for part in form.list or ():
        charset = part.type_options.get("charset", "utf-8")
        try:
            utf8 = codecs.lookup(charset).name == "utf-8"
        except LookupError:
            utf8 = False
        if not utf8:
            raise Unreadable(N_("the form is sent as %(charset)s; forms are read as UTF-8", charset=charset))
        if part.headers.get("Content-Transfer-Encoding", "binary").strip().lower() not in AS_SENT:
            raise Unreadable(N_("the form cannot be read"))


def _check_form(request: Request) -> None:
    # WebOb reads a POST without a content type as a urlencoded form too.
    urlencoded = request.content_type == URLENCODED or (request.method == "POST" and not request.content_type)
    if not urlencoded and request.content_type != MULTIPART:
        return
    if request.charset != "UTF-8":  # WebOb's one spelling of every name of UTF-8
        raise Unreadable(N_("the form is sent as %(charset)s; forms are read as UTF-8", charset=request.charset))
    try:
        if urlencoded:
            _decode_urlencoded(request.body)
        else:
            _decode_multipart(request, request.body)
    except UnicodeDecodeError:
        raise Unreadable(N_("the form is not valid UTF-8")) from None
    except ValueError:  # a multipart body without a usable boundary, or with broken parts
        raise Unreadable(N_("the form cannot be read")) from None


def check_readable(request: Request) -> None:
    """Raises Unreadable naming the first part of the request that is not readable text."""
    try:
        path = request.path_info
    except UnicodeDecodeError:
        raise Unreadable(N_("the address is not valid UTF-8")) from None
    if "\x00" in path:
        raise Unreadable(N_("the address contains a NUL character"))
    try:
        query = list(request.GET.items())
    except UnicodeDecodeError:
        raise Unreadable(N_("the query in the address is not valid UTF-8")) from None
    if any("\x00" in key or "\x00" in value for key, value in query):
        raise Unreadable(N_("the query in the address contains a NUL character"))
    try:
        request.cookies.items()
    except UnicodeDecodeError:
        raise Unreadable(
            N_("a cookie your browser sent for this site is not valid UTF-8; delete this site's cookies")
        ) from None
    if not _is_scim(request):  # a SCIM body is JSON, checked by the SCIM API's reader
        _check_form(request)


def _refusal(request: Request, problem: str) -> Response:
    if _is_scim(request):
        return error_response(400, f"{problem}; send UTF-8 text without NUL characters", "invalidSyntax")
    if request.environ.get("PATH_INFO", "") == BACKCHANNEL_LOGOUT_PATH:
        return oauth_error(problem)
    # tenant and me are given, so rendering reads neither the Host, the session nor the cookies.
    response = render_to_response(
        "error.jinja2",
        {
            "title": N_("This request cannot be read"),
            "message": sentence(
                N_("%(problem)s; check the address, or go back and send the form again", problem=problem)
            ),
            "tenant": None,
            "me": None,
        },
        request=request,
    )
    response.status = 400
    return response


def oauth_error(description: str, status: int = 400, error: str = "invalid_request") -> Response:
    """A refusal a server reads (RFC 6749 5.2's shape), never cached."""
    response = Response(json={"error": error, "error_description": description}, status=status)
    response.cache_control = "no-store"
    return response


def readable_input_tween(handler: Callable[[Request], Response], registry: Registry) -> Callable[[Request], Response]:
    def tween(request: Request) -> Response:
        try:
            check_readable(request)
        except Unreadable as unreadable:
            return _refusal(request, unreadable.problem)
        return handler(request)

    return tween


def includeme(config: Configurator) -> None:
    # Outermost: nothing (the transaction, routing, an error view) reads the request before this.
    config.add_tween("entrypoints.web.readable.readable_input_tween", under=INGRESS)
