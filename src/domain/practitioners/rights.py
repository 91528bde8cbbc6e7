"""The module rights a practitioner can hold besides being the owner.

A module of its own, importing nothing, so a tenant's settings can name rights (its mapping from
the provider's roles and groups to rights) without importing the practitioner."""

from __future__ import annotations

from enum import Enum


class ModuleRight(str, Enum):
    """Rights a practitioner can hold besides being the owner."""

    AUTHENTICATION = "authentication"
    PRACTITIONERS = "practitioners"
