import pytest

from domain.errors import InvalidValue, TenantAlreadyExists


def test_opening_a_tenant_creates_its_owner_with_every_right(world):
    opened = world.onboarding.open_tenant("acme", "Acme Physio", "Owner@Acme.test", "owner-password-1")
    assert opened.tenant.slug == "acme" and opened.tenant.active
    assert opened.owner.is_owner and opened.owner.email == "owner@acme.test"
    assert opened.generated_password is None
    assert world.login.log_in(opened.tenant, "owner@acme.test", "owner-password-1", "1.2.3.4")


def test_without_a_password_one_is_generated_and_works(world):
    opened = world.onboarding.open_tenant("acme", "Acme Physio", "owner@acme.test")
    assert opened.generated_password and len(opened.generated_password) >= 10
    world.login.log_in(opened.tenant, "owner@acme.test", opened.generated_password, "1.2.3.4")


def test_instance_names_are_unique(world):
    world.onboarding.open_tenant("acme", "Acme", "owner@acme.test")
    with pytest.raises(TenantAlreadyExists):
        world.onboarding.open_tenant("ACME", "Acme again", "other@acme.test")
    assert len(world.tenants.list()) == 1


def test_bad_slug_is_refused_before_anything_is_written(world):
    with pytest.raises(InvalidValue):
        world.onboarding.open_tenant("not a slug", "Acme", "owner@acme.test")
    assert world.tenants.list() == []


def test_opening_a_tenant_audits_its_owner_as_added(world):
    opened = world.onboarding.open_tenant("acme", "Acme Physio", "owner@acme.test", "owner-password-1")
    (event,) = world.audit.events
    assert (event.tenant_id, event.kind, event.subject_id) == (opened.tenant.id, "practitioner_added", opened.owner.id)


def test_a_refused_tenant_audits_nothing(world):
    world.onboarding.open_tenant("acme", "Acme", "owner@acme.test")
    with pytest.raises(TenantAlreadyExists):
        world.onboarding.open_tenant("acme", "Acme again", "other@acme.test")
    assert len(world.audit.events) == 1
