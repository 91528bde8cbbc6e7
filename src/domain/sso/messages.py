"""The mail with the one-time password that confirms a link."""

from __future__ import annotations

from html import escape

from domain.ports import MailMessage
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.tenant import Tenant
from domain.text import fold_to_one_line


def link_code_message(
    tenant: Tenant, practitioner: Practitioner, code: str, provider_name: str, valid_minutes: int
) -> MailMessage:
    subject = f"Your code to link {provider_name} at {tenant.name}: {code}"
    opening = (
        f"Someone signed in with {provider_name} and asked to link it to your account at "
        f"{tenant.name}. To confirm that it was you, enter this code:"
    )
    unasked = (
        "If you did not ask for this, do not pass the code on to anyone and ignore this "
        "message: nothing is linked without it. Tell your practice's administrator if it keeps "
        "happening."
    )
    text = (
        f"Hello {practitioner.first_name},\n\n{opening}\n\n    {code}\n\n"
        f"The code works once and expires in {valid_minutes} minutes.\n{unasked}\n\n{tenant.name}\n"
    )
    html = (
        f"<p>Hello {escape(practitioner.first_name)},</p><p>{escape(opening)}</p>"
        f'<p style="font-size:1.6em;letter-spacing:.2em"><strong>{escape(code)}</strong></p>'
        f"<p>The code works once and expires in {valid_minutes} minutes.<br>{escape(unasked)}</p>"
        f"<p>{escape(tenant.name)}</p>"
    )
    return MailMessage(to=practitioner.email, subject=fold_to_one_line(subject), text=text, html=html)
