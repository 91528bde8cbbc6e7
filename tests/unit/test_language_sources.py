"""Where a practitioner's language comes from, in the domain: their own choice, the provider's
`locale` claim or SCIM's preferredLanguage (kept as sent), and the practice's default language
and time zone. Which of them a page speaks is the negotiator's (tests/e2e/test_language_sources.py)."""

from __future__ import annotations

import pytest

from domain.audit import AuditKind
from domain.errors import InvalidForm, InvalidValue, NotAllowed
from domain.practitioners.rights import ModuleRight
from domain.provisioning.scim_user import ScimUser
from domain.sso.identity import IdentityLink
from domain.sso.outcome import ConfirmLink, LoggedIn
from domain.sso.pending import PendingLink
from domain.tenancy.login_policy import LoginPolicy
from domain.tenancy.practice_settings import PracticeSettings
from domain.tenancy.tenant import DEFAULT_CLAIM_MAPPINGS, UnknownIdentityHandling, Workflow

REDIRECT = "https://acme.portal.test/process_sso"
ISSUER = "https://login.contoso.test"


@pytest.fixture
def acme(world):
    tenant, owner = world.open_tenant()
    return tenant, owner, world.practitioner(tenant)


# --- the practitioner's own choice -----------------------------------------------------------


@pytest.mark.parametrize(("chosen", "kept"), [("de", "de"), ("nl", "nl"), ("en", "en"), ("DE", "de"), ("de-AT", "de")])
def test_a_practitioner_chooses_a_language_the_product_speaks(world, acme, chosen, kept):
    tenant, _, ann = acme
    assert world.account.choose_language(tenant, ann, chosen) is True
    assert ann.language == kept
    assert ann.language_in(tenant) == kept


@pytest.mark.parametrize("chosen", ["fr", "klingon", "d", "de\x00", "x" * 300])
def test_a_language_the_product_does_not_speak_is_refused_beside_its_field(world, acme, chosen):
    tenant, _, ann = acme
    ann.language = "nl"
    with pytest.raises(InvalidValue) as refused:
        world.account.choose_language(tenant, ann, chosen)
    assert refused.value.field == "language"
    assert str(refused.value) == "choose one of the languages offered"
    assert ann.language == "nl"


def test_choosing_none_hands_the_language_back_to_the_provider_practice_and_browser(world, acme):
    tenant, _, ann = acme
    tenant.default_language = "nl"
    world.account.choose_language(tenant, ann, "de")
    assert world.account.choose_language(tenant, ann, None) is True
    assert ann.language is None
    assert ann.language_in(tenant) == "nl"


def test_a_choice_is_audited_as_a_profile_change_and_the_same_choice_is_not(world, acme):
    tenant, _, ann = acme
    world.account.choose_language(tenant, ann, "nl")
    assert world.account.choose_language(tenant, ann, "nl") is False
    events = [e for e in world.audit.events if e.kind == AuditKind.PROFILE_CHANGED]
    assert [(e.summary, e.actor_id) for e in events] == [("ann@acme.test chose the language nl", ann.id)]


def test_the_language_is_the_practitioners_own_also_where_the_provider_owns_the_profile(world, acme):
    tenant, owner, ann = acme
    world.connect_provider(tenant)
    policy = LoginPolicy(Workflow.PSEUDO_SSO, UnknownIdentityHandling.CONFIRM_BY_OTP, False, DEFAULT_CLAIM_MAPPINGS)
    world.login_policy.save(owner, tenant, policy)
    with pytest.raises(NotAllowed):
        world.account.update_profile(tenant, ann, {})
    assert world.account.choose_language(tenant, ann, "de") is True


def test_the_own_choice_beats_the_provider_which_beats_the_practice_default(world, acme):
    tenant, _, ann = acme
    tenant.default_language = "nl"
    assert ann.language_in(tenant) == "nl"
    ann.provide_language("de-CH")
    assert ann.language_in(tenant) == "de"
    ann.choose_language("en")
    assert ann.language_in(tenant) == "en"


# --- what the provider or the SCIM client sent -------------------------------------------------


def test_a_provided_language_tag_is_kept_as_sent_even_one_the_product_does_not_speak(acme):
    _, _, ann = acme
    assert ann.provide_language("nl-NL") is True
    assert ann.provided_language == "nl-NL"
    assert ann.provide_language("nl-NL") is False  # the same tag leaves the row alone
    ann.provide_language("fr-CA")
    assert ann.provided_language == "fr-CA"


@pytest.mark.parametrize("tag", ["x" * 65, "de\nDE", "de\x00", "\u2028"])
def test_a_provided_tag_that_does_not_fit_is_refused(acme, tag):
    _, _, ann = acme
    with pytest.raises(InvalidValue):
        ann.provide_language(tag)
    assert ann.provided_language is None


