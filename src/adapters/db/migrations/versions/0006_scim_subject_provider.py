"""scim: the provider whose subject a provisioned externalId is

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        # No foreign key: identity_providers already references tenants, and the domain
        # treats an id that no longer names a provider as "no provider".
        batch.add_column(sa.Column("scim_subject_provider_id", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("scim_subject_provider_id")
