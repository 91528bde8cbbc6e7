"""A SCIM bearer token as stored (only its digest), and how it is listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.identifiers import new_id
from domain.practitioners.authority import Authority
from domain.practitioners.practitioner import Practitioner


TOKEN_PREFIX = "ppscim_"


class ProvisioningKind:
    TOKEN_CREATED = "scim_token_created"
    TOKEN_REVOKED = "scim_token_revoked"
    USER_CREATED = "scim_user_created"
    USER_UPDATED = "scim_user_updated"
    USER_DEACTIVATED = "scim_user_deactivated"
    USER_DELETED = "scim_user_deleted"


@dataclass(eq=False)
class ScimToken:
    tenant_id: str
    name: str
    token_digest: str
    created_at: datetime
    id: str = field(default_factory=new_id)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    # The practitioner the token acts for: who created it (the owner, for the CLI). None only
    # for tokens made before tokens recorded it; those act with the least authority.
    created_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class ListedToken:
    """A token as the provisioning page lists it: whom it acts for, and whether it works now."""

    token: ScimToken
    creator: Practitioner | None
    authority: Authority | None  # None: it does not work now, see ``refusal``
    refusal: str | None
