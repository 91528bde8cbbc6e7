"""Extra scopes, the domain hint and the login hint of a provider: the rules on what an admin
enters, what goes into the authorization request, and how a change is audited."""

from urllib.parse import parse_qs, urlsplit

import pytest

from domain.errors import InvalidForm
from domain.sso.provider import ProviderSettings
from tests.unit.conftest import provider_settings

REDIRECT = "https://acme.portal.test/process_sso"


def stored(**changes: object) -> ProviderSettings:
    return provider_settings(**changes).normalized()


def problems(**changes: object) -> dict[str, str]:
    return stored(**changes).problems(development=False)


# --- extra scopes --------------------------------------------------------------------------


def test_extra_scopes_are_stored_once_each_in_the_order_typed_without_the_base_scopes():
    settings = stored(extra_scopes="offline_access  openid api://portal/read email offline_access profile")
    assert settings.extra_scopes == "offline_access api://portal/read"
    assert settings.scope == "openid email profile offline_access api://portal/read"


def test_a_plain_oauth2_provider_gets_email_and_profile_and_may_ask_for_openid_as_an_extra():
    settings = stored(protocol="oauth2", extra_scopes="openid read:user email")
    assert settings.extra_scopes == "openid read:user"
    assert settings.scope == "email profile openid read:user"


def test_without_extra_scopes_the_request_asks_for_the_base_scopes_only():
    assert stored().scope == "openid email profile"
    assert stored(protocol="oauth2").scope == "email profile"


@pytest.mark.parametrize(
    "typed",
    ['say"hi"', "back\\slash", "tab\tseparated", "line\nbreak", "café", "nul\x00"],
)
def test_a_scope_with_a_quote_backslash_control_or_non_ascii_character_is_refused(typed):
    assert "separate scopes with spaces" in problems(extra_scopes=typed)["extra_scopes"]


def test_at_most_twenty_extra_scopes():
    assert not problems(extra_scopes=" ".join(f"s{n}" for n in range(20)))
    assert problems(extra_scopes=" ".join(f"s{n}" for n in range(21)))["extra_scopes"] == "at most 20 extra scopes"


def test_the_extra_scopes_have_at_most_400_characters_after_folding():
    assert not problems(extra_scopes="a" * 400)
    assert not problems(extra_scopes="a" * 400 + " " + "a" * 400)  # the repeat is folded away first
    assert "at most 400 characters" in problems(extra_scopes="a" * 200 + " " + "b" * 200)["extra_scopes"]


# --- domain hint ---------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["practice.example", "Contoso.COM.", "xn--bcher-kva.example", "organizations"])
def test_a_domain_name_is_a_valid_domain_hint_stored_in_lower_case(typed):
    assert not problems(domain_hint=typed)
    assert stored(domain_hint=typed).domain_hint == typed.lower().rstrip(".")


@pytest.mark.parametrize(
    "typed",
    [
        "bücher.example",
        "-bad.example",
        "bad-.example",
        "a..example",
        "has space.example",
        "ex_ample.com",
        "10.0.0.1",
        "user@practice.example",
        "https://practice.example",
        ("a" * 63 + ".") * 4 + "example",
        "a" * 64 + ".example",
    ],
)
def test_anything_but_an_ascii_domain_name_is_refused_as_domain_hint(typed):
    assert problems(domain_hint=typed)["domain_hint"].startswith("enter a domain name such as practice.example")


# --- login hint ----------------------------------------------------------------------------


def test_the_login_hint_is_the_typed_email_in_its_stored_form_when_the_provider_gets_one():
    settings = stored(send_login_hint=True)
    assert settings.login_hint(" Ann@Practice.Example ") == "ann@practice.example"


@pytest.mark.parametrize("typed", [None, "", "ann", "ann@", "Ann Smith <ann@practice.example>", "a@b@c.example"])
def test_only_a_valid_email_address_is_ever_a_login_hint(typed):
    assert stored(send_login_hint=True).login_hint(typed) is None


def test_a_provider_not_set_to_get_a_login_hint_gets_none():
    assert stored().login_hint("ann@practice.example") is None


# --- the authorization request ---------------------------------------------------------------


@pytest.fixture
def acme(world):
    tenant, owner = world.open_tenant()
    return tenant, owner


def save(world, tenant, owner, provider_id=None, **changes):
    secret = "" if provider_id else "s3cret"  # an edit keeps the secret
    return world.provider_admin.save(owner, tenant, provider_id, provider_settings(**changes), secret, False)


def begun(world, tenant, provider, typed_email=None) -> dict[str, list[str]]:
    _, url = world.sso.begin(tenant, provider.id, "/", REDIRECT, typed_email=typed_email)
    return parse_qs(urlsplit(url).query)


def test_begin_asks_for_the_extra_scopes_and_sends_the_domain_hint(world, acme):
    tenant, owner = acme
    provider = save(world, tenant, owner, extra_scopes="offline_access User.Read", domain_hint="practice.example")
    query = begun(world, tenant, provider)
    assert query["scope"] == ["openid email profile offline_access User.Read"]
    assert query["domain_hint"] == ["practice.example"]
    assert "login_hint" not in query


def test_begin_passes_the_typed_email_as_login_hint_only_when_the_provider_is_set_to_get_it(world, acme):
    tenant, owner = acme
    provider = save(world, tenant, owner)
    assert "login_hint" not in begun(world, tenant, provider, "ann@practice.example")
    save(world, tenant, owner, provider.id, send_login_hint=True)
    assert begun(world, tenant, provider, "Ann@Practice.Example")["login_hint"] == ["ann@practice.example"]
    assert "login_hint" not in begun(world, tenant, provider, "not an email")
    assert "login_hint" not in begun(world, tenant, provider)


# --- saving --------------------------------------------------------------------------------


def test_scopes_and_hints_are_audited_as_provider_changes_without_asking_linked_people_to_confirm_again(world, acme):
    tenant, owner = acme
    provider = save(world, tenant, owner)
    save(world, tenant, owner, provider.id, extra_scopes="offline_access", domain_hint="practice.example")
    save(world, tenant, owner, provider.id, extra_scopes="offline_access", send_login_hint=True)
    summaries = [event.summary for event in world.audit.events][-2:]
    assert summaries == [
        "Contoso: extra scopes changed, domain hint changed",
        "Contoso: domain hint changed, login hint changed",
    ]
    assert provider.trust_changes(provider_settings(extra_scopes="x", domain_hint="y.example")) == []


def test_a_refused_scope_or_domain_hint_saves_nothing(world, acme):
    tenant, owner = acme
    with pytest.raises(InvalidForm) as refused:
        save(world, tenant, owner, extra_scopes='a"b', domain_hint="not a domain")
    assert set(refused.value.errors) == {"extra_scopes", "domain_hint"}
    assert world.provider_admin.providers(tenant) == []
