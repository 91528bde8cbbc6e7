"""what practice admins still missed: a full audit trail, retention, a registration link, proven email changes

- audit_events: whom an event is about (subject_id), the SCIM token that acted (actor_token_id),
  the client address and user agent; indexes for keyset pages by time, kind, actor and subject.
- tenants: audit_retention_days (365 unless the practice chooses), registration_url (pseudo-SSO:
  the provider's own registration page, shown instead of the portal's form).
- practitioners: pending_email, an address an admin entered that waits for its mailed proof.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

AUDIT_INDEXES = {
    "ix_audit_events_tenant_at_id": ["tenant_id", "at", "id"],
    "ix_audit_events_tenant_kind_at": ["tenant_id", "kind", "at"],
    "ix_audit_events_tenant_actor_at": ["tenant_id", "actor_id", "at"],
    "ix_audit_events_tenant_subject_at": ["tenant_id", "subject_id", "at"],
}


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("subject_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("actor_token_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("client_address", sa.String(64), nullable=True))
        batch.add_column(sa.Column("user_agent", sa.String(255), nullable=True))
        batch.drop_index("ix_audit_events_tenant_at")
        for name, columns in AUDIT_INDEXES.items():
            batch.create_index(name, columns)
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("audit_retention_days", sa.Integer, nullable=False, server_default="365"))
        batch.add_column(sa.Column("registration_url", sa.String(2000), nullable=True))
    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(sa.Column("pending_email", sa.String(254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("practitioners") as batch:
        batch.drop_column("pending_email")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("registration_url")
        batch.drop_column("audit_retention_days")
    with op.batch_alter_table("audit_events") as batch:
        for name in AUDIT_INDEXES:
            batch.drop_index(name)
        batch.create_index("ix_audit_events_tenant_at", ["tenant_id", "at"])
        for column in ("user_agent", "client_address", "actor_token_id", "subject_id"):
            batch.drop_column(column)
