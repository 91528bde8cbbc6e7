"""Who may change whom: one rule for the admin pages, SCIM and the CLI.

An ``Authority`` is the principal behind a change: a practitioner at the pages (the CLI acts
as the account owner), or a SCIM token, which acts for the practitioner who created it.

The rule, and why:

- Only someone who holds the Practitioners right (the owner holds every right) changes,
  adds, deactivates or deletes practitioners at all.
- Only the account owner changes the account owner, or anyone who holds a module right.
  Module rights are granted by the owner alone, so only the owner manages the people who
  hold them. A holder of the Practitioners right reaches plain practitioners only: changing
  a fellow admin's email and then resetting their password would hand over that admin's
  account, and with it rights the owner never granted to the one who did it.
- Nobody ends the account owner (deactivates or deletes), by any path, not even the owner's
  own token: a practice always keeps an active owner. Nobody deactivates themselves.
- Granting module rights stays with the owner.
- The Authentication module (identity providers, the login policy, the practice's settings,
  the audit trail's retention, test sign-ins) is the owner's and Authentication right holders'.
- A practitioner has authority in their own practice only: in another one, none at all.

A token made before tokens recorded their creator acts for nobody: it keeps the least
authority (plain practitioners only), so an integration set up earlier keeps working for
ordinary provisioning without reaching anyone who holds a right.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from domain.errors import N_, Message, NotAllowed, ProtectedState
from domain.practitioners.practitioner import Practitioner
from domain.practitioners.rights import ModuleRight, rights_listed
from domain.tenancy.tenant import Tenant


ONLY_RIGHTS_HOLDERS = N_("only the account owner or someone with the Practitioners right manages practitioners")

ONLY_OWNER_GRANTS = N_("only the account owner grants module rights")

ONLY_AUTHENTICATION_ADMINS = N_("only the account owner or someone with the Authentication right decides this")


class Ending(Enum):
    """The two ways a practitioner's access ends; the value is the verb."""

    DEACTIVATE = "deactivate"  # the account is kept, its `active` attribute becomes false
    DELETE = "delete"

    @property
    def attribute(self) -> str | None:
        """The attribute the ending changes, if it is one (SCIM answers `mutability` for it)."""
        return "active" if self is Ending.DEACTIVATE else None


# Whole sentences for each ending: a verb is never put into a translated sentence.
_OWN_ACCOUNT = {
    Ending.DEACTIVATE: N_("you cannot deactivate your own account"),
    Ending.DELETE: N_("you cannot delete your own account"),
}
_OWN_ACCOUNT_AS_OWNER = {
    Ending.DEACTIVATE: N_("you cannot deactivate your own account: a practice always keeps its account owner"),
    Ending.DELETE: N_("you cannot delete your own account: a practice always keeps its account owner"),
}
_THE_OWNER = {
    Ending.DEACTIVATE: N_("the account owner cannot be deactivated: a practice always keeps its account owner"),
    Ending.DELETE: N_("the account owner cannot be deleted: a practice always keeps its account owner"),
}


