"""Creating the link between a practitioner and a provider identity: one rule, used by every path."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from domain.errors import N_, SsoRefused
from domain.ports import IdentityLinkRepository
from domain.practitioners.practitioner import Practitioner
from domain.sso.identity import IdentityLink


TAKEN = N_("this account at the provider is already linked to another practitioner")


def link_identity(
    links: IdentityLinkRepository,
    practitioner: Practitioner,
    provider_id: str,
    issuer: str,
    subject: str,
    now: datetime,
) -> IdentityLink:
    """Links (provider, issuer, sub) to the practitioner: one identity per provider, never two owners.

    A link waiting for re-confirmation is confirmed again; an older identity of the same
    practitioner at the same provider is replaced.
    """
    tenant_id = practitioner.tenant_id
    existing = links.find(tenant_id, provider_id, issuer, subject)
    if existing is not None:
        if existing.practitioner_id != practitioner.id:
            raise SsoRefused(TAKEN)
        existing.needs_reconfirmation = False
        existing.last_used_at = now
        return existing
    held = links.of_practitioner(tenant_id, practitioner.id)
    return add_link(links, practitioner, held, provider_id, issuer, subject, now)


def add_link(
    links: IdentityLinkRepository,
    practitioner: Practitioner,
    held: Iterable[IdentityLink],
    provider_id: str,
    issuer: str,
    subject: str,
    now: datetime,
) -> IdentityLink:
    """Links an identity known to be linked to nobody, for a caller that already holds the
    practitioner's links (``held``): their older identity at the same provider is replaced."""
    for old in held:
        if old.provider_id == provider_id:
            links.remove(old)
    link = IdentityLink(
        practitioner.tenant_id, practitioner.id, provider_id, issuer, subject, linked_at=now, last_used_at=now
    )
    links.add(link)
    return link
