"""/admin/authentication/policy: the tenant's login policy and claim mappings."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config, view_defaults

from domain.sso.claims import REQUIRED_FOR_REGISTRATION, parse_value_map, validate_mappings
from domain.errors import InvalidForm, InvalidValue, N_
from domain.tenancy.login_policy import (
    MAX_ROLE_MAPPINGS,
    MAX_ROLE_VALUE_LENGTH,
    LoginPolicy,
    LoginPolicyAdministration,
    role_value_problem,
)
from domain.sso.claims import claim_name_problem
from domain.tenancy.tenant import ClaimMapping, RoleMapping
from domain.practitioners.profile import ProfileField
from domain.practitioners.rights import ModuleRight
from domain.tenancy.tenant import UnknownIdentityHandling, Workflow
from domain.text import MAX_URL_LENGTH, in_a_row
from entrypoints.web.forms import checked, text

CLAIM_LIMIT = 200  # the domain allows 100; a little more so its own message explains the rule
VALUE_MAP_LIMIT = 5000
SAMPLE_CLAIMS_LIMIT = 20000
REGISTRATION_URL_LIMIT = MAX_URL_LENGTH + 100  # a little more, so the domain's message names the limit
ROLE_VALUE_LIMIT = MAX_ROLE_VALUE_LENGTH + 100  # likewise
BLANK_ROLE_ROWS = 3  # empty rows the page offers for new mappings, up to MAX_ROLE_MAPPINGS in all
RIGHTS = ((ModuleRight.PRACTITIONERS, N_("Practitioners")), (ModuleRight.AUTHENTICATION, N_("Authentication")))

WORKFLOWS = (
    (
        Workflow.STANDARD,
        N_("Standard"),
        N_("Token data fills a new account once; afterwards practitioners edit their personal data themselves."),
    ),
    (
        Workflow.PSEUDO_SSO,
        N_("Pseudo-SSO"),
        N_(
            "The identity provider is the source of truth: every Single Sign On login overwrites the mapped fields, "
            "personal data is read-only, and nobody can log in with a password, you included: saving it ends every "
            "session opened with a password, yours too, so link your own account to the provider first. "
            "The email changes only to an address the provider marks verified (its email_verified claim is true) "
            "that no other practitioner here uses; otherwise the registered email stays, and the audit trail says "
            "why. A first sign-in confirmed by a one-time password fills the data from the provider too."
        ),
    ),
)
UNKNOWN_IDENTITY = (
    (
        UnknownIdentityHandling.CONFIRM_BY_OTP,
        N_("Confirm by one-time password"),
        N_("A practitioner signing in for the first time proves their registered email with a code sent to it."),
        False,
    ),
    (
        UnknownIdentityHandling.LINK_VERIFIED_EMAIL,
        N_("Link by verified email"),
        N_(
            "A provider account whose email equals a registered email is linked straight away when the provider "
            "says the email is verified; otherwise the one-time password is asked."
        ),
        True,
    ),
    (
        UnknownIdentityHandling.REGISTER,
        N_("Register newcomers"),
        N_(
            "As linking by verified email, and anyone else the provider signs in gets a new account here, "
            "made from the token's names and email."
        ),
        True,
    ),
)
FIELD_HINTS = {
    ProfileField.FIRST_NAME: N_("such as given_name"),
    ProfileField.LAST_NAME: N_("such as family_name"),
    ProfileField.EMAIL: N_("such as email"),
    ProfileField.SALUTATION: N_("maps to male, female or diverse"),
    ProfileField.PHONE: N_("such as phone_number"),
    ProfileField.JOB_TITLE: N_("such as jobTitle"),
}


def format_value_map(pairs: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"{source} = {target}" for source, target in pairs)


class _Form:
    """What the admin typed, read field by field; ``errors`` collects what could not be read."""

    def __init__(self, request: Request) -> None:
        self.errors: dict[str, str] = {}
        self.values: dict[str, Any] = {
            "workflow": self._text(request, "workflow", 100).strip(),
            "unknown_identity": self._text(request, "unknown_identity", 100).strip(),
            "self_registration": checked(request, "self_registration"),
            "sample_claims": self._text(request, "sample_claims", SAMPLE_CLAIMS_LIMIT),
            "registration_url": self._text(request, "registration_url", REGISTRATION_URL_LIMIT).strip(),
            "roles_claim": self._text(request, "roles_claim", CLAIM_LIMIT).strip(),
            "roles_from_provider": checked(request, "roles_from_provider"),
        }
        if self.values["roles_claim"] and (problem := claim_name_problem(self.values["roles_claim"])):
            self.errors["roles_claim"] = problem
        self.role_mappings = self._role_rows(request)
        self.workflow = self._choice(Workflow, "workflow", N_("choose standard or pseudo-SSO"))
        self.unknown_identity = self._choice(
            UnknownIdentityHandling, "unknown_identity", N_("choose how an unknown identity is handled")
        )
        mappings = []
        for profile_field in ProfileField:
            claim = self._text(request, f"claim-{profile_field.value}", CLAIM_LIMIT).strip()
            value_map_text = self._text(request, f"value_map-{profile_field.value}", VALUE_MAP_LIMIT)
            self.values[f"claim-{profile_field.value}"] = claim
            self.values[f"value_map-{profile_field.value}"] = value_map_text
            try:
                value_map = parse_value_map(value_map_text)
            except InvalidValue as err:
                self.errors[f"value_map-{profile_field.value}"] = err.message
                continue
            if not claim:
                if value_map:
                    self.errors[f"value_map-{profile_field.value}"] = N_(
                        "a value map needs a claim to read the value from"
                    )
                continue
            mappings.append(ClaimMapping(profile_field, claim, value_map))
        self.mappings = tuple(mappings)

    def _role_rows(self, request: Request) -> tuple[RoleMapping, ...]:
        """The mapping rows as typed (kept by row number, so a message stays beside its row)."""
        rows: list[tuple[str, str]] = []
        mappings = []
        for row in range(MAX_ROLE_MAPPINGS):
            value = self._text(request, f"role_value-{row}", ROLE_VALUE_LIMIT)
            right = self._text(request, f"role_right-{row}", 100).strip()
            rows.append((value, right))
            if not value.strip() and not right:
                continue
            if problem := role_value_problem(value):
                self.errors.setdefault(f"role_value-{row}", problem)
            if right not in {r.value for r in ModuleRight}:
                self.errors.setdefault(f"role_right-{row}", N_("choose the right this value gives"))
            elif not problem:
                mappings.append(RoleMapping(value.strip(), ModuleRight(right)))
        while rows and rows[-1] == ("", ""):
            rows.pop()
        self.values["role_rows"] = rows
        return tuple(mappings)

    def _text(self, request: Request, name: str, limit: int) -> str:
        try:
            return text(request, name, limit)
        except InvalidValue as err:
            self.errors[err.field] = err.message
            return ""

    def _choice(self, kind: Any, name: str, message: str) -> Any:
        try:
            return kind(self.values[name])
        except ValueError:
            self.errors.setdefault(name, message)
            return None

    def policy(self) -> LoginPolicy:
        return LoginPolicy(
            self.workflow,
            self.unknown_identity,
            self.values["self_registration"],
            self.mappings,
            self.values["registration_url"],
            self.values["roles_claim"],
            self.role_mappings,
            self.values["roles_from_provider"],
        )


@view_defaults(route_name="admin_policy", permission="manage_authentication", renderer="admin_policy.jinja2")
class PolicyViews:
    def __init__(self, context: Any, request: Request) -> None:
        self.request = request
        self.admin: LoginPolicyAdministration = request.find_service(LoginPolicyAdministration)

    def _saved_values(self) -> dict[str, Any]:
        auth = self.request.tenant.auth
        values: dict[str, Any] = {
            "workflow": auth.workflow.value,
            "unknown_identity": auth.unknown_identity.value,
            "self_registration": auth.self_registration,
            "sample_claims": "",
            "registration_url": auth.registration_url or "",
            "roles_claim": auth.roles_claim,
            "roles_from_provider": auth.roles_from_provider,
            "role_rows": [(m.value, m.right.value) for m in auth.role_mappings],
        }
        by_field = {m.field: m for m in auth.claim_mappings}
        for profile_field in ProfileField:
            mapping = by_field.get(profile_field)
            values[f"claim-{profile_field.value}"] = mapping.claim if mapping else ""
            values[f"value_map-{profile_field.value}"] = format_value_map(mapping.value_map) if mapping else ""
        return values

    def _page(self, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
        rows = values["role_rows"]
        return {
            "form": values,
            "role_rows": rows + [("", "")] * min(BLANK_ROLE_ROWS, MAX_ROLE_MAPPINGS - len(rows)),
            "rights": RIGHTS,
            "max_role_mappings": MAX_ROLE_MAPPINGS,
            "pseudo_sso_saved": self.request.tenant.auth.workflow is Workflow.PSEUDO_SSO,
            "workflows": WORKFLOWS,
            "unknown_identity_options": UNKNOWN_IDENTITY,
            "fields": list(ProfileField),
            "required": REQUIRED_FOR_REGISTRATION,
            "hints": FIELD_HINTS,
            "errors": {},
            "preview": None,
            "action": None,
            "notice": self.request.session.pop_flash(),
            **extra,
        }

    def _refuse(self, values: dict[str, Any], errors: dict[str, str], action: str = "save") -> dict[str, Any]:
        self.request.response.status = 400
        return self._page(values, errors=errors, action=action)

    @view_config(request_method="GET")
    def show(self) -> Any:
        return self._page(self._saved_values())

    @view_config(request_method="POST", request_param="action=save")
    def save(self) -> Any:
        form = _Form(self.request)
        errors = dict(form.errors)
        errors.pop("sample_claims", None)  # not saved: a bad sample never blocks saving
        if errors:
            # Show the mapping rules too, except for a field whose input could not be read at all.
            unread = {key.split("-", 1)[1] for key in errors if "-" in key}
            for key, message in validate_mappings(form.mappings).items():
                if key.split("-", 1)[1] not in unread:
                    errors.setdefault(key, message)
            return self._refuse(form.values, errors)
        try:
            changed = self.admin.save(self.request.identity, self.request.tenant, form.policy())
        except InvalidForm as err:
            return self._refuse(form.values, err.errors)
        saved = (
            N_("The login policy is saved (%(changes)s).", changes=in_a_row(changed))
            if changed
            else N_("The login policy is saved (nothing changed).")
        )
        self.request.session.flash(self.request.say(saved))
        return HTTPSeeOther(self.request.route_path("admin_policy"))

    @view_config(request_method="POST", request_param="action=preview")
    def preview(self) -> Any:
        form = _Form(self.request)
        errors = {k: v for k, v in form.errors.items() if k.startswith(("value_map-", "claim-", "sample_claims"))}
        if errors:
            return self._refuse(form.values, errors, "preview")
        try:
            result = self.admin.preview(form.mappings, form.values["sample_claims"])
        except InvalidForm as err:
            return self._refuse(form.values, err.errors, "preview")
        by_field = {m.field: m for m in form.mappings}
        rows = [(f, by_field[f].claim if f in by_field else None, result.get(f)) for f in ProfileField]
        return self._page(form.values, preview=rows)

    @view_config(request_method="POST")
    def unknown_action(self) -> Any:
        return self._refuse(
            self._saved_values(), {"form": N_("That action is not known. Reload the page and try again.")}
        )
