"""Security headers on every response: no framing, no sniffing, no foreign scripts or styles."""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.events import NewResponse

# Only the portal's own files run or style a page. No form-action: the Single Sign On button
# posts here and is redirected to the practice's provider, which browsers check against it.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    )
)
BASE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Two years, the whole base domain's instances included: HTTPS only, once seen.
HSTS = "max-age=63072000; includeSubDomains"


def includeme(config: Configurator) -> None:
    settings = config.registry.portal_settings
    headers = dict(BASE_HEADERS)
    if not settings.development and settings.scheme == "https":
        headers["Strict-Transport-Security"] = HSTS

    def add_headers(event: NewResponse) -> None:
        for name, value in headers.items():
            event.response.headers.setdefault(name, value)

    config.add_subscriber(add_headers, NewResponse)
