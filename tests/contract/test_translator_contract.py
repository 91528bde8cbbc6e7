"""What every Translator promises (the fake included): a Message in the language asked for, its
values filled in, the plural form its count calls for; English, and any text that is no Message,
as it is; a msgid or language the catalog does not know in English.

The fake is taught the few sentences used here as the real catalogs have them (locale/*/portal.po).
"""

from __future__ import annotations

import pytest

from adapters.translation import CatalogTranslator
from domain.errors import N_, Nn_
from domain.ports import Translator
from entrypoints.web.language import DOMAIN, LOCALE_DIRECTORY
from tests.fakes import FakeTranslator

HELLO = "Hello %(name)s,"
CODE_MINUTES = (
    "The code works once and expires in %(count)s minute.",
    "The code works once and expires in %(count)s minutes.",
)
KNOWN = {
    ("de", HELLO): "Guten Tag %(name)s,",
    ("nl", HELLO): "Beste %(name)s,",
    ("de", CODE_MINUTES[0]): (
        "Das Einmalpasswort kann einmal verwendet werden und läuft in %(count)s Minute ab.",
        "Das Einmalpasswort kann einmal verwendet werden und läuft in %(count)s Minuten ab.",
    ),
}


def taught_fake() -> FakeTranslator:
    fake = FakeTranslator()
    for (language, msgid), said in KNOWN.items():
        fake.learn(language, msgid, said)
    return fake


@pytest.fixture(params=["fake", "catalogs"])
def translator(request: pytest.FixtureRequest) -> Translator:
    if request.param == "fake":
        return taught_fake()
    return CatalogTranslator(LOCALE_DIRECTORY, DOMAIN)


def test_a_message_is_said_in_the_language_asked_with_its_values(translator: Translator):
    hello = N_(HELLO, name="Zoë <Z>")
    assert translator.say(hello, "de") == "Guten Tag Zoë <Z>,"
    assert translator.say(hello, "nl") == "Beste Zoë <Z>,"
    assert translator.say(hello, "en") == "Hello Zoë <Z>,"


@pytest.mark.parametrize(
    ("count", "said"), [(1, "in 1 Minute ab."), (10, "in 10 Minuten ab."), (0, "in 0 Minuten ab.")]
)
def test_a_count_chooses_the_plural_form_of_the_language(translator: Translator, count: int, said: str):
    assert translator.say(Nn_(*CODE_MINUTES, count), "de").endswith(said)


def test_what_the_catalog_does_not_know_is_said_in_english(translator: Translator):
    unknown = N_("A sentence no catalog has, for %(who)s.", who="Ann")
    assert translator.say(unknown, "de") == "A sentence no catalog has, for Ann."
    assert translator.say(N_(HELLO, name="Ann"), "fr") == "Hello Ann,"


def test_text_that_is_no_message_stays_as_it_is(translator: Translator):
    assert translator.say("Hello %(name)s,", "de") == "Hello %(name)s,"
