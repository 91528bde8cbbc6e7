"""The mail with a link to set or reset a password."""

from __future__ import annotations

from datetime import timedelta

from domain.errors import Message, N_, Nn_
from domain.practitioners.mail import Letter
from domain.passwords.reset_token import ResetPurpose
from domain.tenancy.tenant import Tenant


def _validity(span: timedelta) -> Message:
    hours = int(span.total_seconds() // 3600)
    if hours >= 24 and hours % 24 == 0:
        days = hours // 24
        return Nn_(
            "The link works once and expires in %(count)s day.",
            "The link works once and expires in %(count)s days.",
            days,
        )
    return Nn_(
        "The link works once and expires in %(count)s hour.",
        "The link works once and expires in %(count)s hours.",
        hours,
    )


def password_link_letter(tenant: Tenant, link: str, purpose: str) -> Letter:
    validity = _validity(ResetPurpose.LIFETIME[purpose])
    if purpose == ResetPurpose.SET:
        return Letter(
            N_("Your account at %(practice)s", practice=tenant.name),
            N_(
                "An account has been created for you at %(practice)s. Choose your password with this link:",
                practice=tenant.name,
            ),
            (validity, N_("If you did not expect this account, you can ignore this message.")),
            link=link,
        )
    return Letter(
        N_("Reset your password for %(practice)s", practice=tenant.name),
        N_("Someone asked to reset the password of your account at %(practice)s.", practice=tenant.name),
        (validity, N_("If you did not ask for this, ignore this message: your password stays as it is.")),
        link=link,
    )
