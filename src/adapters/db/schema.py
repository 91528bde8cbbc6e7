"""Tables. Alembic migrations create them; this module is what the code maps and queries."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

from adapters.db.types import AuditSummary, ClaimMappingsJson, RightsSet, RoleMappingsJson, UTCDateTime
from domain.tenancy.tenant import UnknownIdentityHandling, Workflow


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def row_id() -> Column[str]:
    """A row's own id: domain.identifiers.new_id, 32 hexadecimal characters."""
    return Column("id", String(32), primary_key=True)


def tenant_id(*, index: bool = False) -> Column[str]:
    """The practice a row belongs to: every row goes when its practice goes."""
    return Column("tenant_id", String(32), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=index)


def practitioner_id(*, nullable: bool) -> Column[str]:
    """The practitioner a row belongs to, looked up by it: the row goes with the practitioner."""
    return Column(
        "practitioner_id", String(32), ForeignKey("practitioners.id", ondelete="CASCADE"), nullable=nullable, index=True
    )


def _enum(enum_class: type) -> Enum:
    return Enum(
        enum_class,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


tenants = Table(
    "tenants",
    metadata,
    row_id(),
    Column("slug", String(63), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("restrict_to_sso", Boolean, nullable=False),
    Column("workflow", _enum(Workflow), nullable=False),
    Column("unknown_identity", _enum(UnknownIdentityHandling), nullable=False),
    Column("self_registration", Boolean, nullable=False),
    Column("claim_mappings", ClaimMappingsJson, nullable=False),
    Column("scim_subject_provider_id", String(32), nullable=True),
    Column("audit_retention_days", Integer, nullable=False, server_default="365"),
    # Pseudo-SSO: the provider's own registration page, shown instead of the portal's form.
    Column("registration_url", String(2000), nullable=True),
    # Roles from the provider (AuthSettings): the claim, the mapping to module rights, on or off.
    Column("roles_claim", String(255), nullable=False, server_default=""),
    Column("role_mappings", RoleMappingsJson, nullable=False, server_default="[]"),
    Column("roles_from_provider", Boolean, nullable=False, server_default=false()),
    # The practice's language for whoever has chosen none (NULL: the browser's), and its time zone.
    Column("default_language", String(8), nullable=True),
    Column("time_zone", String(64), nullable=False, server_default="Europe/Berlin"),
)

practitioners = Table(
    "practitioners",
    metadata,
    row_id(),
    tenant_id(),
    Column("email", String(254), nullable=False),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("password_hash", String(255), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("is_owner", Boolean, nullable=False),
    Column("rights", RightsSet, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("salutation", String(16), nullable=True),
    Column("phone", String(40), nullable=True),
    Column("job_title", String(100), nullable=True),
    Column("email_proven", Boolean, nullable=False),
    Column("user_name", String(254), nullable=True),
    Column("external_id", String(255), nullable=True),
    Column("email_primary", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=True, default=_utcnow, onupdate=_utcnow),
    # domain.practitioners.practitioner.fold_user_name of the SCIM userName (the email when there is none), kept in
    # step by adapters.db.orm: the index makes userName unique per tenant without regard to case.
    Column("user_name_key", String(64), nullable=False),
    # An address an admin entered for the practitioner; it replaces email once its mailed link is followed.
    Column("pending_email", String(254), nullable=True),
    # The SCIM displayName exactly as a client sent it. NULL: never sent (first and last name stand in);
    # empty: a client removed it.
    Column("display_name", String(255), nullable=True),
    # The practitioner's own choice of language (NULL: none made), and the language tag the
    # provider's `locale` claim or SCIM's `preferredLanguage` sent, as sent.
    Column("language", String(8), nullable=True),
    Column("provided_language", String(64), nullable=True),
    Index("uq_practitioners_tenant_email", "tenant_id", "email", unique=True),
    Index("uq_practitioners_tenant_user_name_key", "tenant_id", "user_name_key", unique=True),
)

password_reset_tokens = Table(
    "password_reset_tokens",
    metadata,
    row_id(),
    tenant_id(),
    practitioner_id(nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("purpose", String(16), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

# Throttle counters, one row per bucket, counted by one conditional upsert (SqlThrottle), so
# every process agrees and concurrent requests cannot overshoot a limit.
throttle_counters = Table(
    "throttle_counters",
    metadata,
    Column("bucket", String(400), primary_key=True),
    Column("uses", Integer, nullable=False),
    Column("window_started_at", UTCDateTime, nullable=False),
)

# Server-side browser sessions: the cookie holds a random id, the table its HMAC digest.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_digest", String(64), primary_key=True),
    tenant_id(),
    practitioner_id(nullable=True),
    Column("data", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    # How the practitioner logged in (password, sso): a policy change can end one kind.
    Column("login_method", String(16), nullable=True),
    # A session opened through an identity provider: which one, its `sid` and `sub` (a back-channel
    # logout names them), and the ID token (the `id_token_hint` of an RP-initiated logout).
    Column("provider_id", String(32), nullable=True),
    Column("provider_sid", String(255), nullable=True),
    Column("provider_subject", String(255), nullable=True),
    Column("id_token", Text, nullable=True),
    Index("ix_web_sessions_provider_sid", "provider_id", "provider_sid"),
    Index("ix_web_sessions_provider_subject", "provider_id", "provider_subject"),
)

# The durable outbox: a request queues mail in its own transaction, the `worker` command
# delivers it. Due: next_attempt_at <= now. Sent: sent_at set. Failed for good: neither.
mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recipient", String(254), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True, index=True),
    Column("last_error", Text, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True, index=True),
)

identity_providers = Table(
    "identity_providers",
    metadata,
    row_id(),
    tenant_id(index=True),
    Column("display_name", String(80), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("sealed_client_secret", Text, nullable=False),
    Column("issuer", String(2000), nullable=False),
    Column("authorization_endpoint", String(2000), nullable=False),
    Column("token_endpoint", String(2000), nullable=False),
    Column("jwks_uri", String(2000), nullable=False),
    Column("userinfo_endpoint", String(2000), nullable=False),
    Column("token_endpoint_auth_method", String(32), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("protocol", String(8), nullable=False),
    Column("subject_field", String(100), nullable=False),
    Column("email_field", String(100), nullable=False),
    Column("given_name_field", String(100), nullable=False),
    Column("family_name_field", String(100), nullable=False),
    # Space-separated scopes asked for beside the base ones; hints the provider may use to skip its own prompts.
    Column("extra_scopes", String(400), nullable=False, server_default=""),
    Column("domain_hint", String(253), nullable=False, server_default=""),
    Column("send_login_hint", Boolean, nullable=False, server_default=false()),
    # RP-initiated logout (empty endpoint: logout stays local) and what discovery said of back-channel logout.
    Column("end_session_endpoint", String(2000), nullable=False, server_default=""),
    Column("logout_at_provider", Boolean, nullable=False, server_default=false()),
    Column("backchannel_logout_supported", Boolean, nullable=False, server_default=false()),
)

identity_links = Table(
    "identity_links",
    metadata,
    row_id(),
    tenant_id(),
    practitioner_id(nullable=False),
    Column("provider_id", String(32), ForeignKey("identity_providers.id", ondelete="CASCADE"), nullable=False),
    Column("issuer", String(2000), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("needs_reconfirmation", Boolean, nullable=False),
    # The identity key: (tenant, provider, issuer, sub). Never the email.
    Index("uq_identity_links_identity", "tenant_id", "provider_id", "issuer", "subject", unique=True),
)

link_challenges = Table(
    "link_challenges",
    metadata,
    row_id(),
    tenant_id(),
    Column("practitioner_id", String(32), ForeignKey("practitioners.id", ondelete="CASCADE"), nullable=False),
    Column("provider_id", String(32), ForeignKey("identity_providers.id", ondelete="CASCADE"), nullable=False),
    Column("issuer", String(2000), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("binding_digest", String(64), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("code_digest", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("wrong_attempts", Integer, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Index("ix_link_challenges_tenant_binding", "tenant_id", "binding_digest"),
)

audit_events = Table(
    "audit_events",
    metadata,
    row_id(),
    tenant_id(),
    Column("kind", String(40), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("summary", AuditSummary, nullable=False),  # a Message as JSON, or English recorded before
    Column("actor_id", String(32), nullable=True),
    # Whom the event is about (no foreign key: the trail outlives the practitioner).
    Column("subject_id", String(32), nullable=True),
    Column("actor_token_id", String(32), nullable=True),  # the SCIM token that acted, if one did
    Column("client_address", String(64), nullable=True),
    Column("user_agent", String(255), nullable=True),
    # Keyset pages, newest first, whatever the filter: by time alone, by kind, by actor, by subject.
    Index("ix_audit_events_tenant_at_id", "tenant_id", "at", "id"),
    Index("ix_audit_events_tenant_kind_at", "tenant_id", "kind", "at"),
    Index("ix_audit_events_tenant_actor_at", "tenant_id", "actor_id", "at"),
    Index("ix_audit_events_tenant_subject_at", "tenant_id", "subject_id", "at"),
)

scim_tokens = Table(
    "scim_tokens",
    metadata,
    row_id(),
    tenant_id(index=True),
    Column("name", String(100), nullable=False),
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    # The practitioner the token acts for. No foreign key, as audit_events.actor_id: the id
    # outlives its practitioner, so a deleted creator's token is refused rather than read as
    # NULL, which means a token made before this column and acting for nobody.
    Column("created_by", String(32), nullable=True),
)


# SCIM groups as Entra ID and Okta push them: a group's displayName is mapped to module rights by
# the tenant's role mappings; its members are practitioners of the same tenant.
scim_groups = Table(
    "scim_groups",
    metadata,
    row_id(),
    tenant_id(),
    Column("display_name", String(255), nullable=False),
    # fold_user_name-style key of the displayName: unique per tenant without regard to case.
    Column("display_name_key", String(64), nullable=False),
    Column("external_id", String(255), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    Index("uq_scim_groups_tenant_name", "tenant_id", "display_name_key", unique=True),
)

scim_group_members = Table(
    "scim_group_members",
    metadata,
    Column("group_id", String(32), ForeignKey("scim_groups.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "practitioner_id", String(32), ForeignKey("practitioners.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
    tenant_id(),
)

# The `jti` of each back-channel logout token accepted, kept until the token expires: a replay is refused.
logout_token_jtis = Table(
    "logout_token_jtis",
    metadata,
    Column("provider_id", String(32), ForeignKey("identity_providers.id", ondelete="CASCADE"), primary_key=True),
    Column("jti_digest", String(64), primary_key=True),
    tenant_id(),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)
