"""The Translator port on the Babel catalogs: a domain ``Message`` in the reader's language."""

from __future__ import annotations

import threading
from pathlib import Path

from babel.support import NullTranslations, Translations

from domain.errors import Message


class CatalogTranslator:
    """Reads each language's compiled catalog (``<directory>/<lang>/LC_MESSAGES/<domain>.mo``)
    once per process; a language without one says the English."""

    def __init__(self, directory: Path, domain: str) -> None:
        self._directory = directory
        self._domain = domain
        self._loaded: dict[str, NullTranslations] = {}
        self._lock = threading.Lock()

    def say(self, text: str, language: str) -> str:
        if not isinstance(text, Message):
            return text
        catalog = self._catalog(language)
        if text.plural is None:
            said = catalog.ugettext(text.msgid)
        else:
            said = catalog.ungettext(text.msgid, text.plural, text.number if text.number is not None else 1)
        if not text.values:
            return said
        # A value may be a Message too (a field's name, a refusal's reason): said in the same language.
        return said % {
            name: self.say(value, language) if isinstance(value, Message) else value
            for name, value in text.values.items()
        }

    def _catalog(self, language: str) -> NullTranslations:
        found = self._loaded.get(language)
        if found is None:
            with self._lock:
                found = self._loaded.get(language)
                if found is None:
                    found = Translations.load(str(self._directory), [language], self._domain)
                    self._loaded[language] = found
        return found
