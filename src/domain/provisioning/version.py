"""A provisioned user's version: the ETag SCIM shows (meta.version) and the If-Match a write may name.

The one place that renders the tag and compares a client's precondition with it, so a tag
the server hands out is always one it accepts back.
"""

from __future__ import annotations

from typing import Protocol

from domain.errors import VersionMismatch


class Versioned(Protocol):
    """A provisioned resource (a practitioner, a group): its version counts its changes."""

    @property
    def version(self) -> int: ...


def etag(practitioner: Versioned) -> str:
    return f'W/"{practitioner.version}"'


def require_version(practitioner: Versioned, if_match: str | None) -> None:
    """Refuses a write whose If-Match (None: not sent) names neither ``*`` nor this version.

    The header may list several tags. They are compared weakly (RFC 9110 §8.8.3.2): W/"3" and
    "3" name the same version, as clients differ in which form they send back.
    """
    if if_match is None:
        return
    current = etag(practitioner).removeprefix("W/")
    for candidate in if_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == current:
            return
    raise VersionMismatch()
