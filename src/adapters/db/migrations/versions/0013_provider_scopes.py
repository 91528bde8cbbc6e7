"""Scopes and hints per identity provider; the SCIM displayName as sent

- identity_providers: extra_scopes (space-separated, requested beside the base scopes),
  domain_hint (sent as domain_hint=) and send_login_hint (the typed email sent as login_hint=).
  Existing providers ask for nothing more than before.
- practitioners: display_name, the SCIM displayName as the client sent it (NULL for everyone
  until a client sends one: the name then reads as first and last name, as before; empty once
  a client removed it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity_providers") as batch:
        batch.add_column(sa.Column("extra_scopes", sa.String(400), nullable=False, server_default=""))
        batch.add_column(sa.Column("domain_hint", sa.String(253), nullable=False, server_default=""))
        batch.add_column(sa.Column("send_login_hint", sa.Boolean, nullable=False, server_default=sa.false()))
    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(sa.Column("display_name", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("practitioners") as batch:
        batch.drop_column("display_name")
    with op.batch_alter_table("identity_providers") as batch:
        for column in ("send_login_hint", "domain_hint", "extra_scopes"):
            batch.drop_column(column)
