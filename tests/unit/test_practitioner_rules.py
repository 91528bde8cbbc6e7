from datetime import datetime, timezone

import pytest

from domain.errors import EmailAlreadyRegistered, InvalidValue, NotAllowed, UnknownPractitioner
from domain.practitioners.practitioner import Practitioner, fold_user_name
from domain.tenancy.tenant import Tenant
from domain.practitioners.email import normalize_email
from domain.practitioners.rights import ModuleRight
from domain.tenancy.tenant import validate_slug


def test_email_is_registered_trimmed_and_lower_cased():
    assert normalize_email("  Ann.Smith@Practice.EXAMPLE ") == "ann.smith@practice.example"


@pytest.mark.parametrize("bad", ["", "   ", "ann", "ann@", "@practice.example", "ann smith@x.example", "a@b"])
def test_malformed_email_is_refused_with_a_field_error(bad):
    with pytest.raises(InvalidValue) as err:
        normalize_email(bad)
    assert err.value.field == "email"


def test_email_is_unique_per_tenant_ignoring_case_and_spaces(world):
    tenant, owner = world.open_tenant()
    world.directory.add(owner, tenant, "ann@acme.test", "Ann", "Smith")
    with pytest.raises(EmailAlreadyRegistered):
        world.directory.add(owner, tenant, "  ANN@Acme.Test ", "Ann", "Other")
    assert world.directory.search(tenant, "ann@", 1).total == 1


def test_same_email_may_exist_in_two_tenants(world):
    acme, acme_owner = world.open_tenant("acme")
    beta, beta_owner = world.open_tenant("beta")
    world.directory.add(acme_owner, acme, "ann@shared.test", "Ann", "Smith")
    world.directory.add(beta_owner, beta, "ann@shared.test", "Ann", "Smith")


def test_duplicate_email_writes_nothing_and_sends_no_mail(world):
    tenant, owner = world.open_tenant()
    world.directory.add(owner, tenant, "ann@acme.test", "Ann", "Smith")
    before = world.directory.search(tenant, "", 1).total
    with pytest.raises(EmailAlreadyRegistered):
        world.directory.add(owner, tenant, "ann@acme.test", "A", "B", send_password_link=True)
    assert world.directory.search(tenant, "", 1).total == before
    assert world.mailer.sent == []
    assert world.reset_tokens.tokens == []


def test_missing_name_is_refused_before_anything_is_written(world):
    tenant, owner = world.open_tenant()
    with pytest.raises(InvalidValue) as err:
        world.directory.add(owner, tenant, "ann@acme.test", "Ann", "   ")
    assert err.value.field == "last_name"
    assert world.practitioners.get_by_email(tenant.id, "ann@acme.test") is None


def test_short_initial_password_is_refused(world):
    tenant, owner = world.open_tenant()
    with pytest.raises(InvalidValue) as err:
        world.directory.add(owner, tenant, "ann@acme.test", "Ann", "Smith", password="short")
    assert err.value.field == "password"


def test_owner_holds_every_right_others_only_what_was_granted():
    tenant = Tenant.open("acme", "Acme")
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    owner = Practitioner.register(tenant, "o@acme.test", "O", "W", now, is_owner=True)
    clerk = Practitioner.register(tenant, "c@acme.test", "C", "L", now, rights=frozenset({ModuleRight.PRACTITIONERS}))
    plain = Practitioner.register(tenant, "p@acme.test", "P", "L", now)
    assert all(owner.holds(r) for r in ModuleRight)
    assert clerk.holds(ModuleRight.PRACTITIONERS) and not clerk.holds(ModuleRight.AUTHENTICATION)
    assert not any(plain.holds(r) for r in ModuleRight)


def test_only_the_owner_grants_rights(world):
    tenant, owner = world.open_tenant()
    clerk = world.directory.add(
        owner, tenant, "clerk@acme.test", "C", "L", rights=frozenset({ModuleRight.PRACTITIONERS})
    )
    with pytest.raises(NotAllowed):
        world.directory.add(clerk, tenant, "x@acme.test", "X", "Y", rights=frozenset({ModuleRight.AUTHENTICATION}))
    with pytest.raises(NotAllowed):
        world.directory.set_rights(clerk, tenant, clerk.id, frozenset(ModuleRight))
    world.directory.set_rights(owner, tenant, clerk.id, frozenset(ModuleRight))
    assert clerk.holds(ModuleRight.AUTHENTICATION)


def test_deactivation_ends_the_practitioners_open_sessions(world):
    tenant, owner = world.open_tenant()
    ann = world.practitioner(tenant)
    anns, owners = world.sessions.open_session(tenant.id, ann.id), world.sessions.open_session(tenant.id, owner.id)
    world.directory.deactivate(owner, tenant, ann.id)
    assert not ann.active
    assert not world.sessions.is_open(anns) and world.sessions.is_open(owners)
    world.directory.reactivate(owner, tenant, ann.id)
    assert ann.active


def test_nobody_deactivates_themselves_or_the_owner(world):
    tenant, owner = world.open_tenant()
    clerk = world.directory.add(
        owner, tenant, "clerk@acme.test", "C", "L", rights=frozenset({ModuleRight.PRACTITIONERS})
    )
    with pytest.raises(NotAllowed):
        world.directory.deactivate(owner, tenant, owner.id)
    with pytest.raises(NotAllowed):
        world.directory.deactivate(clerk, tenant, owner.id)
    assert owner.active


