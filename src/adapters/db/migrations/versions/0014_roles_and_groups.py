"""roles from the provider and SCIM groups

- tenants: roles_claim (the claim whose values name roles or groups; empty: none), role_mappings
  (JSON: which value gives which module right), roles_from_provider (apply them at sign-in).
  Existing practices map nothing and apply nothing, as before.
- scim_groups, scim_group_members: groups a provisioning client pushes, with their members.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("roles_claim", sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("role_mappings", sa.Text, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("roles_from_provider", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "scim_groups",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("display_name_key", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("uq_scim_groups_tenant_name", "scim_groups", ["tenant_id", "display_name_key"], unique=True)
    op.create_table(
        "scim_group_members",
        sa.Column("group_id", sa.String(32), sa.ForeignKey("scim_groups.id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "practitioner_id",
            sa.String(32),
            sa.ForeignKey("practitioners.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_scim_group_members_practitioner_id", "scim_group_members", ["practitioner_id"])


def downgrade() -> None:
    op.drop_table("scim_group_members")
    op.drop_table("scim_groups")
    with op.batch_alter_table("tenants") as batch:
        for column in ("roles_from_provider", "role_mappings", "roles_claim"):
            batch.drop_column(column)
