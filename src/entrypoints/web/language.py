"""Which language a page speaks: Pyramid's locale negotiator over an ordered list of sources.

Each source is one function of the request that names a language the product speaks or None;
the first that names one wins, else English: the practitioner's own choice (/account), the
visitor's choice on the switch (`/language?lang=de`, kept in the `lang` cookie), what the
practitioner's identity provider (`locale`) or SCIM client (`preferredLanguage`) sent, the
practice's default language, the browser's Accept-Language. Every value passes the domain's one
rule, ``spoken``, so a hostile cookie or header falls back.

The practitioner and the practice come from the visit (visit.py), which every page of an instance
reads before routing; the negotiator never reads it itself, so a page rendered before it (a
request refused as unreadable, an unknown host) needs neither the database nor the session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from jinja2 import pass_context
from jinja2.runtime import Context
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.threadlocal import get_current_request

from domain.errors import Message
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.language import DEFAULT_LANGUAGE, LANGUAGES, spoken
from domain.tenancy.tenant import Tenant
from domain.ports import Translator
from entrypoints.web.factories import built
from entrypoints.web.features.sso.session_keys import LINK_KEY
from entrypoints.web.forms import Sentence, as_sentence, safe_next
from entrypoints.web.security import PublicPage

# The catalogs' domain (locale/<lang>/LC_MESSAGES/portal.po); the languages are the domain's.
DOMAIN = "portal"
LOCALE_DIRECTORY = Path(__file__).resolve().parent / "locale"
COOKIE_NAME = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# The switch names each language in that language.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "nl": "Nederlands"}

LanguageSource = Callable[[Request], str | None]


def _visited(request: Request) -> tuple[Tenant | None, Practitioner | None]:
    """The practice and the logged-in practitioner, where this request has read its visit."""
    if "visit" not in request.__dict__:  # reified by visit.py once read
        return None, None
    return request.visit.tenant, request.identity


def chosen_by_the_practitioner(request: Request) -> str | None:
    practitioner = _visited(request)[1]
    return None if practitioner is None else spoken(practitioner.language)


def chosen_on_the_switch(request: Request) -> str | None:
    try:
        return spoken(request.cookies.get(COOKIE_NAME))
    except UnicodeDecodeError:  # the page that refuses unreadable cookies (readable.py) is rendered too
        return None


def sent_by_the_provider(request: Request) -> str | None:
    """The identity provider's ``locale`` claim or the SCIM client's ``preferredLanguage`` of the
    logged-in practitioner; before anyone is, the ``locale`` of the Single Sign On waiting in this
    browser for its one-time password (PendingLink.locale), so the code's page speaks it already."""
    tenant, practitioner = _visited(request)
    if practitioner is not None:
        return spoken(practitioner.provided_language)
    waiting = request.session.get(LINK_KEY) if tenant is not None else None
    return spoken(waiting.get("locale")) if isinstance(waiting, dict) else None


def the_practices_default(request: Request) -> str | None:
    tenant = _visited(request)[0]
    return None if tenant is None else spoken(tenant.default_language)


def from_the_browser(request: Request) -> str | None:
    """The best of the browser's Accept-Language that the product speaks (RFC 4647 lookup, so
    de-AT finds de); a missing or malformed header names none."""
    found = request.accept_language.lookup(language_tags=list(LANGUAGES), default=_none)
    return spoken(found)


def _none() -> None:
    return None


# First match wins.
SOURCES: tuple[LanguageSource, ...] = (
    chosen_by_the_practitioner,
    chosen_on_the_switch,
    sent_by_the_provider,
    the_practices_default,
    from_the_browser,
)


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
    language = spoken(request.GET.get("lang"))
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
    """``request.say(text)``: a domain ``Message`` in this request's language (a ``Sentence`` of one
    too, shaped as a sentence again), other text as it is. The translator comes through ``built``
    (factories.py): ``find_service`` would make pyramid_services' per-request container for it."""
    translator: Translator = built(request, Translator)  # type: ignore[assignment]
    if isinstance(text, Sentence):
        return as_sentence(translator.say(text.message, request.locale_name))
    return translator.say(text, request.locale_name)


def say_anew(request: Request, text: str) -> str:
    """``text`` in the language negotiated afresh: after the practitioner changed their choice, the
    language the next page speaks (this request's may be settled already)."""
    translator: Translator = built(request, Translator)  # type: ignore[assignment]
    return translator.say(text, negotiate(request))


@pass_context
def said(context: Context, value: Any) -> Any:
    """Jinja2's ``finalize``: every ``{{ ... }}`` that is a domain ``Message`` (a field error, a
    refusal) is shown in the page's language, so views hand the domain's messages on as they are."""
    if isinstance(value, (Message, Sentence)):
        request = context.get("request")
        if request is not None:
            return say(request, value)
    return value


class PageCatalog:
    """The ``gettext`` and ``ngettext`` of ``{% trans %}`` (setting ``jinja2.i18n.gettext``): the
    catalog of the request in the template's context, straight from its localizer. pyramid_jinja2's
    own wrapper finds the request through the thread-local and makes a TranslationString of every
    text, a few percent of a logged-in page's time for the same strings."""

    def __init__(self, domain: str) -> None:
        self.domain = domain

    @pass_context
    def gettext(self, context: Context, message: str) -> str:
        return _catalog(context).dugettext(self.domain, message)  # type: ignore[no-any-return]

    @pass_context
    def ngettext(self, context: Context, singular: str, plural: str, n: int) -> str:
        return _catalog(context).dungettext(self.domain, singular, plural, n)  # type: ignore[no-any-return]


def _catalog(context: Context) -> Any:
    """The page's translations (pyramid.i18n.Translations); a template rendered outside a view
    (no request in its context) finds the request as pyramid_jinja2 does, through the thread-local."""
    request = context.get("request") or get_current_request()
    return request.localizer.translations


def includeme(config: Configurator) -> None:
    config.add_request_method(say, "say")
    config.add_translation_dirs("entrypoints.web:locale")
    config.set_locale_negotiator(negotiate)
    config.add_route("language", "/language", factory=PublicPage)
    config.add_view(switch_language, route_name="language", request_method="GET")
