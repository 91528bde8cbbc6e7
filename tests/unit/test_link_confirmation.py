"""LinkConfirmation and LinkChallenge: the one-time password that guards every new link."""

import pytest

from domain.errors import AccountDeactivated, CodeRequestsThrottled, InvalidValue, LinkCodeRefused, SsoRefused
from domain.sso.confirmation import CODES_PER_ADDRESS, CODES_PER_IDENTITY_AND_EMAIL
from domain.identifiers import digest
from domain.sso.outcome import ConfirmLink
from domain.audit import AuditKind
from domain.sso.pending import PendingLink

REDIRECT = "https://acme.portal.test/process_sso"
ADDRESS = "192.0.2.10"


def sign_in(world, tenant, subject: str, linking_practitioner=None) -> PendingLink:
    """A fresh SSO sign-in of ``subject`` (a new browser session) that waits for its code."""
    (provider,) = world.providers.list(tenant.id)
    world.signed_in_as(subject, email=f"{subject}@example.test")
    login, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT, linking_practitioner)
    outcome = world.sso.complete(tenant, login, {"state": login.state, "code": "c"}, REDIRECT)
    assert isinstance(outcome, ConfirmLink)
    return outcome.pending


@pytest.fixture
def pending(world):
    """A practitioner Ann, and a verified but unlinked identity waiting in a browser session."""
    tenant, _ = world.open_tenant()
    world.connect_provider(tenant)
    world.practitioner(tenant, "ann@acme.test")
    return tenant, sign_in(world, tenant, "sub-ann")


def sent_code(world) -> str:
    return world.token_source.issued[-2]  # the code, then the challenge's salt


def test_the_code_goes_to_the_registered_email_not_the_providers(world, pending):
    tenant, link = pending
    world.link_confirmation.request_code(tenant, link, " ANN@acme.test ", ADDRESS)
    (mail,) = world.mailer.sent
    assert mail.to == "ann@acme.test"
    assert sent_code(world) in mail.text and sent_code(world) in mail.subject
    assert "Acme Practice" in mail.text and "expires in 10 minutes" in mail.text
    assert "If you did not ask for this" in mail.text


def test_an_unregistered_email_gets_the_same_answer_and_no_mail(world, pending):
    tenant, link = pending
    assert world.link_confirmation.request_code(tenant, link, "nobody@acme.test", ADDRESS) is None
    assert world.mailer.sent == []


def test_a_malformed_email_is_a_field_error(world, pending):
    tenant, link = pending
    with pytest.raises(InvalidValue):
        world.link_confirmation.request_code(tenant, link, "not an email", ADDRESS)


def test_the_right_code_links_the_identity_and_logs_the_practitioner_in(world, pending):
    tenant, link = pending
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    ann = world.link_confirmation.confirm(tenant, link, sent_code(world))
    assert ann.email == "ann@acme.test"
    (stored,) = world.links.links
    assert (stored.practitioner_id, stored.issuer, stored.subject) == (ann.id, "https://login.contoso.test", "sub-ann")
    assert world.audit.kinds()[-1] == AuditKind.LINK_CONFIRMED


def test_the_code_is_stored_only_as_a_salted_digest(world, pending):
    tenant, link = pending
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    (challenge,) = world.challenges.challenges
    assert sent_code(world) not in (challenge.code_digest, challenge.salt)


def test_a_wrong_code_counts_and_five_wrong_codes_use_the_challenge_up(world, pending):
    tenant, link = pending
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    code = sent_code(world)
    for left in (4, 3, 2, 1):
        with pytest.raises(LinkCodeRefused, match=f"{left} tries left"):
            world.link_confirmation.confirm(tenant, link, "000000")
    with pytest.raises(LinkCodeRefused, match="too many wrong codes"):
        world.link_confirmation.confirm(tenant, link, "000000")
    with pytest.raises(LinkCodeRefused, match="too many wrong codes"):
        world.link_confirmation.confirm(tenant, link, code)
    assert world.links.links == []
    assert world.audit.kinds().count(AuditKind.LINK_FAILED) == 6


def test_an_expired_code_links_nothing(world, pending):
    tenant, link = pending
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    world.clock.advance(minutes=9, seconds=59)
    code = sent_code(world)
    world.clock.advance(seconds=1)
    with pytest.raises((LinkCodeRefused, SsoRefused), match="expired"):
        world.link_confirmation.confirm(tenant, link, code)
    assert world.links.links == []


def test_a_code_works_once(world, pending):
    tenant, link = pending
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    code = sent_code(world)
    world.link_confirmation.confirm(tenant, link, code)
    with pytest.raises(LinkCodeRefused):
        world.link_confirmation.confirm(tenant, link, code)


def test_a_code_typed_into_another_browser_links_nothing(world, pending):
    tenant, link = pending
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    from dataclasses import replace

    other_browser = replace(link, binding="another-sessions-binding")
    with pytest.raises(LinkCodeRefused, match="no code was sent"):
        world.link_confirmation.confirm(tenant, other_browser, sent_code(world))
    assert world.links.links == []


def test_a_new_code_replaces_the_previous_one(world, pending):
    tenant, link = pending
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    first = sent_code(world)
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    with pytest.raises(LinkCodeRefused):
        world.link_confirmation.confirm(tenant, link, first)
    world.link_confirmation.confirm(tenant, link, sent_code(world))


