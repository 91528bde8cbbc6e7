"""Logout that follows the provider, in the domain: the logout token's claims, the back-channel
logout service, the logout sent on to the provider, and a sign-in the provider starts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from domain.audit import AuditKind
from domain.errors import IdentityRejected, LogoutTokenRefused, UnknownProvider
from domain.practitioners.practitioner import LoginMethod
from domain.sso.identity import ProviderSession
from domain.sso.logout import (
    BACKCHANNEL_LOGOUT_EVENT,
    BackChannelLogout,
    LogoutToken,
    PendingLogout,
    ProviderLogout,
)
from domain.sso.administration import ProviderAdministration
from domain.sso.provider import DiscoveredConfiguration, IdentityProvider, ProviderSettings
from domain.sso.sign_in import SingleSignOn

ISSUER = "https://idp.example"
SETTINGS = ProviderSettings(
    "Contoso", "portal", ISSUER, *(f"{ISSUER}/{p}" for p in ("authorize", "token", "jwks", "userinfo"))
)


@pytest.fixture
def practice(world):
    tenant, owner = world.open_tenant()
    provider = IdentityProvider(tenant.id, SETTINGS, "sealed")
    world.providers.add(provider)
    return tenant, owner, provider


def claims(world, **changes: Any) -> dict[str, Any]:
    """A well-formed logout token's claims; a change of None leaves that claim out."""
    now = int(world.clock.now().timestamp())
    token = {
        "iss": ISSUER,
        "aud": "portal",
        "iat": now,
        "jti": f"jti-{now}-{len(world.idp.tokens)}",
        "sub": "ann-sub",
        "sid": "sid-1",
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    token.update(changes)
    return {name: value for name, value in token.items() if value is not None}


def token(world, **changes: Any) -> str:
    raw = f"raw-{len(world.idp.tokens)}"
    world.idp.tokens[raw] = claims(world, **changes)
    return raw


# --- LogoutToken: the claims -------------------------------------------------------------------


REFUSED = {
    "another issuer": {"iss": "https://evil.example"},
    "another audience": {"aud": ["someone-else"]},
    "no iat": {"iat": None},
    "iat a bool": {"iat": True},
    "issued in the future": {"iat": 10**10},
    "issued too long ago": {"iat": 1},
    "expired": {"exp": 2},
    "exp not a number": {"exp": "soon"},
    "no events": {"events": None},
    "events a list": {"events": [BACKCHANNEL_LOGOUT_EVENT]},
    "the event not an object": {"events": {BACKCHANNEL_LOGOUT_EVENT: True}},
    "a nonce": {"nonce": "n"},
    "neither sid nor sub": {"sid": None, "sub": None},
    "a sid that is no text": {"sid": 7},
    "a sub with a line break": {"sub": "a\nb"},
    "no jti": {"jti": None},
    "an empty jti": {"jti": ""},
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_logout_token_with_a_wrong_claim_is_refused(world, practice, case):
    _, _, provider = practice
    with pytest.raises(LogoutTokenRefused):
        LogoutToken.of(claims(world, **REFUSED[case]), provider, world.clock.now())


def test_a_well_formed_logout_token_names_its_session_and_is_remembered_past_its_acceptance(world, practice):
    _, _, provider = practice
    accepted = LogoutToken.of(claims(world, aud=["other", "portal"], sid=None), provider, world.clock.now())
    assert (accepted.sid, accepted.subject) == (None, "ann-sub")
    assert accepted.remembered_until > world.clock.now() + timedelta(minutes=10)


# --- BackChannelLogout -------------------------------------------------------------------------


def open_sessions(world, tenant, provider) -> dict[str, str]:
    """Ann twice (two provider sessions), Bob, and Ann by password: each session's id by name."""
    sessions = world.sessions
    return {
        "ann-1": sessions.open_session(
            tenant.id, "ann", LoginMethod.SSO, ProviderSession(provider.id, "ann-sub", "sid-1")
        ),
        "ann-2": sessions.open_session(
            tenant.id, "ann", LoginMethod.SSO, ProviderSession(provider.id, "ann-sub", "sid-2")
        ),
        "bob": sessions.open_session(
            tenant.id, "bob", LoginMethod.SSO, ProviderSession(provider.id, "bob-sub", "sid-3")
        ),
        "ann-password": sessions.open_session(tenant.id, "ann"),
    }


def still_open(world, opened: dict[str, str]) -> list[str]:
    return [name for name, session_id in opened.items() if world.sessions.is_open(session_id)]


def test_a_logout_token_with_a_sid_ends_that_session_only_and_is_audited(world, practice):
    tenant, _, provider = practice
    opened = open_sessions(world, tenant, provider)
    assert world.build(BackChannelLogout).end_sessions(tenant, token(world, sid="sid-1")) == 1
    assert still_open(world, opened) == ["ann-2", "bob", "ann-password"]
    event = world.audit.events[-1]
    assert (event.kind, event.summary) == (
        AuditKind.SSO_BACKCHANNEL_LOGOUT,
        "Contoso ended 1 session by back-channel logout",
    )


def test_a_logout_token_without_a_sid_ends_every_session_of_its_subject_through_the_provider(world, practice):
    tenant, _, provider = practice
    opened = open_sessions(world, tenant, provider)
    assert world.build(BackChannelLogout).end_sessions(tenant, token(world, sid=None)) == 2
    assert still_open(world, opened) == ["bob", "ann-password"]


def test_a_replayed_logout_token_is_refused(world, practice):
    tenant, _, _ = practice
    logout = world.build(BackChannelLogout)
    raw = token(world)
    logout.end_sessions(tenant, raw)
    with pytest.raises(LogoutTokenRefused, match="used before"):
        logout.end_sessions(tenant, raw)


def test_a_logout_token_of_another_practice_or_a_switched_off_provider_is_refused(world, practice):
    tenant, _, provider = practice
    other, _ = world.open_tenant("beta")
    with pytest.raises(LogoutTokenRefused):
        world.build(BackChannelLogout).end_sessions(other, token(world))
    provider.disable()
    with pytest.raises(LogoutTokenRefused):
        world.build(BackChannelLogout).end_sessions(tenant, token(world))


def test_a_logout_token_whose_signature_fails_ends_nothing(world, practice):
    tenant, _, provider = practice
    opened = open_sessions(world, tenant, provider)
    raw = token(world)
    world.idp.forged.add(raw)
    with pytest.raises(IdentityRejected):
        world.build(BackChannelLogout).end_sessions(tenant, raw)
    assert len(still_open(world, opened)) == 4 and world.logout_replays.seen == {}


# --- ProviderLogout ------------------------------------------------------------------------------

RETURN = "https://acme.portal.test/sso/logged-out"


def with_logout(provider: IdentityProvider, **changes: Any) -> None:
    logout: dict[str, Any] = {"end_session_endpoint": f"{ISSUER}/logout", "logout_at_provider": True}
    provider.apply(replace(provider.settings, **{**logout, **changes}))


def test_logout_through_a_provider_set_to_log_out_there_goes_on_with_hint_and_state(world, practice):
    tenant, owner, provider = practice
    with_logout(provider)
    through = ProviderSession(provider.id, "owner-sub", "sid-1", "the.id.token")
    pending = world.build(ProviderLogout).log_out(tenant, owner, through, RETURN)
    assert pending is not None and pending.url.startswith(f"{ISSUER}/logout?")
    sent = {name: values[0] for name, values in parse_qs(urlsplit(pending.url).query).items()}
    assert sent == {
        "client_id": "portal",
        "post_logout_redirect_uri": RETURN,
        "id_token_hint": "the.id.token",
        "state": pending.state,
    }
    assert world.audit.events[-1].kind == AuditKind.LOGGED_OUT


@pytest.mark.parametrize(
    "changes", [{"logout_at_provider": False}, {"end_session_endpoint": ""}, {"protocol": "oauth2"}]
)
def test_logout_stays_local_without_the_switch_the_endpoint_or_openid_connect(world, practice, changes):
    tenant, owner, provider = practice
    with_logout(provider, **changes)
    through = ProviderSession(provider.id, "owner-sub", "sid-1", "the.id.token")
    assert world.build(ProviderLogout).log_out(tenant, owner, through, RETURN) is None
    assert world.audit.events[-1].summary == f"{owner.email} logged out"


def test_a_password_session_logs_out_locally(world, practice):
    tenant, owner, provider = practice
    with_logout(provider)
    assert world.build(ProviderLogout).log_out(tenant, owner, None, RETURN) is None


def test_the_return_needs_the_same_state_within_its_lifetime(world):
    logout = world.build(ProviderLogout)
    pending = PendingLogout("the-state", world.clock.now())
    kept = PendingLogout.from_dict(pending.to_dict())
    assert logout.came_back(kept, "the-state")
    assert not logout.came_back(kept, "another-state") and not logout.came_back(None, "the-state")
    world.clock.advance(minutes=31)
    assert not logout.came_back(kept, "the-state")


# --- settings ------------------------------------------------------------------------------------


def test_the_switch_needs_an_end_session_endpoint_of_the_right_form(world):
    assert "end_session_endpoint" in replace(SETTINGS, logout_at_provider=True).problems(development=False)
    assert "end_session_endpoint" in replace(SETTINGS, end_session_endpoint="http://idp.example/x").problems(False)
    assert replace(SETTINGS, end_session_endpoint=f"{ISSUER}/logout", logout_at_provider=True).problems(False) == {}


def test_back_channel_support_comes_from_discovery_of_the_saved_issuer(world, practice):
    tenant, owner, provider = practice
    admin = world.build(ProviderAdministration)
    found = DiscoveredConfiguration(ISSUER, "a", "t", "k", "u", backchannel_logout_supported=True)
    forged = replace(provider.settings, backchannel_logout_supported=True)
    admin.save(owner, tenant, provider.id, forged, "", False)
    assert provider.settings.backchannel_logout_supported is False  # never from the form
    admin.save(owner, tenant, provider.id, provider.settings, "", False, discovered=found)
    assert provider.settings.backchannel_logout_supported is True
    admin.save(owner, tenant, provider.id, provider.settings, "", False)
    assert provider.settings.backchannel_logout_supported is True  # kept while the issuer stays


# --- a sign-in the provider starts ---------------------------------------------------------------


def test_a_sign_in_the_provider_starts_is_a_fresh_normal_one_at_the_provider_with_that_issuer(world, practice):
    tenant, _, provider = practice
    sso = world.build(SingleSignOn)
    first, url = sso.initiate(tenant, ISSUER, "/account", "https://acme.portal.test/process_sso")
    second, _ = sso.initiate(tenant, ISSUER, "/", "https://acme.portal.test/process_sso")
    assert url.startswith(f"{ISSUER}/authorize?") and first.provider_id == provider.id
    assert first.next_path == "/account" and first.state != second.state and first.nonce != second.nonce


@pytest.mark.parametrize("issuer", ["https://evil.example", ""])
def test_a_sign_in_started_with_an_unknown_issuer_is_refused(world, practice, issuer):
    tenant, _, _ = practice
    with pytest.raises(UnknownProvider):
        world.build(SingleSignOn).initiate(tenant, issuer, "/", "https://acme.portal.test/process_sso")
