"""ClaimMapper: which profile field each claim of the provider fills, and with what value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from domain.errors import N_, IdentityRejected, InvalidValue
from domain.practitioners.email import normalize_email
from domain.practitioners.profile import (
    MAX_JOB_TITLE_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PHONE_LENGTH,
    ProfileField,
    Salutation,
)
from domain.tenancy.tenant import ClaimMapping, DEFAULT_CLAIM_MAPPINGS
from domain.text import is_one_line


_CLAIM_NAME = re.compile(r"^[A-Za-z0-9_:.\-/]{1,100}$")

_LIMITS = {
    ProfileField.FIRST_NAME: MAX_NAME_LENGTH,
    ProfileField.LAST_NAME: MAX_NAME_LENGTH,
    ProfileField.PHONE: MAX_PHONE_LENGTH,
    ProfileField.JOB_TITLE: MAX_JOB_TITLE_LENGTH,
}

REQUIRED_FOR_REGISTRATION = (ProfileField.FIRST_NAME, ProfileField.LAST_NAME, ProfileField.EMAIL)


def claim_value(claims: Mapping[str, Any], claim: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (``address.locality``)."""
    if claim in claims:
        return claims[claim]
    value: Any = claims
    for part in claim.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class ClaimMapper:
    def __init__(self, mappings: Iterable[ClaimMapping] = DEFAULT_CLAIM_MAPPINGS) -> None:
        self._mappings = tuple(mappings)

    def profile_from(self, claims: Mapping[str, Any]) -> dict[ProfileField, str | None]:
        """The mapped fields; an unknown claim or value leaves its field unset.

        A value that is not one line of text (a control character left after folding the
        spaces) is refused with IdentityRejected, which names the claim: it cannot be stored.
        """
        return {m.field: self._value(m, claims) for m in self._mappings}

    @staticmethod
    def _value(mapping: ClaimMapping, claims: Mapping[str, Any]) -> str | None:
        raw = claim_value(claims, mapping.claim)
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            return None
        text = " ".join(str(raw).split())
        if mapping.value_map:
            text = dict(mapping.value_map).get(text, "")
        elif mapping.field is ProfileField.EMAIL:
            text = str(raw)  # the email rule judges the claim as sent, as it does for the matcher
        if not text:
            return None
        if mapping.field is ProfileField.EMAIL:
            try:
                return normalize_email(text)
            except InvalidValue:
                return None
        if mapping.field is ProfileField.SALUTATION:
            return text.lower() if text.lower() in {s.value for s in Salutation} else None
        if not is_one_line(text):
            raise IdentityRejected(
                f"the {mapping.claim} claim cannot be the {mapping.field.label}: it holds control characters"
            )
        return text if len(text) <= _LIMITS[mapping.field] else None

    @staticmethod
    def missing_for_registration(profile: Mapping[ProfileField, str | None]) -> list[ProfileField]:
        return [f for f in REQUIRED_FOR_REGISTRATION if not profile.get(f)]


def parse_value_map(text: str) -> tuple[tuple[str, str], ...]:
    """``Herr = male`` per line (or separated by ``;``); blank lines ignored."""
    pairs = []
    for line in re.split(r"[\n;]", text or ""):
        if not line.strip():
            continue
        source, sep, target = line.partition("=")
        if not sep or not source.strip():
            raise InvalidValue(
                "value_map",
                N_("write each value as 'claim value = field value', not %(line)s", line=repr(line.strip())),
            )
        pair = (" ".join(source.split()), target.strip())
        if not all(is_one_line(value) for value in pair):
            raise InvalidValue(
                "value_map",
                N_("a value in the value map holds a control character or a character that cannot be stored"),
            )
        pairs.append(pair)
    return tuple(pairs)


def claim_name_problem(claim: str) -> str | None:
    """Why ``claim`` cannot name a claim (a dotted path allowed), or None: the one rule for claim
    names, of the claim mappings and of the roles claim alike."""
    return None if _CLAIM_NAME.match(claim) else "a claim name has 1 to 100 letters, digits or _ : . - /"


def validate_mappings(mappings: Iterable[ClaimMapping]) -> dict[str, str]:
    """Field-keyed problems (``mapping-<field>``); empty when the mappings can be saved."""
    errors: dict[str, str] = {}
    seen: set[ProfileField] = set()
    for mapping in mappings:
        key = f"mapping-{mapping.field.value}"
        if mapping.field in seen:
            errors[key] = "each field can be filled from one claim only"
        seen.add(mapping.field)
        claim_problem = claim_name_problem(mapping.claim)
        if claim_problem is not None:
            errors[key] = claim_problem
        elif mapping.field is ProfileField.SALUTATION:
            allowed = {s.value for s in Salutation} | {""}
            wrong = [target for _, target in mapping.value_map if target.lower() not in allowed]
            if wrong:
                errors[key] = f"a salutation maps to male, female, diverse or nothing, not {wrong[0]!r}"
        if len({source for source, _ in mapping.value_map}) != len(mapping.value_map):
            errors[key] = "a claim value appears twice in the value map"
    for required in REQUIRED_FOR_REGISTRATION:
        if required not in seen:
            errors[f"mapping-{required.value}"] = f"the {required.label} must come from a claim"
    return errors
