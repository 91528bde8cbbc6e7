"""/account/linked: the practitioner's Single Sign On links, and linking another provider."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from domain.ports import IdentityLinkRepository
from domain.single_sign_on import SingleSignOn


@view_config(route_name="account_linked", request_method="GET", renderer="account_linked.jinja2")
def linked_accounts(request: Request) -> dict[str, Any]:
    providers = request.find_service(SingleSignOn).enabled_providers(request.tenant)
    links = request.find_service(IdentityLinkRepository).of_practitioner(request.tenant.id, request.identity.id)
    names = {p.id: p.display_name for p in providers}
    linked_ids = {link.provider_id for link in links}
    return {
        "links": [(names.get(link.provider_id, "a provider that is switched off"), link) for link in links],
        "linkable": [p for p in providers if p.id not in linked_ids],
        "notice": request.session.pop_flash(),
    }
