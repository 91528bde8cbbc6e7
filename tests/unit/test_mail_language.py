"""Every mail speaks its recipient's language, whoever triggers it (domain.mail).

The language is ``Practitioner.language_in``: their own choice, else what their provider or SCIM
client sent, else the practice's default, else English. The fake translator holds a few German
and Dutch sentences, as the real catalogs do.
"""

from __future__ import annotations

import pytest

from domain.errors import N_
from domain.practitioners.mail import Letter, Post
from domain.passwords.recovery import recovery_letter
from domain.practitioners.email_change import EmailChange
from domain.sso.messages import link_code_letter

HELLO = "Hello %(name)s,"
RESET_SUBJECT = "Reset your password for %(practice)s"
SET_SUBJECT = "Your account at %(practice)s"
HOURS = "The link works once and expires in %(count)s hour."
DAYS = "The link works once and expires in %(count)s day."
CODE_MINUTES = "The code works once and expires in %(count)s minute."

CATALOG = {
    "de": {
        HELLO: "Hallo %(name)s,",
        RESET_SUBJECT: "Passwort für %(practice)s zurücksetzen",
        SET_SUBJECT: "Ihr Konto bei %(practice)s",
        HOURS: (
            "Der Link gilt einmal und läuft in %(count)s Stunde ab.",
            "Der Link gilt einmal und läuft in %(count)s Stunden ab.",
        ),
        DAYS: (
            "Der Link gilt einmal und läuft in %(count)s Tag ab.",
            "Der Link gilt einmal und läuft in %(count)s Tagen ab.",
        ),
        CODE_MINUTES: (
            "Der Code gilt einmal und läuft in %(count)s Minute ab.",
            "Der Code gilt einmal und läuft in %(count)s Minuten ab.",
        ),
    },
    "nl": {
        HELLO: "Beste %(name)s,",
        RESET_SUBJECT: "Wachtwoord herstellen voor %(practice)s",
        HOURS: (
            "De link werkt één keer en verloopt over %(count)s uur.",
            "De link werkt één keer en verloopt over %(count)s uur.",
        ),
    },
}


@pytest.fixture
def world(world):
    for language, entries in CATALOG.items():
        for msgid, said in entries.items():
            world.translator.learn(language, msgid, said)
    return world


def reset_mail_to(world, tenant, ann):
    world.mailer.sent.clear()
    world.password_reset.request_link(tenant, ann.email)
    (mail,) = world.mailer.sent
    return mail


@pytest.mark.parametrize(
    ("own", "provided", "default", "expected"),
    [
        ("de", "nl-NL", "en", "Hallo Ann,"),
        (None, "nl-NL", "de", "Beste Ann,"),
        (None, None, "de", "Hallo Ann,"),
        (None, "fr-FR", "nl", "Beste Ann,"),
        (None, None, None, "Hello Ann,"),
    ],
)
def test_a_reset_mail_speaks_the_own_choice_else_the_providers_else_the_practice_default(
    world, own, provided, default, expected
):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    ann.language, ann.provided_language, tenant.default_language = own, provided, default
    mail = reset_mail_to(world, tenant, ann)
    assert mail.text.startswith(expected + "\n\n") and mail.html.startswith(f"<p>{expected}</p>")


def test_a_german_reset_mail_has_a_german_subject_and_the_plural_form_of_its_validity(world):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    ann.language = "de"
    mail = reset_mail_to(world, tenant, ann)
    assert mail.subject == "Passwort für Acme Practice zurücksetzen"
    assert "Der Link gilt einmal und läuft in 1 Stunde ab." in mail.text
    assert mail.to == "ann@acme.test" and world.token_source.issued[-1] in mail.text


def test_an_admins_new_practitioner_gets_the_set_password_mail_in_the_practice_default(world):
    tenant, owner = world.open_tenant()
    owner.language = "nl"  # the admin's own language does not matter
    tenant.default_language = "de"
    world.directory.add(owner, tenant, "bea@acme.test", "Bea", "Jones", send_password_link=True)
    (mail,) = world.mailer.sent
    assert mail.subject == "Ihr Konto bei Acme Practice"
    assert mail.text.startswith("Hallo Bea,") and "läuft in 3 Tagen ab." in mail.text


def test_the_email_change_link_reaches_the_new_address_in_the_practitioners_language(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    ann.provided_language = "nl_NL"
    world.build(EmailChange).request(owner, tenant, ann.id, "ann.new@example.test")
    (mail,) = world.mailer.sent
    assert mail.to == "ann.new@example.test" and mail.text.startswith("Beste Ann,")


def test_a_translated_mail_escapes_what_it_fills_in_in_html(world):
    tenant, _ = world.open_tenant()
    tenant.name = "Dr. <b>Müller</b> & Partner"
    ann = world.practitioner(tenant)
    ann.language = "de"
    mail = reset_mail_to(world, tenant, ann)
    assert "Passwort für Dr. <b>Müller</b> & Partner zurücksetzen" == mail.subject
    assert "<b>" not in mail.html and "Dr. &lt;b&gt;Müller&lt;/b&gt; &amp; Partner" in mail.html


def test_a_code_mail_says_its_minutes_in_the_plural_form_of_the_language(world):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    ann.language = "de"
    post = world.build(Post)
    for minutes, said in ((1, "in 1 Minute ab."), (10, "in 10 Minuten ab.")):
        world.mailer.sent.clear()
        post.send(tenant, ann, link_code_letter(tenant, "123456", "Contoso", minutes))
        (mail,) = world.mailer.sent
        assert said in mail.text and "\n\n    123456\n\n" in mail.text and "<strong>123456</strong>" in mail.html


def test_english_mails_read_as_before_word_for_word(world):
    tenant, owner = world.open_tenant()
    world.build(Post).send(tenant, owner, recovery_letter(tenant, "https://acme.portal.test/recover/t0k3n"))
    (mail,) = world.mailer.sent
    assert mail.subject == "Your recovery link for Acme Practice"
    assert mail.text == (
        "Hello Account,\n\nThe administrator of Practice Portal sent you this link to sign in to Acme Practice once, "
        "without Single Sign On, for example while your identity provider does not work.\n\n"
        "https://acme.portal.test/recover/t0k3n\n\nThe link works once and expires in 30 minutes. You will need your "
        "password; if your account has none, you choose one first. If you did not ask for this, tell your "
        "administrator.\n\nAcme Practice\n"
    )
    assert mail.html == (
        "<p>Hello Account,</p><p>The administrator of Practice Portal sent you this link to sign in to Acme Practice "
        "once, without Single Sign On, for example while your identity provider does not work.</p>"
        '<p><a href="https://acme.portal.test/recover/t0k3n">https://acme.portal.test/recover/t0k3n</a></p>'
        "<p>The link works once and expires in 30 minutes. You will need your password; if your account has none, "
        "you choose one first. If you did not ask for this, tell your administrator.</p><p>Acme Practice</p>"
    )


def test_a_letter_without_link_or_code_goes_from_the_opening_to_the_closing():
    letter = Letter(N_("Subject"), N_("Opening."), (N_("First line."), N_("Second line.")))
    mail = letter.written("ann@acme.test", "Ann", "Acme", str)
    assert mail.text == "Hello Ann,\n\nOpening.\n\nFirst line.\nSecond line.\n\nAcme\n"
    assert mail.html == "<p>Hello Ann,</p><p>Opening.</p><p>First line.<br>Second line.</p><p>Acme</p>"
