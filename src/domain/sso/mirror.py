"""ProfileMirror: in pseudo-SSO the provider is the source of truth for every mapped field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import N_
from domain.text import in_a_row
from domain.audit import AuditKind, AuditTrail
from domain.ports import PractitionerRepository
from domain.practitioners.email_change import email_taken
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.profile import ProfileField
from domain.sso.identity import VerifiedIdentity
from domain.sso.claims import ClaimMapper
from domain.tenancy.tenant import Tenant


@dataclass(frozen=True)
class ProviderProfile:
    """What the provider says of someone, as the tenant's claim mappings read it: all the mirror
    needs. Small enough to wait in a browser session for the one-time password, since
    ClaimMapper bounds every value (a name or job title of 100 characters, a phone number, an
    email address); the claims themselves, of any size, are never kept.

    ``email_verified``: the provider vouches for the mapped email (VerifiedIdentity.vouches_for)."""

    values: Mapping[ProfileField, str]
    email_verified: bool = False

    @classmethod
    def of(cls, tenant: Tenant, identity: VerifiedIdentity) -> ProviderProfile:
        mapped = ClaimMapper(tenant.auth.claim_mappings).profile_from(identity.claims)
        values = {f: v for f, v in mapped.items() if v is not None}
        email = values.get(ProfileField.EMAIL)
        return cls(values, identity.vouches_for(email))

    def to_dict(self) -> dict[str, Any]:
        return {"values": {f.value: v for f, v in self.values.items()}, "email_verified": self.email_verified}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProviderProfile:
        """ValueError, TypeError or KeyError for anything to_dict did not write."""
        raw = data["values"]
        if not isinstance(raw, Mapping) or not all(isinstance(value, str) for value in raw.values()):
            raise TypeError("the profile values are not text by field")
        return cls({ProfileField(name): value for name, value in raw.items()}, data["email_verified"] is True)


@dataclass(frozen=True)
class ProfileMirror:
    _practitioners: PractitionerRepository
    _audit: AuditTrail

    def mirror(self, tenant: Tenant, practitioner: Practitioner, profile: ProviderProfile) -> None:
        """Overwrites the mapped fields with the provider's values, and audits it.

        The email too, when the provider marks it verified and no other practitioner holds it;
        otherwise the registered email stays, and that is audited.
        """
        changed = practitioner.update_profile(dict(profile.values))  # the email is not among them
        if self._mirror_email(tenant, practitioner, profile):
            changed.append(ProfileField.EMAIL)
        if changed:
            names = in_a_row([f.label for f in changed])
            summary = N_("%(email)s: %(fields)s overwritten from the provider", email=practitioner.email, fields=names)
            self._audit.record(tenant, AuditKind.PROFILE_MIRRORED, summary, practitioner.id)

    def _mirror_email(self, tenant: Tenant, practitioner: Practitioner, profile: ProviderProfile) -> bool:
        """Whether the email changed. An unverified address would let whoever can set an email
        at the provider move the account to a mailbox nobody proved: it never replaces the
        registered one (checked first: it needs no lookup)."""
        email = profile.values.get(ProfileField.EMAIL)
        if not email or email == practitioner.email:
            return False
        if not profile.email_verified:
            kept = N_(
                "%(email)s: email %(new)s from the provider is not marked verified there; kept",
                email=practitioner.email,
                new=email,
            )
        elif email_taken(self._practitioners, tenant.id, practitioner, email):
            kept = N_("%(email)s: email %(new)s from the provider is taken; kept", email=practitioner.email, new=email)
        else:
            return practitioner.change_email(email, proven=True)
        self._audit.record(tenant, AuditKind.PROFILE_MIRRORED, kept, practitioner.id)
        return False
