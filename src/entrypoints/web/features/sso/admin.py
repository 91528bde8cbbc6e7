"""/admin/authentication: the practice's identity providers (list, add, edit, enable, disable,
remove); /admin/audit: the audit trail, its CSV download and how long it is kept."""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import timezone
from typing import IO, Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import FileIter, Response
from pyramid.view import view_config, view_defaults

from domain.audit import AuditCursor, AuditPage, AuditQuery, AuditReport, ListedEvent, kind_choices
from domain.errors import DomainError, InvalidForm, InvalidValue, N_, Nn_, UnknownProvider
from domain.sso.administration import ProviderAdministration
from domain.sso.provider import (
    DiscoveredConfiguration,
    IdentityProvider,
    PROVIDER_URL_FIELDS,
    ProviderSettings,
    USERINFO_FIELD_NAMES,
)
from entrypoints.web.features.sso.session_keys import DISCOVERED_KEY
from entrypoints.web.links import RequestLinks
from domain.tenancy.tenant import MAX_AUDIT_RETENTION_DAYS, MIN_AUDIT_RETENTION_DAYS
from entrypoints.web.forms import checked, query_text, sentence, text

TEXT_FIELDS = ("display_name", "client_id", *PROVIDER_URL_FIELDS, "token_endpoint_auth_method")
EMPTY = ProviderSettings("Single Sign On", "", "", "", "", "", "")
# Fields a request may leave out (a form from before they existed): they read as the default.
DEFAULTED_FIELDS = {
    name: getattr(EMPTY, name)
    for name in ("protocol", *USERINFO_FIELD_NAMES, "extra_scopes", "domain_hint", "end_session_endpoint")
}
NEW = "new"  # ?provider=new: the empty form that adds a provider


