"""What every implementation of the Single Sign On ports promises (fakes included)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.sso.challenge import LinkChallenge
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.tenant import Tenant
from domain.sso.identity import IdentityLink
from domain.sso.provider import IdentityProvider, ProviderSettings

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def world(uow, slug="acme"):
    tenant = Tenant.open(slug, slug)
    uow.repos.tenants.add(tenant)
    ann = Practitioner.register(tenant, f"ann@{slug}.test", "Ann", "Lee", NOW)
    uow.repos.practitioners.add(ann)
    settings = ProviderSettings(
        "Contoso",
        "client",
        "https://idp.test",
        "https://idp.test/a",
        "https://idp.test/t",
        "https://idp.test/k",
        "https://idp.test/u",
    )
    provider = IdentityProvider(tenant.id, settings, "sealed")
    uow.repos.providers.add(provider)
    return tenant, ann, provider


def test_providers_round_trip_and_are_listed_by_name_within_their_tenant(uow):
    acme, _, contoso = world(uow)
    beta, _, _ = world(uow, "beta")
    settings = ProviderSettings("azure", "c2", "https://az.test", "a", "t", "k", "u", "client_secret_post", False)
    other = IdentityProvider(acme.id, settings, "s2")
    uow.repos.providers.add(other)
    uow.commit()
    assert [p.display_name for p in uow.repos.providers.list(acme.id)] == ["azure", "Contoso"]
    found = uow.repos.providers.get(acme.id, other.id)
    assert (found.settings.token_endpoint_auth_method, found.settings.enabled, found.sealed_client_secret) == (
        "client_secret_post",
        False,
        "s2",
    )
    assert uow.repos.providers.get(beta.id, contoso.id) is None


def test_links_are_found_by_the_full_identity_key_only(uow):
    acme, ann, provider = world(uow)
    uow.repos.links.add(IdentityLink(acme.id, ann.id, provider.id, "https://idp.test", "sub-1", NOW))
    uow.commit()
    assert uow.repos.links.find(acme.id, provider.id, "https://idp.test", "sub-1").practitioner_id == ann.id
    assert uow.repos.links.find(acme.id, provider.id, "https://other.test", "sub-1") is None
    assert uow.repos.links.find(acme.id, provider.id, "https://idp.test", "SUB-1") is None
    assert [link.subject for link in uow.repos.links.of_practitioner(acme.id, ann.id)] == ["sub-1"]


def test_a_removed_link_can_be_replaced_in_the_same_unit_of_work(uow):
    acme, ann, provider = world(uow)
    uow.repos.links.add(IdentityLink(acme.id, ann.id, provider.id, "https://idp.test", "sub-1", NOW))
    uow.commit()
    (old,) = uow.repos.links.of_practitioner(acme.id, ann.id)
    uow.repos.links.remove(old)
    uow.repos.links.add(IdentityLink(acme.id, ann.id, provider.id, "https://idp.test", "sub-1", NOW + timedelta(1)))
    uow.commit()
    (new,) = uow.repos.links.of_practitioner(acme.id, ann.id)
    assert new.linked_at == NOW + timedelta(1) and new.last_used_at is None


def test_a_links_last_use_is_remembered(uow):
    acme, ann, provider = world(uow)
    link = IdentityLink(acme.id, ann.id, provider.id, "https://idp.test", "sub-1", NOW)
    uow.repos.links.add(link)
    link.last_used_at = NOW + timedelta(hours=1)
    uow.commit()
    assert uow.repos.links.find(acme.id, provider.id, "https://idp.test", "sub-1").last_used_at == NOW + timedelta(
        hours=1
    )


def challenge(tenant, ann, provider, binding="b", at=NOW):
    return LinkChallenge.issue(tenant.id, ann.id, provider.id, "https://idp.test", "sub", binding, "123456", "salt", at)


def test_the_newest_open_challenge_of_a_binding_is_found_and_counts_wrong_tries(uow):
    acme, ann, provider = world(uow)
    uow.repos.challenges.add(challenge(acme, ann, provider, at=NOW))
    newest = challenge(acme, ann, provider, at=NOW + timedelta(minutes=1))
    uow.repos.challenges.add(newest)
    newest.wrong_attempts = 2
    uow.commit()
    found = uow.repos.challenges.open_for(acme.id, "b")
    assert found.created_at == NOW + timedelta(minutes=1) and found.wrong_attempts == 2
    assert uow.repos.challenges.open_for(acme.id, "other") is None


def test_used_challenges_are_not_open_and_discarding_keeps_them(uow):
    acme, ann, provider = world(uow)
    used = challenge(acme, ann, provider)
    used.verify("123456", NOW)
    uow.repos.challenges.add(used)
    uow.repos.challenges.add(challenge(acme, ann, provider, at=NOW - timedelta(minutes=1)))
    uow.commit()
    uow.repos.challenges.discard_open(acme.id, "b")
    uow.commit()
    assert uow.repos.challenges.open_for(acme.id, "b") is None


def test_challenges_are_invisible_to_other_tenants(uow):
    acme, ann, provider = world(uow)
    beta, _, _ = world(uow, "beta")
    uow.repos.challenges.add(challenge(acme, ann, provider))
    uow.commit()
    assert uow.repos.challenges.open_for(beta.id, "b") is None


def test_links_of_a_provider_are_marked_for_reconfirmation_in_their_tenant_only(uow):
    acme, ann, provider = world(uow)
    beta, ben, beta_provider = world(uow, "beta")
    uow.repos.links.add(IdentityLink(acme.id, ann.id, provider.id, "https://idp.test", "sub-1", NOW))
    uow.repos.links.add(IdentityLink(beta.id, ben.id, beta_provider.id, "https://idp.test", "sub-1", NOW))
    uow.commit()
    assert uow.repos.links.require_reconfirmation(acme.id, provider.id) == 1
    uow.commit()
    assert uow.repos.links.find(acme.id, provider.id, "https://idp.test", "sub-1").needs_reconfirmation
    assert not uow.repos.links.find(beta.id, beta_provider.id, "https://idp.test", "sub-1").needs_reconfirmation


def test_removing_a_provider_removes_its_links(uow):
    acme, ann, provider = world(uow)
    uow.repos.links.add(IdentityLink(acme.id, ann.id, provider.id, "https://idp.test", "sub-1", NOW))
    uow.commit()
    uow.repos.providers.remove(uow.repos.providers.get(acme.id, provider.id))
    uow.commit()
    assert uow.repos.providers.list(acme.id) == []
    assert uow.repos.links.of_practitioner(acme.id, ann.id) == []
