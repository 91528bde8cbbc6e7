"""A German practice runs a day without reading a word of English, and so does a Dutch one
(issue 12): every page of the day, its field errors and notices, and every mail in the outbox,
hold no English text of the catalog.

What counts as English: each msgid of ``portal.pot`` whose translation in the language differs
from it, cut at its placeholders, every piece of at least ``MIN_LENGTH`` characters (so "OK" or
"SCIM", the same in every language, never count) that the translation does not contain too.
"""

from __future__ import annotations

import csv
import io
import re
from functools import cache
from pathlib import Path

import pytest
import webtest
from babel.messages.pofile import read_po

from tests.e2e.conftest import Portal
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_provider_test_sign_in import run_test

LOCALE = Path(__file__).parents[2] / "src/entrypoints/web/locale"
MIN_LENGTH = 12
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|%%|<[^>]*>")
LANGUAGES = ("de", "nl")


@cache
def english_pieces(language: str) -> frozenset[str]:
    """The English pieces that must not show in ``language``: of every msgid (and plural) whose
    translation differs, the parts between placeholders and tags the translation does not hold."""
    with open(LOCALE / language / "LC_MESSAGES" / "portal.po", "rb") as po:
        catalog = read_po(po, locale=language, domain="portal")
    pieces: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated = " ".join(strings)
        for msgid in ids:
            if msgid in strings:
                continue
            for piece in PLACEHOLDER.split(msgid):
                piece = " ".join(piece.split()).strip(" .,;:()“”\"'")
                if len(piece) >= MIN_LENGTH and piece not in translated:
                    pieces.update((piece, piece[:1].upper() + piece[1:]))  # as a page's sentence starts it
    return frozenset(pieces)


def english_in(text: str, language: str) -> list[str]:
    """The English pieces in ``text``, each as whole words (not "practitioner" in "practitioner_added")."""
    text = " ".join(text.split())
    return sorted(
        f"{piece} in «{text[max(found.start() - 40, 0) : found.end() + 40]}»"
        for piece in english_pieces(language)
        if (found := re.search(rf"(?<![\w/@.-]){re.escape(piece)}(?![\w/@-])", text))
    )


class Day:
    """What a practice's people read in a day, collected page by page and mail by mail."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.found: dict[str, list[str]] = {}

    def read(self, where: str, page: webtest.TestResponse) -> webtest.TestResponse:
        if page.content_type == "text/html":
            assert page.html.find("html")["lang"] == self.language, where
            text = page.html.get_text(" ")
        else:
            text = page.body.decode("utf-8-sig")
        if english := english_in(text, self.language):
            self.found[where] = english
        return page

    def get(self, browser: webtest.TestApp, path: str, status: int | str = 200) -> webtest.TestResponse:
        return self.read(f"GET {path}", browser.get(path, status=status))


def speaking(browser: webtest.TestApp, language: str) -> webtest.TestApp:
    browser.extra_environ["HTTP_ACCEPT_LANGUAGE"] = f"{language},en;q=0.5"
    return browser


def set_practice_language(day: Day, owner: webtest.TestApp) -> None:
    form = day.get(owner, "/admin/practice").forms["practice-form"]
    form["default_language"] = day.language
    day.read("saved practice settings", form.submit(status=303).follow())


def visitor_pages(day: Day, portal: Portal, sso: Sso) -> None:
    """Logged out: the login page, a failed login, the switch, the password forgotten, the SSO button."""
    visitor = speaking(portal.browser(), day.language)
    login = day.get(visitor, "/login")
    form = login.forms["login-form"]
    form["email"], form["password"] = "owner@acme.test", "wrong password"
    day.read("failed login", form.submit(status="*"))
    day.read("empty login", visitor.get("/login").forms["login-form"].submit(status="*"))
    forgot = day.get(visitor, "/password/forgot").forms[0]
    forgot["email"] = "pat@acme.test"
    day.read("password forgotten", forgot.submit(status="*").maybe_follow())
    day.get(visitor, "/no-such-page", status=404)
    day.read("unreadable address", speaking(portal.browser(), day.language).get("/%FF", status=400))


def sso_link_pages(day: Day, portal: Portal, sso: Sso) -> None:
    """A first Single Sign On: the link page, a code asked for, a wrong code."""
    sso.op.login_as("pat-sub", email="pat@acme.test")
    newcomer = speaking(portal.browser(), day.language)
    assert sso.log_in(newcomer, status=303).location.endswith("/sso/link")
    day.get(newcomer, "/sso/link")
    day.read("code asked for", sso.request_code(newcomer, "pat@acme.test").maybe_follow())
    day.read("wrong code", sso.enter_code(newcomer, "000000"))


def practitioner_pages(day: Day, portal: Portal) -> None:
    """Pat's own pages: home, account (with an error), language, linked accounts."""
    pat = speaking(portal.browser(), day.language)
    portal.log_in(pat, "pat@acme.test")
    day.get(pat, "/")
    account = day.get(pat, "/account")
    form = account.forms["account-form"]
    form["first_name"] = ""
    day.read("account error", form.submit(status="*"))
    day.get(pat, "/account/linked")


def admin_pages(day: Day, sso: Sso, provider_id: str) -> None:
    """Every admin page, with an error on the forms that take one."""
    owner = speaking(sso.admin(), day.language)
    listed = day.get(owner, "/admin/practitioners")
    add = next(f for f in listed.forms.values() if "email" in f.fields and "first_name" in f.fields)
    add["email"] = "not an email"
    day.read("adding with an error", add.submit(status="*"))
    for row in listed.html.find_all("a", href=re.compile(r"^/admin/practitioners/\w+")):
        day.get(owner, row["href"])
    day.get(owner, "/admin/provisioning")
    day.get(owner, "/admin/authentication")
    day.get(owner, f"/admin/authentication?provider={provider_id}")
    provider_form = owner.get("/admin/authentication", {"provider": "new"}).forms["provider-form"]
    provider_form["issuer"] = sso.op.issuer + "/nope"
    day.read("provider error", provider_form.submit("action", value="discover", status="*"))
    day.read("test sign-in report", run_test(sso, owner, provider_id))
    day.get(owner, "/admin/authentication/policy")
    day.get(owner, "/admin/practice")
    day.get(owner, "/admin/audit")
    day.read("audit filter error", owner.get("/admin/audit", {"from": "yesterday"}, status="*"))
    download = owner.get("/admin/audit.csv")
    rows = list(csv.reader(io.StringIO(download.body.decode("utf-8-sig"))))
    if english := english_in(" ".join(" | ".join(row) for row in rows), day.language):
        day.found["GET /admin/audit.csv"] = english


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_practice_runs_a_day_in_its_language_without_a_word_of_english(sso: Sso, portal: Portal, language: str):
    day = Day(language)
    provider_id = sso.connect()
    set_practice_language(day, speaking(sso.admin(), language))
    portal.add_practitioner("acme", "pat@acme.test")
    visitor_pages(day, portal, sso)
    sso_link_pages(day, portal, sso)
    practitioner_pages(day, portal)
    admin_pages(day, sso, provider_id)
    for mail in portal.mails():
        text = f"{mail.subject}\n{mail.text}\n{mail.html}"
        if english := english_in(text, language):
            day.found[f"mail {mail.subject}"] = english
    assert day.found == {}
