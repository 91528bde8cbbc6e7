"""The mail the product sends, written once in plain text and HTML."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from domain.model import Practitioner, ResetPurpose, Tenant
from domain.ports import MailMessage


def _one_line(header: str) -> str:
    """A header value with its whitespace folded: a line break in a name saved before names had to
    be one line (a provider's button text, say) must not end the header and start another."""
    return " ".join(header.split())


def _validity(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    if hours >= 24 and hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def password_link_message(
    tenant: Tenant, practitioner: Practitioner, link: str, purpose: str
) -> MailMessage:
    validity = _validity(ResetPurpose.LIFETIME[purpose])
    if purpose == ResetPurpose.SET:
        subject = f"Your account at {tenant.name}"
        opening = (
            f"An account has been created for you at {tenant.name}. "
            "Choose your password with this link:"
        )
        unasked = "If you did not expect this account, you can ignore this message."
    else:
        subject = f"Reset your password for {tenant.name}"
        opening = f"Someone asked to reset the password of your account at {tenant.name}."
        unasked = (
            "If you did not ask for this, ignore this message: your password stays as it is."
        )
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
    return MailMessage(to=practitioner.email, subject=_one_line(subject), text=text, html=html)


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
    return MailMessage(to=practitioner.email, subject=_one_line(subject), text=text, html=html)
