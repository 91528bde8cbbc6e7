"""Languages and time zones; sessions that follow the identity provider

- tenants: default_language (the practice's language for whoever has chosen none; NULL: the
  browser's), time_zone (an IANA name; dates are shown in it; existing practices: Europe/Berlin).
- practitioners: language (the practitioner's own choice; NULL: none made), provided_language
  (the language tag the identity provider's `locale` claim or SCIM's `preferredLanguage` sent, as
  sent).
- identity_providers: end_session_endpoint (RP-initiated logout; empty: logout stays local),
  logout_at_provider (the per-provider switch), backchannel_logout_supported (as discovery said).
- web_sessions: the provider a session was opened through, the provider's `sid` and `sub`
  (back-channel logout ends the sessions they name), and the ID token (the `id_token_hint`).
- logout_token_jtis: the `jti` of every back-channel logout token accepted, until it expires,
  so a replayed token is refused.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("default_language", sa.String(8), nullable=True))
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=False, server_default="Europe/Berlin"))
    with op.batch_alter_table("practitioners") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))
        batch.add_column(sa.Column("provided_language", sa.String(64), nullable=True))
    with op.batch_alter_table("identity_providers") as batch:
        batch.add_column(sa.Column("end_session_endpoint", sa.String(2000), nullable=False, server_default=""))
        batch.add_column(sa.Column("logout_at_provider", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(
            sa.Column("backchannel_logout_supported", sa.Boolean, nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("provider_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("provider_sid", sa.String(255), nullable=True))
        batch.add_column(sa.Column("provider_subject", sa.String(255), nullable=True))
        batch.add_column(sa.Column("id_token", sa.Text, nullable=True))
    op.create_index("ix_web_sessions_provider_sid", "web_sessions", ["provider_id", "provider_sid"])
    op.create_index("ix_web_sessions_provider_subject", "web_sessions", ["provider_id", "provider_subject"])
    op.create_table(
        "logout_token_jtis",
        sa.Column(
            "provider_id",
            sa.String(32),
            sa.ForeignKey("identity_providers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("jti_digest", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_logout_token_jtis_expires_at", "logout_token_jtis", ["expires_at"])


def downgrade() -> None:
    op.drop_table("logout_token_jtis")
    op.drop_index("ix_web_sessions_provider_subject", "web_sessions")
    op.drop_index("ix_web_sessions_provider_sid", "web_sessions")
    with op.batch_alter_table("web_sessions") as batch:
        for column in ("id_token", "provider_subject", "provider_sid", "provider_id"):
            batch.drop_column(column)
    with op.batch_alter_table("identity_providers") as batch:
        for column in ("backchannel_logout_supported", "logout_at_provider", "end_session_endpoint"):
            batch.drop_column(column)
    with op.batch_alter_table("practitioners") as batch:
        for column in ("provided_language", "language"):
            batch.drop_column(column)
    with op.batch_alter_table("tenants") as batch:
        for column in ("time_zone", "default_language"):
            batch.drop_column(column)
