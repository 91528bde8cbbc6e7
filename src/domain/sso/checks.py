"""What an admin's test sign-in found, check by check, in an admin's words.

Plain values with no ports, so ``ports.py`` can name ``Diagnosis`` as what the identity-provider
client reports; ``diagnosis.py`` holds the test itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from domain.errors import N_
from domain.sso.identity import VerifiedIdentity

# The checks of a test, in the order they run (each name's msgid is its English name, which the
# report's rows carry as data-step).
DISCOVERY = N_("Discovery")
KEYS = N_("Signing keys")
TOKEN = N_("Token")
ID_TOKEN = N_("ID token")
USERINFO = N_("Userinfo")
AT_PROVIDER = N_("Sign-in at the provider")
CLAIMS = N_("Claims for the portal")
PROVIDER_STEPS = (DISCOVERY, KEYS, TOKEN, ID_TOKEN, USERINFO)  # what the client checks
NOT_REACHED = N_("not reached: an earlier check failed")

# What the provider said on the callback (RFC 6749 4.1.2.1, OpenID Connect Core 3.1.2.6), for an admin.
CALLBACK_ERRORS = {
    "access_denied": N_(
        "the sign-in was cancelled or refused at the provider: the person declined, or the provider "
        "does not let this person use the application (check who is assigned to it at the provider)"
    ),
    "invalid_scope": N_(
        "the provider refused the scopes the portal asks for (openid email profile): allow them "
        "for this application at the provider"
    ),
    "unauthorized_client": N_(
        "the provider does not let this application sign people in with the authorization-code "
        "flow: enable it (web application, authorization code) at the provider"
    ),
    "unsupported_response_type": N_("the provider does not let this application use the authorization-code flow"),
    "invalid_request": N_(
        "the provider found the sign-in request wrong; often the redirect URI or the client id "
        "registered at the provider does not match the one saved here"
    ),
    "server_error": N_("the provider failed; try again later"),
    "temporarily_unavailable": N_("the provider is overloaded or down for maintenance; try again later"),
    "login_required": N_("the provider wants the person to sign in again; start the test again"),
    "consent_required": N_("the provider wants the person (or an administrator there) to consent to the application"),
    "interaction_required": N_("the provider needs the person to do something at the provider first"),
}


class Status(Enum):
    PASSED = "passed"
    NOTE = "note"  # passed, with something the admin should know (an endpoint that differs...)
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Check:
    step: str
    status: Status
    explanation: str

    @classmethod
    def passed(cls, step: str, explanation: str) -> Check:
        return cls(step, Status.PASSED, explanation)

    @classmethod
    def failed(cls, step: str, explanation: str) -> Check:
        return cls(step, Status.FAILED, explanation)

    @classmethod
    def skipped(cls, step: str, explanation: str = NOT_REACHED) -> Check:
        return cls(step, Status.SKIPPED, explanation)


@dataclass(frozen=True)
class Diagnosis:
    """The client's checks of one code, each passed, failed or skipped; the identity only when
    none failed (it is then exactly what ``redeem`` would have returned)."""

    checks: tuple[Check, ...]
    identity: VerifiedIdentity | None

    @property
    def passed(self) -> bool:
        return all(check.status is not Status.FAILED for check in self.checks)


def callback_error(parameters: Mapping[str, str]) -> str:
    """The provider's ``error=`` on the callback, explained; its own description quoted after."""
    error = parameters.get("error", "")
    description = parameters.get("error_description", "")[:300]
    explained = CALLBACK_ERRORS.get(error) or N_("the provider refused the sign-in (%(error)s)", error=error[:100])
    if not description:
        return explained
    return N_("%(explanation)s. The provider said: %(description)s", explanation=explained, description=description)


def token_refused(status: int, error: str, description: str, redirect_uri: str) -> str:
    """The token endpoint's refusal of the code (RFC 6749 5.2), explained for an admin."""
    said = {"error": error[:100], "description": description[:200]}
    if "redirect" in description.lower():
        return N_(
            "the redirect URI registered at the provider is not %(redirect_uri)s: register exactly that address "
            "(the provider said: %(error)s %(description)s)",
            redirect_uri=redirect_uri,
            **said,
        )
    if error == "invalid_client" or (status == 401 and error in ("", "unauthorized_client")):
        return N_(
            "the client secret (or client id) is wrong: the provider did not accept them. Create a new secret "
            "at the provider, or copy the client id again, and save them here "
            "(the provider said: %(error)s %(description)s)",
            **said,
        )
    if error == "invalid_grant":
        return N_(
            "the provider refused the code: it expired or was used already; start the test again "
            "(the provider said: %(error)s %(description)s)",
            **said,
        )
    if error == "unauthorized_client":
        return N_(
            "the provider does not let this application redeem codes: enable the authorization-code flow "
            "(the provider said: %(error)s %(description)s)",
            **said,
        )
    return N_(
        "the token endpoint answered HTTP %(status)s (the provider said: %(error)s %(description)s)",
        status=status,
        **said,
    )


def clock_skew(seconds: float) -> str:
    difference = abs(round(seconds))
    if seconds > 0:
        return N_(
            "the clocks of the provider and this server differ by about %(seconds)s seconds (the provider's "
            "is ahead of this server's): the ID token looks issued in the future or long expired. Ask your "
            "server's operator to synchronise the clock (NTP)",
            seconds=difference,
        )
    return N_(
        "the clocks of the provider and this server differ by about %(seconds)s seconds (the provider's "
        "is behind this server's): the ID token looks issued in the future or long expired. Ask your "
        "server's operator to synchronise the clock (NTP)",
        seconds=difference,
    )
