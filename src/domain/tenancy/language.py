"""The languages the product speaks, and which one a person is spoken to in.

Language tags come from outside in many forms (``de-AT`` from an identity provider's ``locale``
claim, ``nl_NL`` from a SCIM client's ``preferredLanguage``); ``spoken`` is the one rule that
turns any of them into a language the product speaks, or None.
"""

from __future__ import annotations

from domain.errors import InvalidValue, Message, N_
from domain.text import is_one_line, is_storable

LANGUAGES = ("en", "de", "nl")
DEFAULT_LANGUAGE = "en"
# The longest language tag kept as a provider or SCIM client sent it (practitioners.provided_language).
MAX_TAG_LENGTH = 64


def spoken(tag: object) -> str | None:
    """The language of ``tag`` that the product speaks (``de-AT``, ``de_de`` and ``DE`` are
    ``de``), or None for anything else, including what is not text."""
    if not isinstance(tag, str):
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else None


def first_spoken(*tags: object) -> str | None:
    """The first of ``tags`` that names a language the product speaks, or None."""
    for tag in tags:
        language = spoken(tag)
        if language is not None:
            return language
    return None


def tag_problem(tag: str) -> Message | None:
    """Why ``tag`` cannot be kept as sent as someone's language tag, or None. Any tag is kept (a
    language the product does not speak simply does not count); it only has to fit and be one line."""
    if len(tag) > MAX_TAG_LENGTH:
        return N_("a language tag has at most %(limit)s characters", limit=MAX_TAG_LENGTH)
    if not (is_storable(tag) and is_one_line(tag)):
        return N_("a language tag is one line of text, without control characters")
    return None


def language_tag(value: str, field: str) -> str | None:
    """``value`` as a language tag to keep as sent (None: none, when empty), or InvalidValue naming ``field``."""
    if not value:
        return None
    problem = tag_problem(value)
    if problem is not None:
        raise InvalidValue(field, problem)
    return value


def claimed_tag(value: object) -> str | None:
    """A provider's ``locale`` claim as a tag to keep, or None: a claim that is not a fitting tag
    is ignored, since a sign-in never fails over the language."""
    if not isinstance(value, str) or not value or tag_problem(value) is not None:
        return None
    return value