@dataclass(frozen=True)
class Authority:
    tenant_id: str
    name: str  # who acts, as the audit log names them: an email, or "SCIM token 'Entra'"
    practitioner_id: str | None  # the person acting, or for whom a token acts; None: nobody recorded
    is_owner: bool
    manages_practitioners: bool  # holds the Practitioners right
    manages_authentication: bool = False  # holds the Authentication right (a token never does)

    @classmethod
    def of(cls, practitioner: Practitioner, tenant: Tenant) -> Authority:
        """A practitioner acting in person: at the admin pages, or the owner for the operator's CLI.
        ``tenant``: the practice they act on; one not theirs gives them no authority at all."""
        mine = tenant.id == practitioner.tenant_id
        return cls(
            tenant_id=practitioner.tenant_id,
            name=practitioner.email,
            practitioner_id=practitioner.id,
            is_owner=mine and practitioner.is_owner,
            manages_practitioners=mine and practitioner.holds(ModuleRight.PRACTITIONERS),
            manages_authentication=mine and practitioner.holds(ModuleRight.AUTHENTICATION),
        )

    @classmethod
    def for_token(
        cls, tenant_id: str, token_name: str, created_by: str | None, creator: Practitioner | None
    ) -> Authority:
        """What a SCIM token may do: what its creator may, for as long as the creator may.

        ``created_by`` is the id the token recorded, ``creator`` who that id names in the
        token's practice now (None when nobody). Refused with NotAllowed when the creator is
        deleted, deactivated or no longer holds the Practitioners right.
        """
        name = N_("SCIM token %(name)r", name=token_name)
        if created_by is None:
            return cls(tenant_id, name, None, is_owner=False, manages_practitioners=True)
        if creator is None or creator.tenant_id != tenant_id:
            raise NotAllowed(N_("the practitioner who created this token no longer exists; create a new token"))
        if not creator.active:
            raise NotAllowed(
                N_("the practitioner who created this token is deactivated; create a new token, or reactivate them")
            )
        if not creator.holds(ModuleRight.PRACTITIONERS):
            raise NotAllowed(
                N_(
                    "the practitioner who created this token no longer holds the Practitioners right; "
                    "create a new token"
                )
            )
        return cls(tenant_id, name, creator.id, is_owner=creator.is_owner, manages_practitioners=True)

    @property
    def reaches_rights_holders(self) -> bool:
        """Whether changes may reach the owner and holders of module rights, not only plain practitioners."""
        return self.is_owner

    # ---- the questions -------------------------------------------------------------------

    def may_manage(self, target: Practitioner) -> bool:
        """May change (or reactivate) this practitioner."""
        return self._reach_refusal(target) is None

    def may_end(self, target: Practitioner, ending: Ending = Ending.DEACTIVATE) -> bool:
        """May deactivate (or delete) this practitioner."""
        return self._end_refusal(target, ending) is None

    # ---- the same questions, refused with the reason -------------------------------------

    def require_may_provision(self) -> None:
        """May add practitioners (or make SCIM tokens, which act for them)."""
        if not self.manages_practitioners:
            raise NotAllowed(ONLY_RIGHTS_HOLDERS)

    def require_may_grant_rights(self) -> None:
        if not self.is_owner:
            raise NotAllowed(ONLY_OWNER_GRANTS)

    def require_may_administer_authentication(self, refusal: Message = ONLY_AUTHENTICATION_ADMINS) -> None:
        """May change the Authentication module's settings (``refusal``: the words of the refusal)."""
        if not self.manages_authentication:
            raise NotAllowed(refusal)

    def require_may_manage(self, target: Practitioner) -> None:
        refusal = self._reach_refusal(target)
        if refusal is not None:
            raise refusal

    def require_may_end(self, target: Practitioner, ending: Ending = Ending.DEACTIVATE) -> None:
        refusal = self._end_refusal(target, ending)
        if refusal is not None:
            raise refusal

    def _reach_refusal(self, target: Practitioner) -> NotAllowed | None:
        if target.tenant_id != self.tenant_id or not self.manages_practitioners:
            return NotAllowed(ONLY_RIGHTS_HOLDERS)
        if self.reaches_rights_holders:
            return None
        if target.is_owner:
            return NotAllowed(N_("only the account owner changes the account owner"))
        if target.rights:
            return NotAllowed(
                N_(
                    "only the account owner changes practitioners who hold a module right (%(email)s holds %(rights)s)",
                    email=target.email,
                    rights=rights_listed(target.rights),
                )
            )
        return None

    def _end_refusal(self, target: Practitioner, ending: Ending) -> NotAllowed | None:
        # Refused whoever asks, so checked before reach: the answer does not depend on authority.
        if target.id == self.practitioner_id:
            own = _OWN_ACCOUNT_AS_OWNER if target.is_owner else _OWN_ACCOUNT
            return ProtectedState(own[ending], ending.attribute)
        if target.is_owner:
            return ProtectedState(_THE_OWNER[ending], ending.attribute)
        return self._reach_refusal(target)
