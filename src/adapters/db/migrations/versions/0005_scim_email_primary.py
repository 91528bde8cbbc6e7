"""scim: the primary flag a provisioning client gave the one email it sent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(sa.Column("email_primary", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("practitioners") as batch:
        batch.alter_column("email_primary", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("practitioners") as batch:
        batch.drop_column("email_primary")
