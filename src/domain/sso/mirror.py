"""ProfileMirror: in pseudo-SSO the provider is the source of truth for every mapped field."""

from __future__ import annotations

from domain.audit import AuditKind, AuditTrail
from domain.ports import PractitionerRepository
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.profile import ProfileField
from domain.provisioning.scim_user import ScimQuery
from domain.sso.identity import VerifiedIdentity
from domain.sso.claims import ClaimMapper
from domain.tenancy.tenant import Tenant


class ProfileMirror:
    def __init__(self, practitioners: PractitionerRepository, audit: AuditTrail) -> None:
        self._practitioners = practitioners
        self._audit = audit

    def mirror(self, tenant: Tenant, practitioner: Practitioner, identity: VerifiedIdentity) -> None:
        """Overwrites the mapped fields with the provider's claims at every login, and audits it.

        The email too, unless another practitioner holds it: then it is kept, and that is audited.
        """
        profile = ClaimMapper(tenant.auth.claim_mappings).profile_from(identity.claims)
        changed = practitioner.update_profile({f: v for f, v in profile.items() if v is not None})
        email = profile.get(ProfileField.EMAIL)
        if email and email != practitioner.email:
            if not self._email_taken(tenant, practitioner, email):
                practitioner.change_email(email, proven=identity.email_verified)
                changed.append(ProfileField.EMAIL)
            else:
                self._audit.record(
                    tenant,
                    AuditKind.PROFILE_MIRRORED,
                    f"{practitioner.email}: email {email} from the provider is taken; kept",
                    practitioner.id,
                )
        if changed:
            names = ", ".join(f.label for f in changed)
            self._audit.record(
                tenant,
                AuditKind.PROFILE_MIRRORED,
                f"{practitioner.email}: {names} overwritten from the provider",
                practitioner.id,
            )

    def _email_taken(self, tenant: Tenant, practitioner: Practitioner, email: str) -> bool:
        """Another practitioner has the email, or holds it as their SCIM userName (which the
        email is too, for a practitioner who has no userName of their own)."""
        if self._practitioners.get_by_email(tenant.id, email) is not None:
            return True
        if practitioner.user_name is not None:
            return False
        holders = self._practitioners.scim_search(tenant.id, ScimQuery(user_name=email), 0, 2)[0]
        return any(holder.id != practitioner.id for holder in holders)
