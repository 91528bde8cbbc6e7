"""What an admin's test sign-in found, check by check, in an admin's words.

Plain values with no ports, so ``ports.py`` can name ``Diagnosis`` as what the identity-provider
client reports; ``diagnosis.py`` holds the test itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from domain.sso.identity import VerifiedIdentity

# The checks of a test, in the order they run.
DISCOVERY = "Discovery"
KEYS = "Signing keys"
TOKEN = "Token"
ID_TOKEN = "ID token"
USERINFO = "Userinfo"
AT_PROVIDER = "Sign-in at the provider"
CLAIMS = "Claims for the portal"
PROVIDER_STEPS = (DISCOVERY, KEYS, TOKEN, ID_TOKEN, USERINFO)  # what the client checks

# What the provider said on the callback (RFC 6749 4.1.2.1, OpenID Connect Core 3.1.2.6), for an admin.
CALLBACK_ERRORS = {
    "access_denied": "the sign-in was cancelled or refused at the provider: the person declined, or the provider "
    "does not let this person use the application (check who is assigned to it at the provider)",
    "invalid_scope": "the provider refused the scopes the portal asks for (openid email profile): allow them "
    "for this application at the provider",
    "unauthorized_client": "the provider does not let this application sign people in with the authorization-code "
    "flow: enable it (web application, authorization code) at the provider",
    "unsupported_response_type": "the provider does not let this application use the authorization-code flow",
    "invalid_request": "the provider found the sign-in request wrong; often the redirect URI or the client id "
    "registered at the provider does not match the one saved here",
    "server_error": "the provider failed; try again later",
    "temporarily_unavailable": "the provider is overloaded or down for maintenance; try again later",
    "login_required": "the provider wants the person to sign in again; start the test again",
    "consent_required": "the provider wants the person (or an administrator there) to consent to the application",
    "interaction_required": "the provider needs the person to do something at the provider first",
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
    def skipped(cls, step: str, explanation: str = "not reached: an earlier check failed") -> Check:
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
    explained = CALLBACK_ERRORS.get(error, f"the provider refused the sign-in ({error[:100]})")
    return f"{explained}. The provider said: {description}" if description else explained


def token_refused(status: int, error: str, description: str, redirect_uri: str) -> str:
    """The token endpoint's refusal of the code (RFC 6749 5.2), explained for an admin."""
    said = f" (the provider said: {error[:100]} {description[:200]})".rstrip()
    if "redirect" in description.lower():
        return f"the redirect URI registered at the provider is not {redirect_uri}: register exactly that address{said}"
    if error == "invalid_client" or (status == 401 and error in ("", "unauthorized_client")):
        return (
            "the client secret (or client id) is wrong: the provider did not accept them. Create a new secret "
            f"at the provider, or copy the client id again, and save them here{said}"
        )
    if error == "invalid_grant":
        return f"the provider refused the code: it expired or was used already; start the test again{said}"
    if error == "unauthorized_client":
        return f"the provider does not let this application redeem codes: enable the authorization-code flow{said}"
    return f"the token endpoint answered HTTP {status}{said}"


def clock_skew(seconds: float) -> str:
    ahead = "ahead of" if seconds > 0 else "behind"
    return (
        f"the clocks of the provider and this server differ by about {abs(round(seconds))} seconds (the provider's "
        f"is {ahead} this server's): the ID token looks issued in the future or long expired. Ask your server's "
        "operator to synchronise the clock (NTP)"
    )
