"""Maps the domain's plain classes onto the tables, from the outside."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import composite, registry

from adapters.db import schema
from domain.sso.challenge import LinkChallenge
from domain.passwords.reset_token import PasswordResetToken
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.tenant import AuthSettings, Tenant
from domain.provisioning.bearer_token import ScimToken
from domain.audit import AuditEvent
from domain.sso.identity import IdentityLink
from domain.sso.provider import IdentityProvider, ProviderSettings

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
                t.registration_url,
                t.roles_claim,
                t.role_mappings,
                t.roles_from_provider,
            )
        },
    )
    # The version column counts every UPDATE of the row: the SCIM ETag, and optimistic locking.
    mapper_registry.map_imperatively(
        Practitioner,
        schema.practitioners,
        version_id_col=schema.practitioners.c.version,
        properties={"_stored_user_name_key": schema.practitioners.c.user_name_key},
    )
    # Whichever path changed the userName or the email, the row is written with its key.
    event.listen(Practitioner, "before_insert", _store_user_name_key)
    event.listen(Practitioner, "before_update", _store_user_name_key)
    mapper_registry.map_imperatively(ScimToken, schema.scim_tokens)
    mapper_registry.map_imperatively(PasswordResetToken, schema.password_reset_tokens)
    _map_identity_provider()
    mapper_registry.map_imperatively(IdentityLink, schema.identity_links)
    mapper_registry.map_imperatively(LinkChallenge, schema.link_challenges)
    mapper_registry.map_imperatively(AuditEvent, schema.audit_events)


def _map_identity_provider() -> None:
    """The settings columns hold one ProviderSettings, in the order of its fields.

    Each column is mapped under a private name, so the settings are read and written only
    through ``settings`` and never beside it.
    """
    columns = [schema.identity_providers.c[name] for name in ProviderSettings.__dataclass_fields__]
    properties: dict[str, Any] = {f"_{column.name}": column for column in columns}
    properties["settings"] = composite(ProviderSettings, *columns)
    mapper_registry.map_imperatively(IdentityProvider, schema.identity_providers, properties=properties)


def _store_user_name_key(_mapper: Any, _connection: Any, practitioner: Practitioner) -> None:
    practitioner._stored_user_name_key = practitioner.user_name_key  # type: ignore[attr-defined]
