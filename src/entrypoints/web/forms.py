"""Reading form input, and the one rule about where a login may send the browser next."""

from __future__ import annotations

from urllib.parse import urlsplit

from pyramid.request import Request

from domain.errors import N_, InvalidValue
from domain.text import is_storable


def text(request: Request, name: str, limit: int = 1024) -> str:
    """A form field as text; absent or repeated fields read as one string, never an error."""
    value = request.POST.get(name, "")
    if not isinstance(value, str):  # a file upload where text was expected
        raise InvalidValue(name, N_("this field takes text"))
    if len(value) > limit:
        raise InvalidValue(name, N_("this field takes at most %(limit)s characters", limit=limit))
    # Valid UTF-8 (readable.py checked the request); a NUL is refused here, beside its field,
    # as PostgreSQL cannot store it (SQLite would): refused on both.
    if not is_storable(value):
        raise InvalidValue(name, N_("this field contains a character that is not allowed"))
    return value


def query_text(request: Request, name: str, default: str = "") -> str:
    """A query-string or form value for reading (search, paging): anything odd reads as the default."""
    value = request.params.get(name, default)
    # A form body may hold a NUL (readable.py refuses one only in the address): not storable
    # text is odd too, and PostgreSQL would refuse to compare with it.
    return value if isinstance(value, str) and is_storable(value) else default


def page_number(request: Request) -> int:
    """The ``page`` query parameter as a page number from 1; anything odd reads as 1."""
    raw = query_text(request, "page", "1")
    return max(int(raw), 1) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 7 else 1


def checked(request: Request, name: str) -> bool:
    return request.POST.get(name) in {"on", "true", "1", "yes"}


class Sentence(str):
    """A domain message shown as a sentence, still translatable: the str is the English sentence,
    and ``request.say`` (so every ``{{ }}``) says ``message`` in the page's language, as a sentence."""

    __slots__ = ("message",)
    message: str

    def __new__(cls, message: str) -> Sentence:
        self = super().__new__(cls, as_sentence(message))
        self.message = message
        return self


def as_sentence(message: str) -> str:
    """A domain message (lower-case, no full stop) as a sentence on a page. A message that starts
    with an email address keeps it as typed: a capital would change the address."""
    if "@" in message.split(" ", 1)[0]:
        return f"{message}."
    return f"{message[:1].upper()}{message[1:]}."


def sentence(message: str) -> str:
    """A domain message as a sentence on a page, in the page's language when it is shown."""
    return Sentence(message)


def safe_next(target: object) -> str:
    """A same-origin relative path that is a valid Location header as it is, or "/".

    Never a URL taken from the request. Only visible ASCII passes: a path this app built is
    percent-encoded, and anything else (a space, a control character, a character a header
    cannot carry) would break or bend the Location header. Not text at all (a file a form
    field carries) is "/" too.
    """
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if not all("!" <= ch <= "~" for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target
