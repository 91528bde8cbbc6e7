"""Maps the domain's plain classes onto the tables, from the outside."""

from __future__ import annotations

from sqlalchemy.orm import composite, registry

from adapters.db import schema
from domain.challenges import LinkChallenge
from domain.model import AuthSettings, PasswordResetToken, Practitioner, Tenant
from domain.provisioning import ScimToken
from domain.sso import AuditEvent, IdentityLink, IdentityProvider

mapper_registry = registry(metadata=schema.metadata)


def start_mappers() -> None:
    """Idempotent: the web app, the CLI and the tests may all configure."""
    if mapper_registry.mappers:
        return
    t = schema.tenants.c
    mapper_registry.map_imperatively(
        Tenant,
        schema.tenants,
        properties={
            "auth": composite(
                AuthSettings,
                t.restrict_to_sso,
                t.workflow,
                t.unknown_identity,
                t.self_registration,
                t.claim_mappings,
            )
        },
    )
    # The version column counts every UPDATE of the row: the SCIM ETag, and optimistic locking.
    mapper_registry.map_imperatively(
        Practitioner, schema.practitioners, version_id_col=schema.practitioners.c.version
    )
    mapper_registry.map_imperatively(ScimToken, schema.scim_tokens)
    mapper_registry.map_imperatively(PasswordResetToken, schema.password_reset_tokens)
    mapper_registry.map_imperatively(IdentityProvider, schema.identity_providers)
    mapper_registry.map_imperatively(IdentityLink, schema.identity_links)
    mapper_registry.map_imperatively(LinkChallenge, schema.link_challenges)
    mapper_registry.map_imperatively(AuditEvent, schema.audit_events)