@view_defaults(
    route_name="admin_authentication", permission="manage_authentication", renderer="admin_authentication.jinja2"
)
class AuthenticationViews:
    def __init__(self, context: Any, request: Request) -> None:
        self.request = request
        self.admin: ProviderAdministration = request.find_service(ProviderAdministration)
        wanted = query_text(request, "provider")
        self.creating = wanted == NEW
        try:
            providers = self.admin.providers(request.tenant)
            self.provider: IdentityProvider | None = (
                None
                if self.creating
                else self.admin.provider(request.tenant, wanted)
                if wanted
                else providers[0]
                if providers
                else None
            )
        except UnknownProvider:
            raise HTTPNotFound() from None

    def _page(self, form: ProviderSettings, **extra: Any) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "providers": self.admin.providers(self.request.tenant),
            "form": asdict(form),
            "restrict_to_sso": self.request.tenant.auth.restrict_to_sso,
            "redirect_uri": RequestLinks(self.request).redirect_uri(),
            "post_logout_redirect_uri": RequestLinks(self.request).post_logout_redirect_uri(),
            "backchannel_logout_uri": RequestLinks(self.request).backchannel_logout_uri(),
            "initiate_login_uri": RequestLinks(self.request).initiate_login_uri(),
            "errors": {},
            "notice": self.request.session.pop_flash(),
            "discovered": False,
            "acknowledged": False,
            **extra,
        }

    def _submitted(self) -> ProviderSettings:
        values = {name: text(self.request, name, 2000).strip() for name in TEXT_FIELDS}
        for name, default in DEFAULTED_FIELDS.items():
            values[name] = text(self.request, name, 2000).strip() if name in self.request.POST else default
        return self._with_checkboxes(values)

    def _as_typed(self) -> ProviderSettings:
        """What the admin typed, as far as it can be shown again, after an unreadable field."""
        values = {name: query_text(self.request, name)[:2000] for name in TEXT_FIELDS}
        for name, default in DEFAULTED_FIELDS.items():
            values[name] = query_text(self.request, name, default)[:2000]
        return self._with_checkboxes(values)

    def _with_checkboxes(self, values: dict[str, str]) -> ProviderSettings:
        request = self.request
        return ProviderSettings(
            **values,
            enabled=checked(request, "enabled"),
            send_login_hint=checked(request, "send_login_hint"),
            logout_at_provider=checked(request, "logout_at_provider"),
            # what discovery said (ProviderAdministration.save decides), never a form field
            backchannel_logout_supported=bool(self.provider and self.provider.settings.backchannel_logout_supported),
        )

    def _refuse(self, form: ProviderSettings, errors: dict[str, str]) -> dict[str, Any]:
        self.request.response.status = 400
        return self._page(
            form,
            errors=errors,
            restrict_to_sso=checked(self.request, "restrict_to_sso"),
            acknowledged=checked(self.request, "acknowledge_relink"),
        )

    @view_config(request_method="GET")
    def show(self) -> Any:
        return self._page(self.provider.settings if self.provider else EMPTY)

    @view_config(request_method="POST", request_param="action=discover")
    def discover(self) -> Any:
        try:
            form = self._submitted()
            found = self.admin.discover(form.issuer)
        except InvalidValue as err:
            return self._refuse(self._as_typed(), {err.field: err.message})
        except InvalidForm as err:
            return self._refuse(form, err.errors)
        except DomainError as err:  # unreachable, unsafe or mismatching issuer
            return self._refuse(form, {"issuer": N_("discovery failed: %(reason)s", reason=str(err))})
        filled = form.filled_from(found)
        self.request.session[DISCOVERED_KEY] = asdict(found)  # for the save that follows
        return self._page(filled, discovered=True, restrict_to_sso=checked(self.request, "restrict_to_sso"))

    def _discovered(self) -> DiscoveredConfiguration | None:
        """What the admin's last discovery in this browser found, if anything readable."""
        kept = self.request.session.get(DISCOVERED_KEY)
        try:
            return DiscoveredConfiguration(**kept) if isinstance(kept, dict) else None
        except TypeError:  # kept by another version
            return None

    @view_config(request_method="POST", request_param="action=save")
    def save(self) -> Any:
        request = self.request
        try:
            form = self._submitted()
            saved = self.admin.save(
                request.identity,
                request.tenant,
                self.provider.id if self.provider else None,
                form,
                text(request, "client_secret", 1000),
                checked(request, "restrict_to_sso"),
                acknowledge_relink=checked(request, "acknowledge_relink"),
                discovered=self._discovered(),
            )
        except InvalidValue as err:
            return self._refuse(self._as_typed(), {err.field: err.message})
        except InvalidForm as err:
            return self._refuse(form, err.errors)
        request.session.flash(request.say(N_("%(provider)s is saved.", provider=saved.display_name)))
        return HTTPSeeOther(request.route_path("admin_authentication", _query={"provider": saved.id}))

    @view_config(request_method="POST", request_param="action=enable")
    def enable(self) -> Any:
        return self._on_listed(lambda provider_id: self._switch(provider_id, True))

    @view_config(request_method="POST", request_param="action=disable")
    def disable(self) -> Any:
        return self._on_listed(lambda provider_id: self._switch(provider_id, False))

    @view_config(request_method="POST", request_param="action=remove")
    def remove(self) -> Any:
        def removed(provider_id: str) -> str:
            provider = self.admin.remove(self.request.identity, self.request.tenant, provider_id)
            removed = N_(
                "%(provider)s is removed, and with it every account linked to it.", provider=provider.display_name
            )
            self.request.session.flash(self.request.say(removed))
            listing: str = self.request.route_path("admin_authentication")
            return listing

        return self._on_listed(removed)

    def _switch(self, provider_id: str, enabled: bool) -> str:
        provider = self.admin.set_enabled(self.request.identity, self.request.tenant, provider_id, enabled)
        name = provider.display_name
        switched = (
            N_("%(provider)s is enabled.", provider=name) if enabled else N_("%(provider)s is disabled.", provider=name)
        )
        self.request.session.flash(self.request.say(switched))
        shown: str = self.request.route_path("admin_authentication", _query={"provider": provider.id})
        return shown

    def _on_listed(self, change: Callable[[str], str]) -> Any:
        """A button of the provider list: ``provider_id`` names one of this tenant's providers."""
        try:
            provider_id = text(self.request, "provider_id", 64)
        except InvalidValue:  # a file, or a character no id has
            raise HTTPNotFound() from None
        if not provider_id:
            raise HTTPNotFound()
        try:
            target = change(provider_id)
        except UnknownProvider:
            raise HTTPNotFound() from None
        except InvalidForm as err:  # it would lock everybody out: refused, nothing changed
            self.request.response.status = 400
            return self._page(self.provider.settings if self.provider else EMPTY, errors=err.errors)
        return HTTPSeeOther(target)

    @view_config(request_method="POST")
    def unknown_action(self) -> Any:
        return self._refuse(EMPTY, {"form": N_("That action is not known. Reload the page and try again.")})


# ---- /admin/audit -------------------------------------------------------------------------------

FILTERS = ("kind", "person", "from", "to")  # the query parameters of the page, its links and its download
# The download speaks the page's language, as the page does (its "Kind" column keeps the kind as
# recorded, so a spreadsheet can still filter by it whatever the language it was downloaded in).
CSV_COLUMNS = (
    N_("When (UTC)"),
    N_("Event"),
    N_("Who"),
    N_("About"),
    N_("What happened"),
    N_("Client address"),
    N_("User agent"),
    N_("Kind"),
    N_("Event id"),
)
# A spreadsheet reads a cell starting with one of these as a formula (a tab or carriage return
# first is skipped by some): such a cell is written with a leading apostrophe, shown as text.
FORMULA_STARTS = frozenset("=+-@\t\r")
SPOOL_IN_MEMORY = 1024 * 1024  # a larger download goes to a temporary file, not memory
CSV_FLUSH_AT = 64 * 1024


