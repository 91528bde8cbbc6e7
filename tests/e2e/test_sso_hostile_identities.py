"""Hostile identities at the door: a provider's word on an email counts only for the address it
was given for, and a provider switched off while a one-time password is pending links nobody.

End to end through the real loopback provider (OpenID Connect and plain OAuth 2.0); nothing in
the portal is patched."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_sso_admin import logged_out
from tests.e2e.test_sso_providers import add_provider, added, list_action, links_of, oauth2, oauth2_fields  # noqa: F401
from tests.e2e.test_workflows import set_policy
from tests.loopback_op.provider import LoopbackProvider
from tests.loopback_op.switches import DROP

ANN = "ann@acme.test"
OWNER = "owner@acme.test"
TRUSTING = ["link_verified_email", "register"]


@pytest.mark.parametrize("unknown_identity", TRUSTING)
def test_an_oauth2_providers_email_verified_vouches_only_for_its_own_email_not_the_configured_field(
    sso: Sso, oauth2: LoopbackProvider, engine: Engine, unknown_identity: str
):
    """The userinfo's ``email_verified`` speaks of its ``email``; a field the admin named for the
    email (here ``mail``, which the person may set at will) is not what the provider checked."""
    set_policy(engine, unknown_identity=unknown_identity)
    oauth2.answer_userinfo_with(
        {
            "sub": "mallory-sub",
            "email": "mallory@home.example",
            "email_verified": True,
            "mail": OWNER,
            "given_name": "Mal",
            "family_name": "Lory",
        }
    )
    provider_id = added(add_provider(sso, oauth2, "Git Host", **oauth2_fields(oauth2, email_field="mail")))
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, 303, provider_id).location.endswith("/sso/link")  # only a code can tell
    assert logged_out(browser) and links_of(engine, provider_id) == []


@pytest.mark.parametrize("unknown_identity", TRUSTING)
def test_the_userinfos_email_verified_never_vouches_for_another_email_the_id_token_names(
    sso: Sso, engine: Engine, unknown_identity: str
):
    """The signed ID token wins where both speak, so its email is the one used; a verified flag
    only the userinfo sends was said of the userinfo's own address."""
    provider_id = sso.connect()
    set_policy(engine, unknown_identity=unknown_identity)
    sso.op.login_as(
        "mallory-sub", email="mallory@home.example", email_verified=True, given_name="Mal", family_name="Lory"
    )
    sso.op.patch_id_token(email=OWNER, email_verified=DROP)
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, 303).location.endswith("/sso/link")
    assert logged_out(browser) and links_of(engine, provider_id) == []


def test_a_provider_switched_off_while_a_code_is_pending_links_nobody_and_logs_nobody_in(sso: Sso, engine: Engine):
    """As its callback would be refused, so is the code of a sign-in through it, and no code is sent."""
    provider_id = sso.connect()
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, 303).location.endswith("/sso/link")
    sso.request_code(browser, ANN)
    code = sso.code_from_mail()
    late = sso.portal.browser("acme")
    assert sso.log_in(late, 303).location.endswith("/sso/link")
    mails = len(sso.portal.mails())
    list_action(sso.admin(), "disable", provider_id)

    page = sso.enter_code(browser, code, status=404)
    assert "does not exist or is switched off" in page.text
    assert logged_out(browser) and links_of(engine, provider_id) == []
    form = late.get("/sso/link").forms["email-form"]
    form["email"] = ANN
    assert "does not exist or is switched off" in form.submit(status=404).text
    assert len(sso.portal.mails()) == mails
