"""Issue 11 part 6: an admin removes a practitioner's linked identity and changes their email."""

from __future__ import annotations

import pytest

from domain.audit import AuditKind
from domain.errors import EmailAlreadyRegistered, InvalidResetToken, InvalidValue, NotAllowed, UnknownLink
from domain.errors import UnknownPractitioner
from domain.passwords.reset_token import ResetPurpose
from domain.practitioners.email_change import EmailChange
from domain.practitioners.linked_identities import LastWayIn, LinkedIdentities, after_removal
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.rights import ModuleRight
from domain.sso.identity import IdentityLink
from domain.sso.matching import ConfirmByCode
from domain.tenancy.tenant import Tenant, UnknownIdentityHandling, Workflow
from tests.unit.conftest import World


def email_change(world: World) -> EmailChange:
    return world.build(EmailChange)


def identities(world: World) -> LinkedIdentities:
    return world.build(LinkedIdentities)


def link_of(world: World, tenant: Tenant, who: Practitioner, subject: str = "ann-at-contoso") -> IdentityLink:
    provider = next(iter(world.providers.list(tenant.id)), None) or world.connect_provider(tenant)
    link = IdentityLink(tenant.id, who.id, provider.id, provider.settings.issuer, subject, world.clock.now())
    world.links.add(link)
    return link


def last_link(world: World) -> str:
    return world.mailer.sent[-1].text.split("https://acme.portal.test/email/confirm/")[1].split()[0]


# --- changing the email ------------------------------------------------------------------------


