"""The module rights a practitioner can hold besides being the owner.

A module of its own, importing only the kernel's texts, so a tenant's settings can name rights (its
mapping from the provider's roles and groups to rights) without importing the practitioner."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from domain.errors import N_
from domain.text import in_a_row


class ModuleRight(str, Enum):
    """Rights a practitioner can hold besides being the owner."""

    AUTHENTICATION = "authentication"
    PRACTITIONERS = "practitioners"


RIGHT_NAMES = {ModuleRight.AUTHENTICATION: N_("Authentication"), ModuleRight.PRACTITIONERS: N_("Practitioners")}


def rights_named(rights: Iterable[ModuleRight]) -> str:
    """Some rights as the audit trail names them, each name translated: "Authentication right",
    "Authentication and Practitioners rights"."""
    names = [RIGHT_NAMES[right] for right in sorted(rights, key=lambda right: right.value)]
    if len(names) == 1:
        return N_("%(name)s right", name=names[0])
    return N_("%(names)s and %(last)s rights", names=in_a_row(names[:-1]), last=names[-1])


def rights_listed(rights: Iterable[ModuleRight]) -> str:
    """Some rights as a list of their names, each translated: "Authentication, Practitioners"; no
    rights, no text."""
    names = [RIGHT_NAMES[right] for right in sorted(rights, key=lambda right: right.value)]
    return in_a_row(names) if names else ""
