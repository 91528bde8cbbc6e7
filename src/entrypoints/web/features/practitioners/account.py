"""/account: personal data and the language; /account/linked: the practitioner's Single Sign On links.

What may be changed is decided by AccountSettings (the tenant's policy): in the standard
workflow the practitioner edits their data and links or unlinks providers; under pseudo-SSO
the practice's identity provider owns both, so the data is shown read-only and every change
is refused server-side, whatever the browser sends. The language is the practitioner's own in
every workflow (POST /account/language, form ``language-form``).
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from domain.practitioners.account import AccountSettings, EDITABLE
from domain.errors import N_, InvalidValue, NotAllowed, UnknownLink
from domain.tenancy.policy import TenantAuthPolicy
from domain.sso.sign_in import SingleSignOn
from domain.practitioners.profile import SALUTATION_NAMES, Salutation
from entrypoints.web.forms import sentence, text
from entrypoints.web.language import say_anew

# The longest a field may be as typed; the domain's own, shorter limits give the message.
FIELD_LIMIT = 400
LANGUAGE_LIMIT = 100  # a language code is two letters; anything longer is refused by the domain's rule


def _refused(request: Request, err: NotAllowed, title: str) -> dict[str, Any]:
    """A whole-page refusal: the policy forbids this page or this change."""
    request.override_renderer = "error.jinja2"
    request.response.status = 403
    return {"title": title, "message": sentence(str(err))}


# --- /account ---------------------------------------------------------------------------


@view_config(route_name="account", request_method="GET", renderer="account.jinja2")
def profile(
    request: Request, form: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> dict[str, Any]:
    """The page, and the form again with its errors after a refused POST."""
    me = request.identity
    return {
        "policy": TenantAuthPolicy.of(request.tenant),
        "form": form if form is not None else {f.value: getattr(me, f.value) or "" for f in EDITABLE},
        "errors": errors or {},
        "salutations": [(s.value, SALUTATION_NAMES[s]) for s in Salutation],
        "notice": request.session.pop_flash(),
        "language": request.identity.language or "",
    }


@view_config(route_name="account", request_method="POST", renderer="account.jinja2")
def update_profile(request: Request) -> Any:
    form = {f.value: request.POST.get(f.value, "") for f in EDITABLE}
    form = {name: value if isinstance(value, str) else "" for name, value in form.items()}
    try:
        changes = {f: text(request, f.value, FIELD_LIMIT) for f in EDITABLE}
        changed = request.find_service(AccountSettings).update_profile(request.tenant, request.identity, changes)
    except NotAllowed as err:
        return _refused(request, err, N_("Your personal data is managed by your practice"))
    except InvalidValue as err:
        request.response.status = 400
        return profile(request, form=form, errors={err.field: sentence(err.message)})
    request.session.flash(request.say(N_("Your personal data is saved.") if changed else N_("Nothing was changed.")))
    return HTTPSeeOther(request.route_path("account"))


# --- /account/language ------------------------------------------------------------------


@view_config(route_name="account_language", request_method="POST", renderer="account.jinja2")
def choose_language(request: Request) -> Any:
    """The practitioner's own language; empty: none (their provider, practice or browser decides)."""
    try:
        language = text(request, "language", LANGUAGE_LIMIT) or None
        changed = request.find_service(AccountSettings).choose_language(request.tenant, request.identity, language)
    except InvalidValue as err:
        request.response.status = 400
        return profile(request, errors={err.field: sentence(request.say(err.message))})
    # Said in the language the next page speaks: the choice just made, where there is one.
    saved = N_("Your language is saved.") if changed else N_("Nothing was changed.")
    request.session.flash(say_anew(request, saved))
    return HTTPSeeOther(request.route_path("account"))


# --- /account/linked --------------------------------------------------------------------


@view_config(route_name="account_linked", request_method="GET", renderer="account_linked.jinja2")
def linked_accounts(request: Request, error: str | None = None) -> dict[str, Any]:
    """The page, and again with the refusal after a refused POST."""
    try:
        linked = request.find_service(AccountSettings).linked_accounts(request.tenant, request.identity)
    except NotAllowed as err:
        return _refused(request, err, N_("Linked accounts are managed by your practice"))
    providers = request.find_service(SingleSignOn).enabled_providers(request.tenant)
    linked_ids = {link.provider_id for link, _ in linked}
    return {
        "links": [
            (
                provider.display_name if provider else N_("A removed provider"),
                None if provider is None or provider.settings.enabled else N_("switched off"),
                link,
            )
            for link, provider in linked
        ],
        "linkable": [p for p in providers if p.id not in linked_ids],
        "error": error,
        "notice": request.session.pop_flash(),
    }


@view_config(route_name="account_linked", request_method="POST", renderer="account_linked.jinja2")
def unlink(request: Request) -> Any:
    try:
        if request.POST.get("action") != "unlink":
            raise InvalidValue("action", N_("that action is not known; reload the page and try again"))
        request.find_service(AccountSettings).unlink(request.tenant, request.identity, text(request, "link_id", 64))
    except (InvalidValue, NotAllowed, UnknownLink) as err:
        # Under pseudo-SSO the page itself is refused (403); otherwise the refusal is shown on it.
        request.response.status = 404 if isinstance(err, UnknownLink) else 400
        return linked_accounts(request, error=sentence(str(err)))
    request.session.flash(
        request.say(N_("The account is no longer linked. It cannot be used to log in here any more."))
    )
    return HTTPSeeOther(request.route_path("account_linked"))
