"""The Pyramid web application."""

from __future__ import annotations

import logging
import os
from typing import Any

from pyramid.config import Configurator
from pyramid.router import Router
from pyramid_retry import mark_error_retryable
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm.exc import StaleDataError

from adapters.db import migrate
from adapters.db.engine import make_engine
from entrypoints.settings import PortalSettings
from entrypoints.web.language import DOMAIN
from entrypoints.web.rendering import template_renderer

log = logging.getLogger(__name__)

# Each brings its routes, views and domain services (entrypoints/web/features).
FEATURES = ("tenancy", "practitioners", "passwords", "sso", "provisioning")


def main(global_config: dict[str, Any], **settings: Any) -> Router:
    """The WSGI application, for pserve and for the tests."""
    portal = PortalSettings.load(settings, os.environ)
    engine = make_engine(portal.database_url, ping_on_checkout=False)
    retry_on_lost_connections(engine)
    if not migrate.is_up_to_date(engine):
        config_file = os.path.basename((global_config or {}).get("__file__") or "development.ini")
        raise SystemExit(
            "practice-portal: the database is behind the migrations; "
            f"run `practice-portal {config_file} db upgrade` first"
        )
    settings.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    settings.setdefault("tm.annotate_user", "false")
    settings.setdefault("retry.attempts", "3")
    settings.setdefault("jinja2.filters", "")
    # Templates translate with {% trans %} (jinja2.ext.i18n, which pyramid_jinja2 installs) through
    # request.localizer, in the catalogs' domain (language.py).
    settings.setdefault("jinja2.i18n.domain", DOMAIN)
    settings.setdefault("jinja2.finalize", "entrypoints.web.language.said")
    settings.setdefault("jinja2.i18n.gettext", "entrypoints.web.language.PageCatalog")
    with Configurator(settings=settings) as config:
        config.registry.portal_settings = portal
        config.registry.db_engine = engine
        config.include(_request_pipeline)
        for feature in FEATURES:
            config.include(f".features.{feature}")
        if portal.sso_demo_provider:
            config.include("entrypoints.openid_provider.demo")
    if portal.mail_backend == "outbox":
        log.info("mail is not sent: the `worker` command writes every message to %s", portal.mail_outbox_dir.resolve())
    return config.make_wsgi_app()


def retry_on_lost_connections(engine: Engine) -> None:
    """Instead of a ping before each request's first statement (a round trip on every request):
    a statement that finds its pooled connection dropped by the server (a restart, an idle
    timeout) makes SQLAlchemy discard the pool, and pyramid_retry runs the request again on a new
    connection. Not a failed COMMIT: whether it took effect is unknown, so it is not repeated."""

    def mark_retryable(context: ExceptionContext) -> None:
        if context.is_disconnect and context.statement is not None and context.sqlalchemy_exception is not None:
            mark_error_retryable(context.sqlalchemy_exception)

    event.listen(engine, "handle_error", mark_retryable)


def _request_pipeline(config: Configurator) -> None:
    """What every feature relies on: transactions, services, tenant, session, security, pages."""
    config.include("pyramid_jinja2")
    config.add_renderer(".jinja2", template_renderer)  # replaces pyramid_jinja2's: this config includes it
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    # Two writers of one practitioner row: the loser is run again, not shown a 500.
    mark_error_retryable(StaleDataError)
    config.include("pyramid_services")
    config.include(".factories")
    config.include(".readable")
    config.include(".wiring")
    config.include(".headers")
    config.include(".visit")
    config.include(".sessions")
    config.include(".security")
    config.include(".rendering")
    config.include(".language")
    config.include(".dates")
    config.add_jinja2_search_path("entrypoints.web:templates", name=".jinja2")
    config.add_static_view("static", "entrypoints.web:static", cache_max_age=3600)
    config.scan(".errors")
