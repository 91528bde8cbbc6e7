"""Which language a page speaks: Pyramid's locale negotiator over an ordered list of sources.

Each source is one function of the request that names a supported language or None; the first
that names one wins, else English. Issue 12 adds, in front of the browser's Accept-Language, the
practitioner's own choice, the provider's `locale` claim or SCIM's `preferredLanguage`, and the
practice's default language. A logged-out visitor chooses with the switch (`/language?lang=de`),
which keeps the choice in the `lang` cookie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from jinja2 import pass_context
from jinja2.runtime import Context
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request

from domain.errors import Message
from domain.tenancy.language import DEFAULT_LANGUAGE, LANGUAGES
from domain.ports import Translator
from entrypoints.web.forms import safe_next
from entrypoints.web.security import PublicPage

# The catalogs' domain (locale/<lang>/LC_MESSAGES/portal.po); the languages are the domain's.
DOMAIN = "portal"
LOCALE_DIRECTORY = Path(__file__).resolve().parent / "locale"
COOKIE_NAME = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# The switch names each language in that language.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "nl": "Nederlands"}

LanguageSource = Callable[[Request], str | None]


def supported(value: object) -> str | None:
    """``value`` as a supported language code, or None: anything else a client sends is ignored."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower()
    return code if code in LANGUAGES else None


def chosen_on_the_switch(request: Request) -> str | None:
    try:
        return supported(request.cookies.get(COOKIE_NAME))
    except UnicodeDecodeError:  # the page that refuses unreadable cookies (readable.py) is rendered too
        return None


def from_the_browser(request: Request) -> str | None:
    """The best of the browser's Accept-Language that the product speaks (RFC 4647 lookup, so
    de-AT finds de); a missing or malformed header names none."""
    found = request.accept_language.lookup(language_tags=list(LANGUAGES), default=_none)
    return supported(found)


def _none() -> None:
    return None


# First match wins. Later: the practitioner's choice, the provider's claim, the practice's default.
SOURCES: tuple[LanguageSource, ...] = (chosen_on_the_switch, from_the_browser)


def negotiate(request: Request) -> str:
    """Pyramid's locale negotiator: the language of this request's pages."""
    for source in SOURCES:
        language = source(request)
        if language is not None:
            return language
    return DEFAULT_LANGUAGE


def switch_language(request: Request) -> HTTPSeeOther:
    """GET /language?lang=de&next=/login: keeps the choice in a cookie and goes back. An unknown
    language changes nothing."""
    response = HTTPSeeOther(safe_next(request.GET.get("next")))
    language = supported(request.GET.get("lang"))
    if language is not None:
        response.set_cookie(
            COOKIE_NAME,
            language,
            max_age=COOKIE_MAX_AGE,
            path="/",
            httponly=True,
            secure=request.registry.portal_settings.secure_cookies,
            samesite="Lax",
        )
    return response


def say(request: Request, text: str) -> str:
    """``request.say(text)``: a domain ``Message`` in this request's language, other text as it is."""
    translator: Translator = request.find_service(Translator, context=None)
    return translator.say(text, request.locale_name)


@pass_context
def said(context: Context, value: Any) -> Any:
    """Jinja2's ``finalize``: every ``{{ ... }}`` that is a domain ``Message`` (a field error, a
    refusal) is shown in the page's language, so views hand the domain's messages on as they are."""
    if isinstance(value, Message):
        request = context.get("request")
        if request is not None:
            return say(request, value)
    return value


def includeme(config: Configurator) -> None:
    config.add_request_method(say, "say")
    config.add_translation_dirs("entrypoints.web:locale")
    config.set_locale_negotiator(negotiate)
    config.add_route("language", "/language", factory=PublicPage)
    config.add_view(switch_language, route_name="language", request_method="GET")
