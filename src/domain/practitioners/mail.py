"""Mail to a practitioner, in their language, whoever triggers it.

A feature says what a mail says as a ``Letter`` of whole sentences (``Message``s, never pieces of
one); the ``Post`` writes it out in the recipient's language (``Practitioner.language_in``: their
own choice, else their provider's, else the practice's default, else English) through the
``Translator`` port and hands it to the ``Mailer``. So a reset a German practitioner's colleague
asks for in an English browser still reaches them in German.

Every mail has one shape: a greeting, the opening, the link or the code if there is one, the
closing lines, and the practice's name. Text from outside (names, links, codes) is escaped in the
HTML part after it is translated, since a translation fills it in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from domain.errors import Message, N_
from domain.ports import MailMessage, Mailer, Translator
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.tenant import Tenant
from domain.text import fold_to_one_line

CODE_STYLE = "font-size:1.6em;letter-spacing:.2em"  # a code stands out, spaced for reading aloud


@dataclass(frozen=True)
class Letter:
    """What one mail says; ``closing`` is one paragraph, a line each, and ``link`` or ``code`` what
    the mail carries, if anything."""

    subject: Message
    opening: Message
    closing: tuple[Message, ...]
    link: str | None = None
    code: str | None = None

    def written(self, to: str, name: str, practice: str, say: Callable[[Message], str]) -> MailMessage:
        """The mail to ``to``, greeting ``name``, signed with the ``practice``, each sentence ``say``-d."""
        greeting, opening = say(N_("Hello %(name)s,", name=name)), say(self.opening)
        closing = [say(line) for line in self.closing]
        text = f"{greeting}\n\n{opening}\n\n{self._carried_text()}" + "\n".join(closing) + f"\n\n{practice}\n"
        html = (
            f"<p>{escape(greeting)}</p><p>{escape(opening)}</p>{self._carried_html()}"
            f"<p>{'<br>'.join(escape(line) for line in closing)}</p><p>{escape(practice)}</p>"
        )
        return MailMessage(to=to, subject=fold_to_one_line(say(self.subject)), text=text, html=html)

    def _carried_text(self) -> str:
        if self.link is not None:
            return f"{self.link}\n\n"
        return f"    {self.code}\n\n" if self.code is not None else ""

    def _carried_html(self) -> str:
        if self.link is not None:
            return f'<p><a href="{escape(self.link)}">{escape(self.link)}</a></p>'
        if self.code is not None:
            return f'<p style="{CODE_STYLE}"><strong>{escape(self.code)}</strong></p>'
        return ""


@dataclass(frozen=True)
class Post:
    """Sends a practitioner a ``Letter`` in their language."""

    _mailer: Mailer
    _translator: Translator

    def send(self, tenant: Tenant, practitioner: Practitioner, letter: Letter, to: str | None = None) -> None:
        """To the practitioner's email, or to ``to``, another address of theirs (a new one that
        waits for its proof, or the old one after a change): in their language all the same."""
        language = practitioner.language_in(tenant)
        mail = letter.written(
            to or practitioner.email,
            practitioner.first_name,
            tenant.name,
            lambda sentence: self._translator.say(sentence, language),
        )
        self._mailer.send(mail)
