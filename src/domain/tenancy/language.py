"""The languages the product speaks, and which one a person is spoken to in.

Language tags come from outside in many forms (``de-AT`` from an identity provider's ``locale``
claim, ``nl_NL`` from a SCIM client's ``preferredLanguage``); ``spoken`` is the one rule that
turns any of them into a language the product speaks, or None.
"""

from __future__ import annotations

LANGUAGES = ("en", "de", "nl")
DEFAULT_LANGUAGE = "en"


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
