"""login policy: claim mappings, profile fields, proven emails, link re-confirmation, OAuth 2.0

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DEFAULT_MAPPINGS = json.dumps(
    [
        {"field": "first_name", "claim": "given_name", "value_map": []},
        {"field": "last_name", "claim": "family_name", "value_map": []},
        {"field": "email", "claim": "email", "value_map": []},
    ]
)


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("claim_mappings", sa.Text(), nullable=False, server_default=DEFAULT_MAPPINGS))
    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(sa.Column("salutation", sa.String(16), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(40), nullable=True))
        batch.add_column(sa.Column("job_title", sa.String(100), nullable=True))
        batch.add_column(sa.Column("email_proven", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("identity_links") as batch:
        batch.add_column(sa.Column("needs_reconfirmation", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("identity_providers") as batch:
        batch.add_column(sa.Column("protocol", sa.String(8), nullable=False, server_default="oidc"))
        for name, default in (
            ("subject_field", "sub"),
            ("email_field", "email"),
            ("given_name_field", "given_name"),
            ("family_name_field", "family_name"),
        ):
            batch.add_column(sa.Column(name, sa.String(100), nullable=False, server_default=default))
    # The defaults were for the rows already there; new rows always carry their own values.
    for table, columns in (
        ("tenants", ("claim_mappings",)),
        ("practitioners", ("email_proven",)),
        ("identity_links", ("needs_reconfirmation",)),
        ("identity_providers", ("protocol", "subject_field", "email_field", "given_name_field", "family_name_field")),
    ):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("identity_providers") as batch:
        for name in ("family_name_field", "given_name_field", "email_field", "subject_field", "protocol"):
            batch.drop_column(name)
    with op.batch_alter_table("identity_links") as batch:
        batch.drop_column("needs_reconfirmation")
    with op.batch_alter_table("practitioners") as batch:
        for name in ("email_proven", "job_title", "phone", "salutation"):
            batch.drop_column(name)
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("claim_mappings")
