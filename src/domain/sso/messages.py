"""The mail with the one-time password that confirms a link."""

from __future__ import annotations

from domain.errors import N_, Nn_
from domain.practitioners.mail import Letter
from domain.tenancy.tenant import Tenant


def link_code_letter(tenant: Tenant, code: str, provider_name: str, valid_minutes: int) -> Letter:
    return Letter(
        N_(
            "Your code to link %(provider)s at %(practice)s: %(code)s",
            provider=provider_name,
            practice=tenant.name,
            code=code,
        ),
        N_(
            "Someone signed in with %(provider)s and asked to link it to your account at %(practice)s. "
            "To confirm that it was you, enter this code:",
            provider=provider_name,
            practice=tenant.name,
        ),
        (
            Nn_(
                "The code works once and expires in %(count)s minute.",
                "The code works once and expires in %(count)s minutes.",
                valid_minutes,
            ),
            N_(
                "If you did not ask for this, do not pass the code on to anyone and ignore this message: "
                "nothing is linked without it. Tell your practice's administrator if it keeps happening."
            ),
        ),
        code=code,
    )
