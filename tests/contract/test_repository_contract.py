"""What every implementation of the repository ports promises (fakes included)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.errors import EmailAlreadyRegistered, NotUnique, TenantAlreadyExists
from domain.identifiers import digest
from domain.passwords.reset_token import PasswordResetToken, ResetPurpose
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.tenant import Tenant
from domain.practitioners.rights import ModuleRight
from domain.tenancy.tenant import UnknownIdentityHandling, Workflow

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def tenant(uow, slug: str = "acme") -> Tenant:
    t = Tenant.open(slug, f"{slug} practice")
    uow.repos.tenants.add(t)
    return t


def practitioner(uow, t: Tenant, email: str, first: str = "Pat", last: str = "Lee", **kw) -> Practitioner:
    p = Practitioner.register(t, email, first, last, NOW, **kw)
    uow.repos.practitioners.add(p)
    return p


def test_tenant_is_found_by_id_and_slug_with_its_auth_settings(uow):
    t = tenant(uow)
    t.auth = t.auth.but(
        restrict_to_sso=True, workflow=Workflow.PSEUDO_SSO, unknown_identity=UnknownIdentityHandling.REGISTER
    )
    uow.commit()
    found = uow.repos.tenants.get_by_slug("acme")
    assert found.id == t.id and uow.repos.tenants.get(t.id).slug == "acme"
    assert found.auth == t.auth
    assert uow.repos.tenants.get_by_slug("nope") is None


def test_tenant_slug_is_unique(uow):
    tenant(uow)
    uow.commit()
    with pytest.raises(TenantAlreadyExists):
        tenant(uow)


def test_tenants_are_listed_by_slug(uow):
    for slug in ("zeta", "acme", "beta"):
        tenant(uow, slug)
    uow.commit()
    assert [t.slug for t in uow.repos.tenants.list()] == ["acme", "beta", "zeta"]


def test_practitioner_round_trips_with_rights_and_timestamps(uow):
    t = tenant(uow)
    p = practitioner(uow, t, "ann@acme.test", rights=frozenset({ModuleRight.PRACTITIONERS}))
    p.password_hash = "hash"
    uow.commit()
    found = uow.repos.practitioners.get(t.id, p.id)
    assert (found.email, found.first_name, found.last_name) == ("ann@acme.test", "Pat", "Lee")
    assert found.rights == frozenset({ModuleRight.PRACTITIONERS})
    assert found.created_at == NOW and found.password_hash == "hash"
    assert uow.repos.practitioners.get_by_email(t.id, "ann@acme.test").id == p.id


def test_practitioner_is_invisible_through_another_tenant(uow):
    acme, beta = tenant(uow, "acme"), tenant(uow, "beta")
    p = practitioner(uow, acme, "ann@acme.test")
    uow.commit()
    assert uow.repos.practitioners.get(beta.id, p.id) is None
    assert uow.repos.practitioners.get_by_email(beta.id, "ann@acme.test") is None
    assert uow.repos.practitioners.search(beta.id, "", 0, 10).total == 0


def test_duplicate_email_in_a_tenant_is_refused_and_the_unit_of_work_stays_usable(uow):
    t = tenant(uow)
    practitioner(uow, t, "ann@acme.test")
    uow.commit()
    with pytest.raises(EmailAlreadyRegistered):
        uow.repos.practitioners.add(Practitioner.register(t, "ann@acme.test", "A", "B", NOW))
    practitioner(uow, t, "bob@acme.test")
    uow.commit()
    assert uow.repos.practitioners.search(t.id, "", 0, 10).total == 2


def test_owner_is_found(uow):
    t = tenant(uow)
    practitioner(uow, t, "ann@acme.test")
    owner = practitioner(uow, t, "owner@acme.test", is_owner=True)
    uow.commit()
    assert uow.repos.practitioners.get_owner(t.id).id == owner.id


def test_search_is_case_insensitive_ordered_by_name_and_paged(uow):
    t = tenant(uow)
    for i, last in enumerate(["Zimmer", "adams", "Baker", "Zimmer"]):
        practitioner(uow, t, f"p{i}@acme.test", first="Pat" if i != 3 else "Abe", last=last)
    uow.commit()
    page = uow.repos.practitioners.search(t.id, "", 0, 3)
    assert page.total == 4
    assert [(p.last_name, p.first_name) for p in page.items] == [("adams", "Pat"), ("Baker", "Pat"), ("Zimmer", "Abe")]
    assert [p.email for p in uow.repos.practitioners.search(t.id, "ZIM", 0, 10).items] == [
        "p3@acme.test",
        "p0@acme.test",
    ]
    assert uow.repos.practitioners.search(t.id, "ZIM", 1, 10).total == 2


@pytest.mark.parametrize("wildcard", ["%", "_"])
def test_search_treats_wildcards_as_plain_characters(uow, wildcard):
    t = tenant(uow)
    practitioner(uow, t, "ann@acme.test")
    practitioner(uow, t, "b_b@acme.test", last="100%")
    uow.commit()
    found = uow.repos.practitioners.search(t.id, wildcard, 0, 10)
    assert [p.email for p in found.items] == ["b_b@acme.test"]


def test_reset_token_is_found_by_digest_in_its_tenant_only(uow):
    acme, beta = tenant(uow, "acme"), tenant(uow, "beta")
    p = practitioner(uow, acme, "ann@acme.test")
    uow.repos.reset_tokens.add(PasswordResetToken.issue(p, "secret-token", ResetPurpose.RESET, NOW))
    uow.commit()
    found = uow.repos.reset_tokens.get_by_digest(acme.id, digest("secret-token"))
    assert found.practitioner_id == p.id and found.expires_at == NOW + timedelta(hours=1)
    assert uow.repos.reset_tokens.get_by_digest(beta.id, digest("secret-token")) is None


def test_discarding_open_tokens_keeps_used_ones_and_other_practitioners(uow):
    t = tenant(uow)
    ann, bob = practitioner(uow, t, "ann@acme.test"), practitioner(uow, t, "bob@acme.test")
    used = PasswordResetToken.issue(ann, "used", ResetPurpose.RESET, NOW)
    used.redeem(NOW)
    for token in (
        used,
        PasswordResetToken.issue(ann, "open", ResetPurpose.SET, NOW),
        PasswordResetToken.issue(bob, "bobs", ResetPurpose.RESET, NOW),
    ):
        uow.repos.reset_tokens.add(token)
    uow.commit()
    uow.repos.reset_tokens.discard_open(t.id, ann.id)
    uow.commit()
    lookup = lambda token: uow.repos.reset_tokens.get_by_digest(t.id, digest(token))  # noqa: E731
    assert lookup("open") is None
    assert lookup("used").used_at == NOW
    assert lookup("bobs") is not None


def test_discarding_open_links_of_some_purposes_leaves_the_others(uow):
    t = tenant(uow, "acme")
    ann = practitioner(uow, t, "ann@acme.test")
    for token, purpose in (("reset", ResetPurpose.RESET), ("change", ResetPurpose.EMAIL_CHANGE)):
        uow.repos.reset_tokens.add(PasswordResetToken(t.id, ann.id, digest(token), purpose, NOW + timedelta(hours=1)))
    uow.commit()
    uow.repos.reset_tokens.discard_open(t.id, ann.id, (ResetPurpose.RESET, ResetPurpose.SET))
    uow.commit()
    assert uow.repos.reset_tokens.get_by_digest(t.id, digest("reset")) is None
    assert uow.repos.reset_tokens.get_by_digest(t.id, digest("change")) is not None


def test_many_practitioners_are_found_at_once_within_their_tenant_only(uow):
    acme, beta = tenant(uow, "acme"), tenant(uow, "beta")
    ann, bob = practitioner(uow, acme, "ann@acme.test"), practitioner(uow, acme, "bob@acme.test")
    ben = practitioner(uow, beta, "ben@beta.test")
    uow.commit()
    found = uow.repos.practitioners.get_many(acme.id, {ann.id, bob.id, ben.id, "unknown"})
    assert sorted(p.email for p in found) == ["ann@acme.test", "bob@acme.test"]
    assert uow.repos.practitioners.get_many(acme.id, set()) == []


def test_scim_search_matches_user_name_without_case_and_falls_back_to_the_email(uow):
    t = tenant(uow)
    practitioner(uow, t, "ann@acme.test")
    bob = practitioner(uow, t, "bob@acme.test")
    bob.user_name, bob.external_id, bob.active = "Bob.Builder", "e-2", False
    uow.commit()
    from domain.provisioning.scim_user import ScimQuery

    def ids(**criteria):
        found, total = uow.repos.practitioners.scim_search(t.id, ScimQuery(**criteria), 0, 10)
        assert total == len(found)
        return [p.email for p in found]

    assert ids(user_name="ANN@ACME.TEST") == ["ann@acme.test"]
    assert ids(user_name="bob.builder") == ["bob@acme.test"]
    assert ids(external_id="e-2", active=False) == ["bob@acme.test"]
    assert ids(external_id="E-2") == []
    assert ids(email="ann@acme.test") == ["ann@acme.test"]
    assert ids(email="Ann@Acme.test") == []  # the stored form is compared: Provisioning.search normalizes
    assert ids(active=True) == ["ann@acme.test"]


def scim_user(uow, t: Tenant, email: str, user_name: str) -> Practitioner:
    p = Practitioner.register(t, email, "Pat", "Lee", NOW)
    p.user_name = user_name
    uow.repos.practitioners.add(p)
    return p


def user_name_holders(uow, t: Tenant, user_name: str) -> list[str]:
    from domain.provisioning.scim_user import ScimQuery

    return [p.email for p in uow.repos.practitioners.scim_search(t.id, ScimQuery(user_name=user_name), 0, 10)[0]]


def test_a_user_name_is_taken_per_tenant_whatever_its_case_and_the_unit_of_work_stays_usable(uow):
    acme, beta = tenant(uow, "acme"), tenant(uow, "beta")
    scim_user(uow, acme, "kate1@acme.test", "Kate.Smith")
    uow.commit()
    for spelling in ("kate.smith", "KATE.SMITH", "\uff2b\uff41\uff54\uff45.Smith"):  # the last in full-width letters
        with pytest.raises(NotUnique):
            scim_user(uow, acme, "kate2@acme.test", spelling)
    scim_user(uow, beta, "kate@beta.test", "Kate.Smith")
    scim_user(uow, acme, "kate3@acme.test", "Kate.Smyth")
    uow.commit()
    assert user_name_holders(uow, acme, "KATE.smith") == ["kate1@acme.test"]
    assert user_name_holders(uow, beta, "kate.smith") == ["kate@beta.test"]


def test_the_email_is_the_user_name_of_a_practitioner_without_one(uow):
    t = tenant(uow)
    practitioner(uow, t, "ann@acme.test")
    scim_user(uow, t, "kim.work@acme.test", "kim@acme.test")
    uow.commit()
    with pytest.raises(NotUnique):
        scim_user(uow, t, "other@acme.test", "ANN@acme.test")
    with pytest.raises(EmailAlreadyRegistered):
        practitioner(uow, t, "kim@acme.test")
    uow.commit()
    assert user_name_holders(uow, t, "Ann@Acme.Test") == ["ann@acme.test"]


def test_the_user_name_key_follows_every_change_of_user_name_and_email(uow):
    t = tenant(uow)
    ann, bob = practitioner(uow, t, "ann@acme.test"), scim_user(uow, t, "bob@acme.test", "Bob")
    uow.commit()
    uow.repos.practitioners.get(t.id, ann.id).email = "ann.new@acme.test"
    uow.repos.practitioners.get(t.id, bob.id).user_name = "Robert"
    uow.commit()
    assert user_name_holders(uow, t, "ANN.NEW@acme.test") == ["ann.new@acme.test"]
    assert user_name_holders(uow, t, "ROBERT") == ["bob@acme.test"]
    assert user_name_holders(uow, t, "ann@acme.test") == user_name_holders(uow, t, "bob") == []
    scim_user(uow, t, "bobby@acme.test", "bob")  # the name that was let go is free again
    uow.commit()
    assert user_name_holders(uow, t, "BOB") == ["bobby@acme.test"]


def test_a_removed_practitioner_is_gone(uow):
    t = tenant(uow)
    ann = practitioner(uow, t, "ann@acme.test")
    uow.commit()
    uow.repos.practitioners.remove(uow.repos.practitioners.get(t.id, ann.id))
    uow.commit()
    assert uow.repos.practitioners.get(t.id, ann.id) is None


def test_the_version_grows_with_every_change(uow):
    from tests.contract.conftest import FakeUnitOfWork

    if isinstance(uow, FakeUnitOfWork):
        pytest.skip("the version is counted by the data layer when it writes a row; the fake writes none")
    t = tenant(uow)
    ann = practitioner(uow, t, "ann@acme.test")
    uow.commit()
    first = uow.repos.practitioners.get(t.id, ann.id).version
    uow.repos.practitioners.get(t.id, ann.id).first_name = "Annie"
    uow.commit()
    assert first >= 1
    assert uow.repos.practitioners.get(t.id, ann.id).version > first


def test_scim_tokens_are_found_by_digest_within_their_tenant_newest_first(uow):
    from datetime import timedelta

    from domain.provisioning.bearer_token import ScimToken

    acme, beta = tenant(uow, "acme"), tenant(uow, "beta")
    old = ScimToken(acme.id, "old", "d1", NOW)
    new = ScimToken(acme.id, "new", "d2", NOW + timedelta(hours=1))
    for token in (old, new):
        uow.repos.scim_tokens.add(token)
    uow.commit()
    assert [t.name for t in uow.repos.scim_tokens.list(acme.id)] == ["new", "old"]
    assert uow.repos.scim_tokens.get_by_digest(acme.id, "d1").name == "old"
    assert uow.repos.scim_tokens.get_by_digest(beta.id, "d1") is None
    assert uow.repos.scim_tokens.get(beta.id, old.id) is None