def spreadsheet_safe(value: str) -> str:
    return "'" + value if value[:1] in FORMULA_STARTS else value


def _csv_cells(listed: ListedEvent, say: Callable[[str], str]) -> list[str]:
    event = listed.event
    when = event.at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    cells = [when, *(say(text) for text in (listed.label, listed.who, listed.about, event.summary))]
    cells += [event.client_address or "", event.user_agent or "", event.kind, event.id]
    return [spreadsheet_safe(cell) for cell in cells]


def csv_body(events: Iterable[ListedEvent], say: Callable[[str], str] = str) -> tuple[IO[bytes], int]:
    """The events as UTF-8 CSV (with the byte order mark spreadsheets look for), spooled a batch
    at a time, so memory stays bounded however many there are; the file, rewound, and its size.
    ``say`` puts the headings, labels and summaries in the reader's language."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (FileIter closes it)
    spool.write(codecs.BOM_UTF8)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([say(heading) for heading in CSV_COLUMNS])
    for listed in events:
        writer.writerow(_csv_cells(listed, say))
        if text.tell() >= CSV_FLUSH_AT:
            spool.write(text.getvalue().encode("utf-8"))
            text.seek(0)
            text.truncate()
    spool.write(text.getvalue().encode("utf-8"))
    size = spool.tell()
    spool.seek(0)
    return spool, size


@view_defaults(route_name="admin_audit", permission="manage_authentication", renderer="admin_audit.jinja2")
class AuditViews:
    """The practice's events, filtered and paged newest first; their download; how long they are kept."""

    def __init__(self, context: Any, request: Request) -> None:
        self.request = request
        self.report: AuditReport = request.find_service(AuditReport)
        self.typed = {name: query_text(request, name) for name in FILTERS}

    def _query(self) -> AuditQuery:
        typed, tenant = self.typed, self.request.tenant
        return self.report.query(tenant, typed["kind"], typed["person"], typed["from"], typed["to"])

    def _link(self, route: str, **extra: str) -> str:
        chosen = {name: value for name, value in self.typed.items() if value}
        link: str = self.request.route_path(route, _query={**chosen, **extra})
        return link

    def _page(self, page: AuditPage, **extra: Any) -> dict[str, Any]:
        older = page.older
        return {
            "events": page.events,
            "kinds": kind_choices(self.request.say),
            "typed": self.typed,
            "older": self._link("admin_audit", before=older.text()) if older else None,
            "newest": self._link("admin_audit") if query_text(self.request, "before") else None,
            "download": self._link("admin_audit_csv"),
            "retention_days": str(self.request.tenant.audit_retention_days),
            "retention_limits": (MIN_AUDIT_RETENTION_DAYS, MAX_AUDIT_RETENTION_DAYS),
            "errors": {},
            "notice": self.request.session.pop_flash(),
            **extra,
        }

    def _refuse(self, field: str, message: str, page: AuditPage | None = None, **extra: Any) -> dict[str, Any]:
        self.request.response.status = 400
        return self._page(page or AuditPage([], None), errors={field: sentence(message)}, **extra)

    @view_config(request_method="GET")
    def show(self) -> Any:
        try:
            before = query_text(self.request, "before")
            page = self.report.page(self.request.tenant, self._query(), AuditCursor.parse(before) if before else None)
        except InvalidValue as err:
            return self._refuse(err.field, err.message)
        return self._page(page)

    @view_config(request_method="POST")
    def keep(self) -> Any:
        request = self.request
        try:
            self.report.keep_events_for(request.identity, request.tenant, text(request, "audit_retention_days", 20))
        except InvalidValue as err:
            newest = self.report.page(request.tenant, AuditQuery(), None)
            return self._refuse(err.field, err.message, newest, retention_days=query_text(request, err.field))
        kept = request.tenant.audit_retention_days
        request.session.flash(
            request.say(Nn_("Events are now kept for %(count)s day.", "Events are now kept for %(count)s days.", kept))
        )
        return HTTPSeeOther(request.route_path("admin_audit"))

    @view_config(route_name="admin_audit_csv", request_method="GET")
    def download(self) -> Any:
        request = self.request
        try:
            query = self._query()
        except InvalidValue as err:  # the page, saying what to correct
            refused = render_to_response("admin_audit.jinja2", self._refuse(err.field, err.message), request)
            refused.status = 400
            return refused
        body, size = csv_body(self.report.export(request.tenant, query), request.say)
        response = Response(app_iter=FileIter(body), content_type="text/csv", charset="utf-8", content_length=size)
        response.content_disposition = f'attachment; filename="audit-{request.tenant.slug}.csv"'
        response.cache_control = "no-store"  # the practice's trail stays out of shared caches
        return response
