"""The mail with a link to set or reset a password."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from domain.passwords.reset_token import ResetPurpose
from domain.ports import MailMessage
from domain.practitioners.practitioner import Practitioner
from domain.tenancy.tenant import Tenant
from domain.text import fold_to_one_line


def _validity(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    if hours >= 24 and hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def password_link_message(tenant: Tenant, practitioner: Practitioner, link: str, purpose: str) -> MailMessage:
    validity = _validity(ResetPurpose.LIFETIME[purpose])
    if purpose == ResetPurpose.SET:
        subject = f"Your account at {tenant.name}"
        opening = f"An account has been created for you at {tenant.name}. Choose your password with this link:"
        unasked = "If you did not expect this account, you can ignore this message."
    else:
        subject = f"Reset your password for {tenant.name}"
        opening = f"Someone asked to reset the password of your account at {tenant.name}."
        unasked = "If you did not ask for this, ignore this message: your password stays as it is."
    text = (
        f"Hello {practitioner.first_name},\n\n{opening}\n\n{link}\n\n"
        f"The link works once and expires in {validity}.\n{unasked}\n\n{tenant.name}\n"
    )
    html = (
        f"<p>Hello {escape(practitioner.first_name)},</p>"
        f"<p>{escape(opening)}</p>"
        f'<p><a href="{escape(link)}">{escape(link)}</a></p>'
        f"<p>The link works once and expires in {validity}.<br>{escape(unasked)}</p>"
        f"<p>{escape(tenant.name)}</p>"
    )
    return MailMessage(to=practitioner.email, subject=fold_to_one_line(subject), text=text, html=html)
