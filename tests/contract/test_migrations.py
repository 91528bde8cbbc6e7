"""The migrations build exactly the schema the code maps, on every database."""

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from adapters.db import migrate
from adapters.db.engine import make_engine
from adapters.db.schema import metadata
from domain.practitioners.practitioner import fold_user_name
from domain.practitioners.email import normalize_email
from tests.conftest import DATABASES, provisioned_database


def test_migrated_database_matches_the_mapped_schema(engine):
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_migrated_database_is_up_to_date_and_upgrading_again_is_harmless(engine):
    assert migrate.is_up_to_date(engine)
    migrate.upgrade(engine)
    assert migrate.is_up_to_date(engine)


def test_upgrading_a_database_that_holds_data_keeps_every_row(tmp_path):
    """SQLite alters tables by copying them: with foreign keys on, that used to cascade-delete."""
    from sqlalchemy import text

    from adapters.db.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    migrate.upgrade(engine, "0002")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tenants (id, slug, name, active, restrict_to_sso, workflow, unknown_identity, self_registration)"
                " VALUES ('t1', 'acme', 'Acme', 1, 0, 'standard', 'confirm_by_otp', 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO practitioners (id, tenant_id, email, first_name, last_name, active, is_owner, rights, created_at)"
                " VALUES ('p1', 't1', 'ann@acme.test', 'Ann', 'Lee', 1, 1, '', '2026-11-23 09:00:00')"
            )
        )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT email, email_proven, version FROM practitioners")).all() == [
            ("ann@acme.test", False, 1)
        ]
        assert "given_name" in connection.execute(text("SELECT claim_mappings FROM tenants")).scalar()
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


# --- 0008: the userName key of the practitioners that exist at the upgrade -----------------

TENANT_ROW = (
    "INSERT INTO tenants (id, slug, name, active, restrict_to_sso, workflow, unknown_identity, self_registration, claim_mappings)"
    " VALUES (:id, :id, 'Practice', true, false, 'standard', 'confirm_by_otp', false, '[]')"
)
PRACTITIONER_ROW = (
    "INSERT INTO practitioners (id, tenant_id, email, first_name, last_name, active, is_owner, rights, created_at,"
    " email_proven, user_name, email_primary, version) VALUES (:id, :tenant, :email, 'Pat', 'Lee', true, false, '',"
    " '2026-11-23 09:00:00', false, :user_name, true, 1)"
)


@pytest.fixture(params=DATABASES)
def before_0008(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A database at the revision before 0008: what an upgrade finds."""
    with provisioned_database(request.param, tmp_path, "0007") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def insert_practitioners(engine: Engine, *rows: tuple[str, str, str, str | None]) -> None:
    with engine.begin() as connection:
        for tenant in sorted({row[1] for row in rows}):
            connection.execute(text(TENANT_ROW), {"id": tenant})
        for pid, tenant, email, user_name in rows:
            connection.execute(
                text(PRACTITIONER_ROW), {"id": pid, "tenant": tenant, "email": email, "user_name": user_name}
            )


def test_upgrading_gives_every_practitioner_the_user_name_key_the_domain_defines(before_0008):
    insert_practitioners(
        before_0008,
        ("p1", "t1", "kate@acme.test", "Kate.Smith"),
        ("p2", "t1", "ann@acme.test", None),
        ("p3", "t2", "kate@beta.test", "KATE.SMITH"),
    )
    migrate.upgrade(before_0008)
    with before_0008.connect() as connection:
        keys = dict(connection.execute(text("SELECT id, user_name_key FROM practitioners")).all())
    assert keys == {
        "p1": fold_user_name("kate.smith"),
        "p2": fold_user_name("ANN@acme.test"),
        "p3": fold_user_name("Kate.Smith"),
    }


def test_upgrading_stops_and_names_the_practitioners_who_share_a_user_name(before_0008):
    insert_practitioners(
        before_0008,
        ("p1", "t1", "kate1@acme.test", "Kate.Smith"),
        ("p2", "t1", "kate2@acme.test", "kate.smith"),
        ("p3", "t1", "kim.work@acme.test", "kim@acme.test"),
        ("p4", "t1", "kim@acme.test", None),
    )
    with pytest.raises(RuntimeError) as refused:
        migrate.upgrade(before_0008)
    message = str(refused.value)
    assert "'Kate.Smith' (id p1), 'kate.smith' (id p2)" in message
    assert "'kim@acme.test' (id p3), 'kim@acme.test' (id p4)" in message
    assert not migrate.is_up_to_date(before_0008)
    with before_0008.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM practitioners")).scalar() == 4
        assert connection.execute(text("SELECT count(*) FROM failures")).scalar() == 0  # 0008 undone


# --- 0011: every stored email in the one form of the email rule --------------------------------

PRACTITIONER_ROW_0010 = PRACTITIONER_ROW.replace(
    "email_primary, version)", "email_primary, version, user_name_key)"
).replace("true, 1)", "true, 1, :key)")


@pytest.fixture(params=DATABASES)
def before_0011(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    with provisioned_database(request.param, tmp_path, "0010") as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def insert_at_0010(engine: Engine, *rows: tuple[str, str, str | None]) -> None:
    with engine.begin() as connection:
        connection.execute(text(TENANT_ROW), {"id": "t1"})
        for pid, email, user_name in rows:
            key = fold_user_name(user_name or email)
            connection.execute(
                text(PRACTITIONER_ROW_0010),
                {"id": pid, "tenant": "t1", "email": email, "user_name": user_name, "key": key},
            )


def test_upgrading_stores_an_idn_domain_as_its_a_labels_and_keeps_plain_addresses(before_0011):
    insert_at_0010(
        before_0011, ("p1", "ann@müller.de", None), ("p2", "bob@acme.test", "bob"), ("p3", "cy@bücher.de", "cy")
    )
    migrate.upgrade(before_0011)
    with before_0011.connect() as connection:
        rows = {
            r.id: (r.email, r.user_name_key)
            for r in connection.execute(text("SELECT id, email, user_name_key FROM practitioners"))
        }
    assert rows == {
        "p1": ("ann@xn--mller-kva.de", fold_user_name("ann@xn--mller-kva.de")),
        "p2": ("bob@acme.test", fold_user_name("bob")),
        "p3": ("cy@xn--bcher-kva.de", fold_user_name("cy")),
    }
    assert normalize_email("ann@MÜLLER.de") == rows["p1"][0]


def test_upgrading_stops_and_names_addresses_the_email_rule_refuses(before_0011):
    insert_at_0010(
        before_0011,
        ("p1", "x,attacker@evil.test", None),
        ("p2", "ann@acme.test", None),
        ("p3", "jürgen@acme.test", None),
    )
    with pytest.raises(RuntimeError) as refused:
        migrate.upgrade(before_0011)
    assert "'x,attacker@evil.test' (id p1)" in str(refused.value) and "'jürgen@acme.test' (id p3)" in str(refused.value)
    assert "ann@acme.test" not in str(refused.value)
    assert not migrate.is_up_to_date(before_0011)


def test_upgrading_stops_when_two_spellings_of_one_mailbox_would_meet(before_0011):
    insert_at_0010(before_0011, ("p1", "ann@müller.de", None), ("p2", "ann@xn--mller-kva.de", "ann2"))
    with pytest.raises(RuntimeError, match="would become 'ann@xn--mller-kva.de'"):
        migrate.upgrade(before_0011)
