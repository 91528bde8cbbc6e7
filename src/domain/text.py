"""What text the portal keeps: the one rule for every value that enters from outside.

Storable text is what PostgreSQL and SQLite both keep and every page, JSON answer and mail can
show: no NUL (PostgreSQL refuses it where SQLite silently keeps it) and no lone surrogate (a
JSON escape such as ``"\ud800"`` makes one; it has no UTF-8 form at all). One line of text (a
name, a button text, an identifier, anything that may end up in a mail header) is storable and
has no control characters (C0 with tab and line breaks, DEL, C1) and no Unicode line or
paragraph separators. Multi-line text (a value map) need only be storable.

The edges apply it once: the web app's request check, the SCIM body reader, the identity
provider's answer (``VerifiedIdentity``) and the value cleaners (``domain.practitioners.profile``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence

from domain.errors import N_, InvalidValue, Message


_NOT_STORABLE = re.compile("[\x00\ud800-\udfff]")

_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

_SHOWN_PATH_LENGTH = 80


def is_storable(text: str) -> bool:
    return _NOT_STORABLE.search(text) is None


def is_one_line(text: str) -> bool:
    return _NOT_ONE_LINE.search(text) is None


# One limit for every URL: what an admin enters and what the server fetches (discovery
# documents and redirects included). The provider URL columns hold as many characters.
MAX_URL_LENGTH = 2000
URL_TOO_LONG = N_("the address is longer than %(limit)s characters", limit=MAX_URL_LENGTH)
URL_NOT_ONE_TOKEN = N_("the address has spaces or control characters")


def url_shape_problem(url: str) -> str | None:
    """Why ``url`` is not one token that every URL parser reads alike, or None. Whitespace and
    control characters are where parsers disagree; the rest of a URL's form is checked apart."""
    if len(url) > MAX_URL_LENGTH:
        return URL_TOO_LONG
    if not is_one_line(url) or any(ch.isspace() for ch in url):
        return URL_NOT_ONE_TOKEN
    return None


def storable_text(raw: str, field: str, label: str) -> str:
    """``raw`` as it is when it is storable text (it may span lines); else InvalidValue naming it."""
    if not is_storable(raw):
        raise InvalidValue(field, N_("the %(label)s contains a character that cannot be stored", label=label))
    return raw


def one_line_text(raw: str, field: str, label: str) -> str:
    """``raw`` as it is when it is one line of storable text; else InvalidValue naming it."""
    storable_text(raw, field, label)
    if not is_one_line(raw):
        raise InvalidValue(field, not_one_line(label))
    return raw


def not_one_line(label: str) -> Message:
    """The refusal of a value with a line break or a control character, naming its field."""
    return N_("the %(label)s must be one line, without line breaks, tabs or other control characters", label=label)


def document_problem(document: object) -> str | None:
    """What makes a parsed JSON document (a SCIM body, a provider's claims) unfit to keep, or None.

    Names the first key or string that is not storable text, or number that is not finite
    (Python's JSON reader takes NaN, Infinity and 1e400), by its path such as ``name.givenName``.
    The offending text itself is never repeated: the message must be storable and showable too.
    """
    pending: list[tuple[str, object]] = [("", document)]  # a stack, not recursion: any depth will do
    while pending:
        path, value = pending.pop()
        where = path if len(path) <= _SHOWN_PATH_LENGTH else path[: _SHOWN_PATH_LENGTH - 1] + "…"
        if isinstance(value, str) and not is_storable(value):
            if not where:
                return N_("the value contains a character that cannot be stored")
            return N_("%(where)s contains a character that cannot be stored", where=where)
        if isinstance(value, float) and not math.isfinite(value):
            return (
                N_("%(where)s is not a finite number", where=where) if where else N_("the value is not a finite number")
            )
        if isinstance(value, Mapping):
            if not all(isinstance(key, str) and is_storable(key) for key in value):
                if not where:
                    return N_("an attribute name contains a character that cannot be stored")
                return N_("an attribute name in %(where)s contains a character that cannot be stored", where=where)
            pending.extend((f"{path}.{key}" if path else key, item) for key, item in reversed(list(value.items())))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in reversed(list(enumerate(value))))
    return None


def fold_to_one_line(header: str) -> str:
    """A header value with its whitespace folded: a line break in a name saved before names had to
    be one line (a provider's button text, say) must not end the header and start another."""
    return " ".join(header.split())


# Several texts shown as one, each translated whole (the parts of an audit summary, the findings of
# one check): a list is not a sentence made of fragments, since each part is a whole item or
# clause, and the separator between two parts is a text of its own, so a language can choose it.
def in_a_row(parts: Sequence[str]) -> str:
    """``a, b, c``: items of one kind, such as the settings a save changed."""
    return _joined(parts, lambda earlier, later: N_("%(earlier)s, %(later)s", earlier=earlier, later=later))


def one_after_another(parts: Sequence[str]) -> str:
    """``a; b; c``: whole clauses, such as the findings of one check."""
    return _joined(parts, lambda earlier, later: N_("%(earlier)s; %(later)s", earlier=earlier, later=later))


def _joined(parts: Sequence[str], pair: Callable[[str, str], str]) -> str:
    said = parts[0]
    for later in parts[1:]:
        said = pair(said, later)
    return said