def sso_login(world, tenant, provider, subject, **claims):
    world.signed_in_as(subject, **claims)
    pending, _ = world.sso.begin(tenant, provider.id, "/", REDIRECT)
    return world.sso.complete(tenant, pending, {"state": pending.state, "code": "c"}, REDIRECT)


@pytest.mark.parametrize("workflow", [Workflow.STANDARD, Workflow.PSEUDO_SSO])
def test_the_locale_claim_is_kept_as_sent_at_every_sign_in(world, acme, workflow):
    tenant, owner, ann = acme
    provider = world.connect_provider(tenant)
    world.links.add(IdentityLink(tenant.id, ann.id, provider.id, ISSUER, "sub-ann", world.clock.now()))
    policy = LoginPolicy(workflow, UnknownIdentityHandling.CONFIRM_BY_OTP, False, DEFAULT_CLAIM_MAPPINGS)
    world.login_policy.save(owner, tenant, policy)
    claims = {"email": "ann@acme.test", "given_name": "Ann", "family_name": "Smith"}
    assert isinstance(sso_login(world, tenant, provider, "sub-ann", locale="nl-NL", **claims), LoggedIn)
    assert ann.provided_language == "nl-NL" and ann.language_in(tenant) == "nl"
    sso_login(world, tenant, provider, "sub-ann", locale="de-AT", **claims)
    assert ann.provided_language == "de-AT"


@pytest.mark.parametrize("locale", [None, "", 42, ["nl"], "x" * 65, "nl\nNL"])
def test_a_missing_or_unfit_locale_claim_leaves_what_scim_sent(world, acme, locale):
    tenant, _, ann = acme
    provider = world.connect_provider(tenant)
    world.links.add(IdentityLink(tenant.id, ann.id, provider.id, ISSUER, "sub-ann", world.clock.now()))
    ann.provide_language("de-DE")
    claims = {} if locale is None else {"locale": locale}
    assert isinstance(sso_login(world, tenant, provider, "sub-ann", **claims), LoggedIn)
    assert ann.provided_language == "de-DE"


def test_a_practitioner_registered_at_first_sign_in_gets_the_locale(world, acme):
    tenant, owner, _ = acme
    provider = world.connect_provider(tenant)
    policy = LoginPolicy(Workflow.STANDARD, UnknownIdentityHandling.REGISTER, False, DEFAULT_CLAIM_MAPPINGS)
    world.login_policy.save(owner, tenant, policy)
    claims = {"email": "new@acme.test", "email_verified": True, "given_name": "Noor", "family_name": "Jansen"}
    outcome = sso_login(world, tenant, provider, "sub-new", locale="nl-BE", **claims)
    assert isinstance(outcome, LoggedIn)
    assert outcome.practitioner.provided_language == "nl-BE"


def test_the_locale_waits_for_the_one_time_password_and_is_kept_once_it_links(world, acme):
    tenant, _, ann = acme
    provider = world.connect_provider(tenant)
    outcome = sso_login(world, tenant, provider, "sub-ann", email="ann@acme.test", locale="nl-NL")
    assert isinstance(outcome, ConfirmLink)
    pending = PendingLink.from_dict(outcome.pending.to_dict())  # as the browser session keeps it
    assert pending.locale == "nl-NL"
    world.link_confirmation.request_code(tenant, pending, "ann@acme.test", "192.0.2.10")
    world.link_confirmation.confirm(tenant, pending, world.token_source.issued[-2])
    assert ann.provided_language == "nl-NL"


@pytest.mark.parametrize("locale", [42, "", "x" * 65, ["nl"]])
def test_a_session_whose_locale_is_no_tag_is_not_read(world, acme, locale):
    tenant, _, _ = acme
    provider = world.connect_provider(tenant)
    outcome = sso_login(world, tenant, provider, "sub-ann", email="ann@acme.test")
    with pytest.raises(TypeError):
        PendingLink.from_dict({**outcome.pending.to_dict(), "locale": locale})


def test_a_session_from_before_the_locale_reads_as_none(world, acme):
    tenant, _, _ = acme
    provider = world.connect_provider(tenant)
    stored = sso_login(world, tenant, provider, "sub-ann", email="ann@acme.test").pending.to_dict()
    del stored["locale"]
    assert PendingLink.from_dict(stored).locale is None


def test_the_authorization_request_asks_for_the_pages_language(world, acme):
    tenant, _, _ = acme
    provider = world.connect_provider(tenant)
    _, url = world.sso.begin(tenant, provider.id, "/", REDIRECT, language="de")
    assert "ui_locales=de" in url
    _, url = world.sso.begin(tenant, provider.id, "/", REDIRECT)
    assert "ui_locales" not in url


