"""The migrations build exactly the schema the code maps, on every database."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from adapters.db import migrate
from adapters.db.schema import metadata


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
        connection.execute(text(
            "INSERT INTO tenants (id, slug, name, active, restrict_to_sso, workflow, unknown_identity, self_registration)"
            " VALUES ('t1', 'acme', 'Acme', 1, 0, 'standard', 'confirm_by_otp', 0)"
        ))
        connection.execute(text(
            "INSERT INTO practitioners (id, tenant_id, email, first_name, last_name, active, is_owner, rights, created_at)"
            " VALUES ('p1', 't1', 'ann@acme.test', 'Ann', 'Lee', 1, 1, '', '2026-11-23 09:00:00')"
        ))
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT email, email_proven, version FROM practitioners")).all() == [("ann@acme.test", False, 1)]
        assert "given_name" in connection.execute(text("SELECT claim_mappings FROM tenants")).scalar()
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
