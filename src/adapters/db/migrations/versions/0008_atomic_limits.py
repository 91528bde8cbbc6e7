"""limits and uniqueness held by the database: throttle counters, folded userName

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

import hashlib
import unicodedata
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def fold_user_name(user_name: str) -> str:
    """domain.practitioners.practitioner.fold_user_name as it was when this migration was written: a migration keeps
    its own copy, so a later change of the domain never changes what an old upgrade does."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", user_name).casefold())
    return hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()


class DuplicateUserNames(RuntimeError):
    """Practitioners of one tenant already share a userName (a race of the old code made them)."""


def upgrade() -> None:
    # One counter row per bucket replaces the failure rows. Counting starts afresh: a throttle
    # in force at the upgrade lifts, once.
    op.create_table(
        "throttle_counters",
        sa.Column("bucket", sa.String(400), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_throttle_counters")),
    )
    with op.batch_alter_table("failures") as batch:
        batch.drop_index("ix_failures_bucket_occurred_at")
    op.drop_table("failures")

    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(sa.Column("user_name_key", sa.String(64), nullable=True))
    _store_user_name_keys()
    with op.batch_alter_table("practitioners") as batch:
        batch.alter_column("user_name_key", existing_type=sa.String(64), nullable=False)
        batch.create_index("uq_practitioners_tenant_user_name_key", ["tenant_id", "user_name_key"], unique=True)


def _store_user_name_keys() -> None:
    """Computes every key in Python: the fold is the domain's, which SQL's lower() is not."""
    practitioners = sa.table(
        "practitioners",
        sa.column("id"),
        sa.column("tenant_id"),
        sa.column("user_name"),
        sa.column("email"),
        sa.column("created_at"),
        sa.column("user_name_key"),
    )
    c = practitioners.c
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(c.id, c.tenant_id, c.user_name, c.email).order_by(c.tenant_id, c.created_at, c.id)
    ).all()
    holders: defaultdict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        user_name = row.user_name or row.email
        holders[(row.tenant_id, fold_user_name(user_name))].append((row.id, user_name))
    shared = [(tenant_id, names) for (tenant_id, _key), names in holders.items() if len(names) > 1]
    if shared:
        # Which of two accounts is the real one is not a migration's to guess: both may hold data.
        listing = "; ".join(
            f"tenant {tenant_id}: " + ", ".join(f"{name!r} (id {pid})" for pid, name in names)
            for tenant_id, names in shared
        )
        raise DuplicateUserNames(
            "userName becomes unique per practice without regard to case, but these practitioners share one: "
            f"{listing}. Delete or rename all but one of each (SCIM DELETE or PUT) with the previous "
            "version, then upgrade again."
        )
    if rows:
        connection.execute(
            sa.update(practitioners)
            .where(c.id == sa.bindparam("practitioner_id"))
            .values(user_name_key=sa.bindparam("key")),
            [{"practitioner_id": pid, "key": key} for (_tenant, key), names in holders.items() for pid, _name in names],
        )


def downgrade() -> None:
    with op.batch_alter_table("practitioners") as batch:
        batch.drop_index("uq_practitioners_tenant_user_name_key")
        batch.drop_column("user_name_key")
    op.create_table(
        "failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bucket", sa.String(length=400), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failures")),
    )
    with op.batch_alter_table("failures") as batch:
        batch.create_index("ix_failures_bucket_occurred_at", ["bucket", "occurred_at"], unique=False)
    op.drop_table("throttle_counters")
