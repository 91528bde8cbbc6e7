"""The catalogs are up to date with the sources, and every text is translated into German and Dutch.

The sources are extracted in memory as `make translations` extracts them (babel.cfg), and compared
with locale/portal.pot and each language's portal.po. A failure here is fixed by `make translations`
and then translating what it added (empty or fuzzy entries) in the .po files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from domain.tenancy.language import DEFAULT_LANGUAGE, LANGUAGES
from entrypoints.web.language import DOMAIN

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "src" / "entrypoints" / "web" / "locale"
TRANSLATED = [language for language in LANGUAGES if language != DEFAULT_LANGUAGE]

MessageKey = tuple[str, str | None]
# As the Makefile's `-k 'Nn_:1,2'`: the domain's plural marker (domain/errors.py) beside the defaults.
KEYWORDS = {**DEFAULT_KEYWORDS, "Nn_": (1, 2)}


def key(message: Message) -> MessageKey:
    singular = message.id if isinstance(message.id, str) else message.id[0]
    return singular, message.context


def extracted() -> set[MessageKey]:
    with open(ROOT / "babel.cfg", encoding="utf-8") as mapping:
        method_map, options_map = parse_mapping_cfg(mapping, "babel.cfg")
    catalog = Catalog()
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT / "src", method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, locations=[(filename, lineno)], context=context)
    return {key(message) for message in catalog if message.id}


def catalog(path: Path, locale: str | None = None) -> Catalog:
    with open(path, "rb") as file:
        return read_po(file, locale=locale, domain=DOMAIN)


def keys(found: Catalog) -> set[MessageKey]:
    return {key(message) for message in found if message.id}


def test_the_template_catalog_holds_exactly_what_the_sources_mark_for_translation():
    in_sources, in_template = extracted(), keys(catalog(LOCALE / "portal.pot"))
    assert in_sources, "nothing extracted: is babel.cfg's mapping still right?"
    assert sorted(in_sources - in_template) == [], "new texts: run `make translations` and translate them"
    assert sorted(in_template - in_sources) == [], "texts gone from the sources: run `make translations`"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_is_translated(language: str):
    po = catalog(LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po", language)
    assert keys(po) == keys(catalog(LOCALE / "portal.pot")), f"{language}: run `make translations`"
    untranslated = [message.id for message in po if message.id and not all(_strings(message))]
    assert untranslated == [], f"{language}: no translation for these"
    fuzzy = [message.id for message in po if message.id and message.fuzzy]
    assert fuzzy == [], f"{language}: fuzzy (unchecked) translations"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_their_placeholders_and_plural_forms(language: str):
    po = catalog(LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po", language)
    assert po.plural_forms and po.num_plurals >= 1
    problems = [(message.id, [str(error) for error in errors]) for message, errors in po.check()]
    assert problems == []


def _strings(message: Message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)
