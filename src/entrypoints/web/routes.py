from __future__ import annotations

from pyramid.config import Configurator

from entrypoints.web.security import AuthenticationAdmin, PractitionerPage, PractitionersAdmin, TenantPage


def includeme(config: Configurator) -> None:
    config.add_jinja2_search_path("entrypoints.web:templates", name=".jinja2")
    config.add_static_view("static", "entrypoints.web:static", cache_max_age=3600)
    config.add_route("home", "/")
    config.add_route("login", "/login", factory=TenantPage)
    config.add_route("logout", "/logout", factory=PractitionerPage)
    config.add_route("password_forgot", "/password/forgot", factory=TenantPage)
    config.add_route("password_reset", "/password/reset/{token}", factory=TenantPage)
    config.add_route("admin_practitioners", "/admin/practitioners", factory=PractitionersAdmin)
    config.add_route("sso_start", "/sso/{provider}/start", factory=TenantPage)
    config.add_route("process_sso", "/process_sso", factory=TenantPage)
    config.add_route("sso_link", "/sso/link", factory=TenantPage)
    config.add_route("account_linked", "/account/linked", factory=PractitionerPage)
    config.add_route("admin_authentication", "/admin/authentication", factory=AuthenticationAdmin)
    config.add_route("admin_audit", "/admin/audit", factory=AuthenticationAdmin)
    config.add_route("admin_policy", "/admin/authentication/policy", factory=AuthenticationAdmin)
    config.add_route("account", "/account", factory=PractitionerPage)
    config.add_route("register", "/register", factory=TenantPage)
    config.add_route("admin_provisioning", "/admin/provisioning", factory=PractitionersAdmin)