def test_a_practitioner_of_another_tenant_is_unknown_here(world):
    acme, acme_owner = world.open_tenant("acme")
    beta, beta_owner = world.open_tenant("beta")
    ann = world.practitioner(acme)
    with pytest.raises(UnknownPractitioner):
        world.directory.deactivate(beta_owner, beta, ann.id)
    assert ann.active


def test_search_matches_email_and_names_case_insensitively_and_pages(world):
    tenant, owner = world.open_tenant()
    for i in range(30):
        world.directory.add(owner, tenant, f"p{i:02d}@acme.test", "Pat", f"Jones{i:02d}")
    world.directory.add(owner, tenant, "zed@acme.test", "Zed", "Quinn")
    assert [p.email for p in world.directory.search(tenant, "QUINN", 1).items] == ["zed@acme.test"]
    first, second = world.directory.search(tenant, "jones", 1), world.directory.search(tenant, "jones", 2)
    assert first.total == second.total == 30
    assert len(first.items) == 25 and len(second.items) == 5


def test_no_local_password_can_be_set_when_the_tenant_restricts_login_to_sso(world):
    tenant, owner = world.open_tenant()
    tenant.auth = tenant.auth.but(restrict_to_sso=True)
    with pytest.raises(InvalidValue):
        world.directory.add(owner, tenant, "ann@acme.test", "Ann", "S", password="long enough pw")
    with pytest.raises(InvalidValue):
        world.directory.add(owner, tenant, "ann@acme.test", "Ann", "S", send_password_link=True)
    ann = world.directory.add(owner, tenant, "ann@acme.test", "Ann", "S")
    assert not ann.has_usable_password


@pytest.mark.parametrize("slug", ["-acme", "acme-", "Acme Practice", "a.b", "", "x" * 64, "www"])
def test_bad_instance_names_are_refused(slug):
    with pytest.raises(InvalidValue):
        validate_slug(slug)


@pytest.mark.parametrize(
    "one, other",
    [
        ("Kate.Smith", "KATE.smith"),
        ("Kate.Smith", "\uff2b\uff41\uff54\uff45.Smith"),  # full-width letters: one name by NFKC
        ("Straße", "STRASSE"),  # case folding, not only lower-casing
        ("e\u0301mile", "\u00c9MILE"),  # a combining accent and a precomposed letter
    ],
)
def test_user_names_that_differ_only_in_case_or_unicode_form_have_one_key(one, other):
    assert fold_user_name(one) == fold_user_name(other)


def test_user_names_that_differ_otherwise_have_different_keys_of_one_length():
    keys = {fold_user_name(name) for name in ("kate", "kate ", "kāte", "kate.smith", "x" * 254, "\ufdfa" * 254)}
    assert len(keys) == 6 and {len(key) for key in keys} == {64}


def test_a_practitioner_without_a_user_name_is_keyed_by_the_email():
    tenant = Tenant.open("acme", "Acme")
    ann = Practitioner.register(tenant, "ann@acme.test", "Ann", "Lee", datetime(2026, 11, 23, tzinfo=timezone.utc))
    assert ann.user_name_key == fold_user_name("ANN@acme.test")
    ann.user_name = "Ann.Lee"
    assert ann.user_name_key == fold_user_name("ann.lee")


def _ann(**changes: object) -> Practitioner:
    ann = Practitioner.register(
        Tenant("acme", "Acme Practice"), "ann@acme.test", "Ann", "Smith", datetime(2030, 1, 1, tzinfo=timezone.utc)
    )
    for name, value in changes.items():
        setattr(ann, name, value)
    return ann


def test_a_new_email_carries_its_own_proof_never_the_old_one():
    ann = _ann(email_proven=True)
    assert ann.change_email("ann.smith@acme.test", proven=False)
    assert (ann.email, ann.email_proven) == ("ann.smith@acme.test", False)
    assert ann.change_email("ann@acme.test", proven=True)
    assert ann.email_proven


def test_the_same_email_keeps_its_proof():
    ann = _ann(email_proven=True)
    assert not ann.change_email("ann@acme.test", proven=False)
    assert ann.email_proven


def test_a_mailed_link_or_code_proves_the_email():
    ann = _ann()
    ann.prove_email()
    assert ann.email_proven


def test_taking_over_an_unproven_account_drops_the_password_its_creator_chose():
    ann = _ann(password_hash="set-up-by-someone")
    assert ann.take_over()
    assert (ann.password_hash, ann.email_proven) == (None, True)


def test_taking_over_a_proven_account_keeps_its_password():
    ann = _ann(password_hash="hers", email_proven=True)
    assert not ann.take_over()
    assert (ann.password_hash, ann.email_proven) == ("hers", True)


def test_an_account_registered_from_a_vouched_email_is_proven_from_the_start():
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert Practitioner.register(
        Tenant("acme", "Acme"), "ann@acme.test", "Ann", "Smith", now, email_proven=True
    ).email_proven
    assert not Practitioner.register(Tenant("acme", "Acme"), "ann@acme.test", "Ann", "Smith", now).email_proven