def test_the_admins_test_sign_in_and_the_providers_own_start_ask_for_the_pages_language_too(world, acme):
    tenant, owner, _ = acme
    provider = world.connect_provider(tenant)
    _, tested = world.sso.begin_test(tenant, owner, provider.id, REDIRECT, language="nl")
    _, initiated = world.sso.initiate(tenant, provider.settings.issuer, "/", REDIRECT, language="de")
    assert "ui_locales=nl" in tested and "ui_locales=de" in initiated
    _, tested = world.sso.begin_test(tenant, owner, provider.id, REDIRECT)
    _, initiated = world.sso.initiate(tenant, provider.settings.issuer, "/", REDIRECT)
    assert "ui_locales" not in tested and "ui_locales" not in initiated


# --- SCIM preferredLanguage ---------------------------------------------------------------------


def scim_user(**values):
    return ScimUser(user_name="noor@acme.test", given_name="Noor", family_name="Jansen", **values)


def test_scim_preferred_language_is_kept_as_sent_and_cleared_by_a_put_without_it(world, acme):
    tenant, _, _ = acme
    created = world.provisioning.create(tenant, owner_authority(world, tenant), scim_user(preferred_language="nl-NL"))
    assert created.provided_language == "nl-NL" and created.language_in(tenant) == "nl"
    world.provisioning.patch(tenant, owner_authority(world, tenant), created, ScimUser(email="noor@acme.test"), None)
    assert created.provided_language == "nl-NL"
    world.provisioning.replace(tenant, owner_authority(world, tenant), created, scim_user(), None)
    assert created.provided_language is None


def test_a_scim_preferred_language_that_does_not_fit_is_refused_naming_the_attribute(world, acme):
    tenant, _, _ = acme
    with pytest.raises(InvalidValue) as refused:
        world.provisioning.create(tenant, owner_authority(world, tenant), scim_user(preferred_language="x" * 65))
    assert refused.value.field == "preferredLanguage"


def owner_authority(world, tenant):
    token, _ = world.provisioning_tokens.create(tenant, "HR", world.onboarding.owner_of(tenant))
    return world.provisioning_tokens.authority_of(tenant, token)


# --- the practice's default language and time zone -------------------------------------------------


@pytest.fixture
def settings(world) -> PracticeSettings:
    return world.build(PracticeSettings)


def test_an_admin_sets_the_default_language_and_time_zone_and_it_is_audited(world, acme, settings):
    tenant, owner, _ = acme
    assert (tenant.default_language, tenant.time_zone) == (None, "Europe/Berlin")
    assert settings.speak_and_keep_time(owner, tenant, "nl", "Europe/Amsterdam") is True
    assert (tenant.default_language, tenant.time_zone) == ("nl", "Europe/Amsterdam")
    assert settings.speak_and_keep_time(owner, tenant, "nl", "Europe/Amsterdam") is False
    events = [e for e in world.audit.events if e.kind == AuditKind.SETTINGS_CHANGED]
    assert [e.summary for e in events] == ["default language nl; time zone Europe/Amsterdam"]


def test_no_default_language_leaves_it_to_the_browser(world, acme, settings):
    tenant, owner, _ = acme
    settings.speak_and_keep_time(owner, tenant, "de", "Europe/Vienna")
    settings.speak_and_keep_time(owner, tenant, None, "Europe/Vienna")
    assert tenant.default_language is None
    assert world.audit.events[-1].summary == "default language: the browser's; time zone Europe/Vienna"


@pytest.mark.parametrize(
    ("language", "zone", "fields"),
    [
        ("fr", "Europe/Berlin", {"default_language"}),
        ("DE", "Europe/Berlin", {"default_language"}),
        ("de", "Mars/Olympus", {"time_zone"}),
        ("de", "europe/berlin", {"time_zone"}),
        ("de", "", {"time_zone"}),
        ("de", "../../etc/passwd", {"time_zone"}),
        ("de", "localtime", {"time_zone"}),  # the server's own zone: dates would follow its setting
        ("de", "Factory", {"time_zone"}),
        ("xx", "Nowhere", {"default_language", "time_zone"}),
    ],
)
def test_a_language_or_zone_that_is_not_offered_is_refused_and_nothing_changes(
    world, acme, settings, language, zone, fields
):
    tenant, owner, _ = acme
    with pytest.raises(InvalidForm) as refused:
        settings.speak_and_keep_time(owner, tenant, language, zone)
    assert set(refused.value.errors) == fields
    assert (tenant.default_language, tenant.time_zone) == (None, "Europe/Berlin")
    assert not [e for e in world.audit.events if e.kind == AuditKind.SETTINGS_CHANGED]


@pytest.mark.parametrize("rights", [frozenset(), frozenset({ModuleRight.PRACTITIONERS})])
def test_only_the_owner_or_an_authentication_admin_changes_them(world, acme, settings, rights):
    tenant, _, ann = acme
    ann.rights = rights
    with pytest.raises(NotAllowed):
        settings.speak_and_keep_time(ann, tenant, "de", "Europe/Berlin")
    assert tenant.default_language is None
    ann.rights = frozenset({ModuleRight.AUTHENTICATION})
    assert settings.speak_and_keep_time(ann, tenant, "de", "Europe/Berlin") is True
