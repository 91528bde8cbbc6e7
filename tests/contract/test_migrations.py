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
