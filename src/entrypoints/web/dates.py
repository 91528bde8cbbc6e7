"""Dates and times on the pages: as the page's language writes them (Babel, CLDR's medium format),
on the practice's clock (``Tenant.zone``, Europe/Berlin unless the practice chose another).

Two Jinja2 filters: ``{{ moment | local_datetime }}`` (26.11.2026, 09:15), with ``seconds=True``
where the order of close events matters (the audit trail), and ``{{ moment | local_date }}``
(26.11.2026). The stored moments are UTC; only the page converts. Machine-readable output (the
audit download, SCIM) keeps ISO 8601 in UTC and does not use these.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time, get_datetime_format
from jinja2 import pass_context
from jinja2.runtime import Context
from pyramid.config import Configurator

from domain.tenancy.language import DEFAULT_LANGUAGE
from domain.tenancy.tenant import DEFAULT_TIME_ZONE


def _page_language(context: Context) -> str:
    request = context.get("request")
    return request.locale_name if request is not None else DEFAULT_LANGUAGE


def _practice_zone(context: Context) -> tzinfo:
    # Pages outside a practice (the error page of an unknown host) have none: the default clock.
    tenant = context.get("tenant")
    return tenant.zone if tenant is not None else ZoneInfo(DEFAULT_TIME_ZONE)


@pass_context
def local_datetime(context: Context, moment: datetime, seconds: bool = False) -> str:
    """The medium date and the time, to the minute (or the second), on the practice's clock."""
    local, language = moment.astimezone(_practice_zone(context)), _page_language(context)
    if seconds:
        return format_datetime(local, "medium", locale=language)
    # CLDR's medium date-time joins the medium date with the medium time, which has seconds: the
    # same joining pattern with the short (minutes) time, as format_datetime itself joins them.
    pattern = str(get_datetime_format("medium", locale=language)).replace("'", "")
    time, day = format_time(local, "short", locale=language), format_date(local, "medium", locale=language)
    return pattern.replace("{0}", time).replace("{1}", day)


@pass_context
def local_date(context: Context, moment: datetime) -> str:
    """The medium date of ``moment`` on the practice's clock (a late evening in UTC may be the next day)."""
    return format_date(moment.astimezone(_practice_zone(context)), "medium", locale=_page_language(context))


FILTERS = {"local_datetime": local_datetime, "local_date": local_date}


def includeme(config: Configurator) -> None:
    def register() -> None:
        config.get_jinja2_environment(".jinja2").filters.update(FILTERS)

    # After pyramid_jinja2 has made the environment (its own deferred action).
    config.action(None, register, order=999)