def test_a_new_email_waits_for_its_link_and_the_old_one_keeps_working(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    email_change(world).request(owner, tenant, ann.id, " Ann.New@Example.TEST ")
    assert (ann.email, ann.pending_email) == ("ann@acme.test", "ann.new@example.test")
    mail = world.mailer.sent[-1]
    assert mail.to == "ann.new@example.test" and "ann@acme.test" in mail.text and "3 days" in mail.text
    assert world.practitioners.get_by_email(tenant.id, "ann@acme.test") is ann
    event = world.audit.events[-1]
    assert (event.kind, event.actor_id, event.subject_id) == (AuditKind.EMAIL_CHANGE_REQUESTED, owner.id, ann.id)


def test_following_the_link_makes_the_new_email_the_proven_one_and_tells_the_old_address(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    service = email_change(world)
    service.request(owner, tenant, ann.id, "ann.new@example.test")
    token = last_link(world)
    assert service.open_link(tenant, token).new_email == "ann.new@example.test"
    assert ann.email == "ann@acme.test"  # opening the link changes nothing
    service.confirm(tenant, token)
    assert (ann.email, ann.pending_email, ann.email_proven) == ("ann.new@example.test", None, True)
    notice = world.mailer.sent[-1]
    assert notice.to == "ann@acme.test" and "was changed to ann.new@example.test" in notice.text
    event = world.audit.events[-1]
    assert (event.kind, event.actor_id, event.subject_id) == (AuditKind.EMAIL_CHANGED, ann.id, ann.id)
    with pytest.raises(InvalidResetToken):  # single use
        service.confirm(tenant, token)


def test_a_new_request_replaces_the_pending_one_and_its_link(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    service = email_change(world)
    service.request(owner, tenant, ann.id, "first@example.test")
    first = last_link(world)
    service.request(owner, tenant, ann.id, "second@example.test")
    assert ann.pending_email == "second@example.test"
    with pytest.raises(InvalidResetToken):
        service.confirm(tenant, first)
    service.confirm(tenant, last_link(world))
    assert ann.email == "second@example.test"


def test_a_registered_email_set_from_elsewhere_ends_the_change_waiting_for_its_link(world):
    """A provisioning client, or the provider in pseudo-SSO, sets the email: the admin's older change,
    asked to replace the address now gone, must not override it when its link is followed later."""
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    service = email_change(world)
    service.request(owner, tenant, ann.id, "ann.new@example.test")
    assert ann.change_email("ann@idp.example.test", proven=False)
    assert ann.pending_email is None
    with pytest.raises(InvalidResetToken):
        service.confirm(tenant, last_link(world))
    assert ann.email == "ann@idp.example.test"


def test_the_link_expires_after_three_days(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    email_change(world).request(owner, tenant, ann.id, "ann.new@example.test")
    world.clock.advance(days=3, seconds=1)
    with pytest.raises(InvalidResetToken):
        email_change(world).confirm(tenant, last_link(world))
    assert ann.email == "ann@acme.test"


def test_an_email_change_keeps_an_open_invitation_link(world):
    tenant, owner = world.open_tenant()
    ann = world.directory.add(owner, tenant, "ann@acme.test", "Ann", "Smith", send_password_link=True)
    email_change(world).request(owner, tenant, ann.id, "ann.new@example.test")
    assert [t.purpose for t in world.reset_tokens.tokens] == [ResetPurpose.SET, ResetPurpose.EMAIL_CHANGE]


def test_a_password_link_never_changes_an_email_nor_an_email_link_a_password(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    email_change(world).request(owner, tenant, ann.id, "ann.new@example.test")
    with pytest.raises(InvalidResetToken):
        world.password_reset.open_link(tenant, last_link(world))
    world.password_reset.request_link(tenant, "ann@acme.test")
    reset_token = world.mailer.sent[-1].text.split("/password/reset/")[1].split()[0]
    with pytest.raises(InvalidResetToken):
        email_change(world).open_link(tenant, reset_token)


@pytest.mark.parametrize("taken", ["owner@acme.test", "OWNER@acme.test"])
def test_an_email_another_practitioner_has_is_refused(world, taken):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    with pytest.raises(EmailAlreadyRegistered):
        email_change(world).request(owner, tenant, ann.id, taken)
    assert ann.pending_email is None and not world.mailer.sent[1:]


def test_an_address_taken_while_the_link_waits_is_refused_when_it_is_followed(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    email_change(world).request(owner, tenant, ann.id, "shared@example.test")
    token = last_link(world)
    world.practitioner(tenant, "shared@example.test")
    with pytest.raises(EmailAlreadyRegistered):
        email_change(world).confirm(tenant, token)
    assert ann.email == "ann@acme.test"


@pytest.mark.parametrize("email", ["", "not an email", "ann@acme.test"])
def test_an_invalid_or_unchanged_email_is_refused(world, email):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    with pytest.raises(InvalidValue):
        email_change(world).request(owner, tenant, ann.id, email)
    assert ann.pending_email is None


def test_under_pseudo_sso_the_email_belongs_to_the_provider(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    email_change(world).request(owner, tenant, ann.id, "ann.new@example.test")
    token = last_link(world)
    tenant.auth = tenant.auth.but(workflow=Workflow.PSEUDO_SSO)
    with pytest.raises(NotAllowed, match="identity provider"):
        email_change(world).request(owner, tenant, ann.id, "other@example.test")
    with pytest.raises(NotAllowed):  # a link sent before the switch changes nothing either
        email_change(world).confirm(tenant, token)
    assert ann.email == "ann@acme.test"


def test_only_the_owner_changes_the_email_of_someone_who_holds_a_right(world):
    tenant, owner = world.open_tenant()
    clerk = world.directory.add(
        owner, tenant, "clerk@acme.test", "C", "Lerk", rights=frozenset({ModuleRight.PRACTITIONERS})
    )
    holder = world.directory.add(
        owner, tenant, "h@acme.test", "H", "Older", rights=frozenset({ModuleRight.AUTHENTICATION})
    )
    ann = world.practitioner(tenant)
    for target in (owner, holder):
        with pytest.raises(NotAllowed):
            email_change(world).request(clerk, tenant, target.id, "mine@evil.test")
    email_change(world).request(clerk, tenant, ann.id, "ann.new@example.test")
    email_change(world).request(owner, tenant, holder.id, "h.new@example.test")


def test_another_practices_practitioner_is_unknown(world):
    tenant, owner = world.open_tenant()
    beta, _ = world.open_tenant("beta")
    ann = world.practitioner(tenant)
    with pytest.raises(UnknownPractitioner):
        email_change(world).request(world.onboarding.owner_of(beta), beta, ann.id, "x@example.test")
    with pytest.raises(UnknownPractitioner):
        identities(world).record(world.onboarding.owner_of(beta), beta, ann.id)


# --- linked identities --------------------------------------------------------------------------


def test_an_admin_removes_a_link_and_the_next_sign_in_with_it_matches_nobody(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    link = link_of(world, tenant, ann)
    provider = world.providers.get(tenant.id, link.provider_id)
    record = identities(world).record(owner, tenant, ann.id)
    assert [(i.link, i.provider_name, i.last_way_in) for i in record.identities] == [(link, "Contoso", False)]
    identities(world).remove(owner, tenant, ann.id, link.id, last_way_in_confirmed=False)
    assert world.links.of_practitioner(tenant.id, ann.id) == []
    world.signed_in_as(link.subject, email="ann@acme.test")
    assert isinstance(world.matcher.match(tenant, provider, world.idp.identity), ConfirmByCode)
    event = world.audit.events[-1]
    assert (event.kind, event.actor_id, event.subject_id) == (AuditKind.LINK_REMOVED_BY_ADMIN, owner.id, ann.id)
    assert "removed by admin owner@acme.test" in event.summary


def test_removing_the_last_way_in_needs_the_admins_confirmation(world):
    tenant, owner = world.open_tenant()
    ann = world.directory.add(owner, tenant, "ann@acme.test", "Ann", "Smith")  # no password
    link = link_of(world, tenant, ann)
    assert identities(world).record(owner, tenant, ann.id).identities[0].last_way_in
    with pytest.raises(LastWayIn, match="last way to log in"):
        identities(world).remove(owner, tenant, ann.id, link.id, last_way_in_confirmed=False)
    assert world.links.of_practitioner(tenant.id, ann.id) == [link]
    identities(world).remove(owner, tenant, ann.id, link.id, last_way_in_confirmed=True)
    assert world.links.of_practitioner(tenant.id, ann.id) == []


def test_under_restrict_to_sso_a_password_is_no_way_in(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)  # with a password
    link = link_of(world, tenant, ann)
    tenant.auth = tenant.auth.but(restrict_to_sso=True)
    assert identities(world).record(owner, tenant, ann.id).identities[0].last_way_in
    link_of(world, tenant, ann, "a-second-identity")
    assert not any(i.last_way_in for i in identities(world).record(owner, tenant, ann.id).identities)
    identities(world).remove(owner, tenant, ann.id, link.id, last_way_in_confirmed=False)


def test_an_admin_fixes_a_wrong_link_under_pseudo_sso_too(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    link = link_of(world, tenant, ann)
    tenant.auth = tenant.auth.but(workflow=Workflow.PSEUDO_SSO)
    identities(world).remove(owner, tenant, ann.id, link.id, last_way_in_confirmed=True)
    assert world.links.of_practitioner(tenant.id, ann.id) == []


def test_only_the_owner_removes_a_link_of_someone_who_holds_a_right(world):
    tenant, owner = world.open_tenant()
    clerk = world.directory.add(
        owner, tenant, "clerk@acme.test", "C", "Lerk", rights=frozenset({ModuleRight.PRACTITIONERS})
    )
    owners_link = link_of(world, tenant, owner, "the-owner")
    record = identities(world).record(clerk, tenant, owner.id)
    assert not record.may_manage and record.identities  # the clerk sees, but may not change
    with pytest.raises(NotAllowed):
        identities(world).remove(clerk, tenant, owner.id, owners_link.id, last_way_in_confirmed=True)
    assert world.links.of_practitioner(tenant.id, owner.id) == [owners_link]


def test_a_link_of_another_practitioner_is_unknown_on_this_ones_page(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    bob = world.practitioner(tenant, "bob@acme.test")
    bobs = link_of(world, tenant, bob)
    with pytest.raises(UnknownLink):
        identities(world).remove(owner, tenant, ann.id, bobs.id, last_way_in_confirmed=True)
    assert world.links.of_practitioner(tenant.id, bob.id) == [bobs]


def test_a_practitioner_without_a_right_sees_no_practitioners_record(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    with pytest.raises(NotAllowed):
        identities(world).record(ann, tenant, owner.id)


@pytest.mark.parametrize(
    "handling, says",
    [
        (UnknownIdentityHandling.CONFIRM_BY_OTP, "mails a one-time code to it (ann@acme.test)"),
        (UnknownIdentityHandling.LINK_VERIFIED_EMAIL, "marks its email verified"),
        (UnknownIdentityHandling.REGISTER, "a new account is made"),
    ],
)
def test_the_page_says_what_the_next_sign_in_does_under_the_policy(world, handling, says):
    tenant, _ = world.open_tenant()
    ann = world.practitioner(tenant)
    tenant.auth = tenant.auth.but(unknown_identity=handling)
    assert says in after_removal(tenant, ann)
