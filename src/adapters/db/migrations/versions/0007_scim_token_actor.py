"""scim: the practitioner a SCIM token acts for

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scim_tokens") as batch:
        # NULL for the tokens that exist now: nobody was recorded, so they keep the least
        # authority (plain practitioners only). No foreign key, as audit_events.actor_id: a
        # deleted creator's id must stay, so that their token is refused, not taken for one of these.
        batch.add_column(sa.Column("created_by", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scim_tokens") as batch:
        batch.drop_column("created_by")