def test_codes_per_browser_are_limited(world, pending):
    tenant, link = pending
    for _ in range(3):
        world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    with pytest.raises(CodeRequestsThrottled, match="too many codes were requested, so none was sent; wait 10 minutes"):
        world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    assert len(world.mailer.sent) == 3


def test_codes_asked_through_other_identities_never_use_up_the_practitioners_own(world, pending):
    tenant, own = pending
    for n in range(5):
        world.link_confirmation.request_code(
            tenant, sign_in(world, tenant, f"sub-stranger-{n}"), "ann@acme.test", ADDRESS
        )
    world.link_confirmation.request_code(tenant, own, "ann@acme.test", ADDRESS)
    assert len(world.mailer.sent) == 6
    assert world.link_confirmation.confirm(tenant, own, sent_code(world)).email == "ann@acme.test"


@pytest.mark.parametrize("email", ["ann@acme.test", "nobody@acme.test"], ids=["registered", "unregistered"])
def test_one_identity_asking_too_often_for_one_email_is_told_to_wait_whether_or_not_it_is_registered(
    world, pending, email
):
    tenant, _ = pending
    for _ in range(CODES_PER_IDENTITY_AND_EMAIL.max_uses):
        world.link_confirmation.request_code(tenant, sign_in(world, tenant, "sub-eager"), email, ADDRESS)
    sent = len(world.mailer.sent)
    with pytest.raises(CodeRequestsThrottled, match="wait 60 minutes"):
        world.link_confirmation.request_code(tenant, sign_in(world, tenant, "sub-eager"), email, ADDRESS)
    assert len(world.mailer.sent) == sent
    world.link_confirmation.request_code(tenant, sign_in(world, tenant, "sub-eager"), "someone.else@acme.test", ADDRESS)
    world.clock.advance(hours=1)
    world.link_confirmation.request_code(tenant, sign_in(world, tenant, "sub-eager"), email, ADDRESS)


def test_codes_asked_from_one_client_address_are_limited(world, pending):
    tenant, _ = pending
    for n in range(CODES_PER_ADDRESS.max_uses):
        world.link_confirmation.request_code(tenant, sign_in(world, tenant, f"sub-{n}"), f"guess{n}@acme.test", ADDRESS)
    with pytest.raises(CodeRequestsThrottled, match="wait 15 minutes"):
        world.link_confirmation.request_code(tenant, sign_in(world, tenant, "sub-next"), "ann@acme.test", ADDRESS)
    world.link_confirmation.request_code(tenant, sign_in(world, tenant, "sub-next"), "ann@acme.test", "198.51.100.7")
    assert [m.to for m in world.mailer.sent] == ["ann@acme.test"]


def test_a_refused_request_uses_up_no_other_limit(world, pending):
    tenant, link = pending
    for n in range(CODES_PER_IDENTITY_AND_EMAIL.max_uses):
        world.link_confirmation.request_code(tenant, sign_in(world, tenant, "sub-ann"), "ann@acme.test", f"10.0.0.{n}")
    for _ in range(3):
        with pytest.raises(CodeRequestsThrottled):
            world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    world.link_confirmation.request_code(tenant, link, "bob@acme.test", ADDRESS)  # the sign-in still has its 3


def test_linking_from_account_settings_says_when_too_many_codes_were_asked_for(world, pending):
    tenant, _ = pending
    ann = world.practitioners.get_by_email(tenant.id, "ann@acme.test")
    for _ in range(CODES_PER_IDENTITY_AND_EMAIL.max_uses):
        sign_in(world, tenant, "sub-ann-work", linking_practitioner=ann)
    with pytest.raises(CodeRequestsThrottled, match="wait 60 minutes"):
        sign_in(world, tenant, "sub-ann-work", linking_practitioner=ann)
    assert len(world.mailer.sent) == CODES_PER_IDENTITY_AND_EMAIL.max_uses


def test_a_practitioner_deactivated_before_confirming_is_not_linked(world, pending):
    tenant, link = pending
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    owner = world.onboarding.owner_of(tenant)
    ann = world.practitioners.get_by_email(tenant.id, "ann@acme.test")
    world.directory.deactivate(owner, tenant, ann.id)
    with pytest.raises(AccountDeactivated):
        world.link_confirmation.confirm(tenant, link, sent_code(world))
    assert world.links.links == []


def test_a_deactivated_practitioner_gets_no_code(world, pending):
    tenant, link = pending
    owner = world.onboarding.owner_of(tenant)
    world.directory.deactivate(owner, tenant, world.practitioners.get_by_email(tenant.id, "ann@acme.test").id)
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    assert world.mailer.sent == []


def test_the_pending_identity_expires_with_the_sign_in(world, pending):
    tenant, link = pending
    world.clock.advance(minutes=11)
    with pytest.raises(SsoRefused, match="expired"):
        world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)


def test_the_binding_is_never_stored_in_clear(world, pending):
    tenant, link = pending
    world.link_confirmation.request_code(tenant, link, "ann@acme.test", ADDRESS)
    assert world.challenges.challenges[0].binding_digest == digest(link.binding)
