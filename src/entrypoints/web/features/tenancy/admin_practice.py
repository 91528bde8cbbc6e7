"""/admin/practice: the practice's default language and the time zone its dates are shown in."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config, view_defaults

from domain.errors import N_, InvalidForm, InvalidValue
from domain.tenancy.practice_settings import PracticeSettings
from domain.tenancy.tenant import time_zone_names
from entrypoints.web.forms import sentence, text
from entrypoints.web.language import say_anew

FIELD_LIMIT = 100  # the longest time zone name has 32 characters; the domain's rule names what is wrong


@view_defaults(route_name="admin_practice", permission="manage_authentication", renderer="admin_practice.jinja2")
class PracticePage:
    def __init__(self, context: Any, request: Request) -> None:
        self.request = request

    def _page(self, form: dict[str, str], errors: dict[str, str] | None = None) -> dict[str, Any]:
        return {
            "form": form,
            "errors": errors or {},
            "time_zones": time_zone_names(),
            "notice": self.request.session.pop_flash(),
        }

    @view_config(request_method="GET")
    def show(self) -> Any:
        tenant = self.request.tenant
        return self._page({"default_language": tenant.default_language or "", "time_zone": tenant.time_zone})

    @view_config(request_method="POST")
    def save(self) -> Any:
        form = {name: self.request.POST.get(name, "") for name in ("default_language", "time_zone")}
        form = {name: value if isinstance(value, str) else "" for name, value in form.items()}
        try:
            language = text(self.request, "default_language", FIELD_LIMIT).strip() or None
            zone = text(self.request, "time_zone", FIELD_LIMIT).strip()
            changed = self.request.find_service(PracticeSettings).speak_and_keep_time(
                self.request.identity, self.request.tenant, language, zone
            )
        except InvalidValue as err:
            return self._refuse(form, {err.field: err.message})
        except InvalidForm as err:
            return self._refuse(form, err.errors)
        # The page after the redirect may speak the new default language: the notice is said in it.
        saved = N_("The language and time zone are saved.") if changed else N_("Nothing was changed.")
        self.request.session.flash(say_anew(self.request, saved))
        return HTTPSeeOther(self.request.route_path("admin_practice"))

    def _refuse(self, form: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
        self.request.response.status = 400
        return self._page(form, {name: sentence(self.request.say(error)) for name, error in errors.items()})
