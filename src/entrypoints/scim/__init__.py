"""The SCIM 2.0 provisioning API (RFC 7643, RFC 7644) under /scim/v2 on each tenant's host.

Every request, discovery included, needs ``Authorization: Bearer <token>`` with a token of
this tenant. RFC 7644 §4 leaves authentication of the discovery endpoints to the service
provider; they are authenticated here too, so the whole /scim surface answers only to the
practice's provisioning clients and there is a single rule to check.

A token acts for the practitioner who created it, with that practitioner's authority
(domain.practitioners.authority): a token whose creator is deleted, deactivated or no longer holds the
Practitioners right answers 403 to every request, as the domain's NotAllowed.

Bearer-authenticated JSON: no browser session is read or created, and views are exempt
from CSRF checks (a browser cannot attach the bearer token on its own).
"""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.request import Request

from domain.audit import RequestOrigin
from domain.practitioners.authority import Authority
from domain.provisioning.bearer_token import ScimToken
from domain.provisioning.tokens import ProvisioningTokens
from domain.tenancy.tenant import Tenant
from entrypoints.scim.errors import ScimError, unauthorized


class ScimContext:
    """Context of every SCIM route: the tenant of the host and the authority the presented token acts with."""

    def __init__(self, request: Request) -> None:
        tenant = request.tenant
        if tenant is None:
            raise ScimError(
                404, "SCIM is served on a practice's own address, such as https://<practice>.<domain>/scim/v2"
            )
        self.tenant: Tenant = tenant
        tokens: ProvisioningTokens = request.find_service(ProvisioningTokens)
        token = self._authenticate(request, tenant, tokens)
        # Whatever this request records in the audit trail, the token did.
        request.find_service(RequestOrigin, context=None).token_id = token.id
        self.authority: Authority = tokens.authority_of(tenant, token)

    @staticmethod
    def _authenticate(request: Request, tenant: Tenant, tokens: ProvisioningTokens) -> ScimToken:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise unauthorized("send Authorization: Bearer <token> with a provisioning token of this practice")
        token = tokens.authenticate(tenant, presented.strip())
        if token is None:
            raise unauthorized("the bearer token is not valid for this practice")
        return token


def includeme(config: Configurator) -> None:
    routes = [
        ("scim_users", "/scim/v2/Users"),
        ("scim_users_search", "/scim/v2/Users/.search"),  # before Users/{id}, which it would match
        ("scim_user", "/scim/v2/Users/{id}"),
        ("scim_groups", "/scim/v2/Groups"),
        ("scim_groups_search", "/scim/v2/Groups/.search"),  # before Groups/{id}, which it would match
        ("scim_group", "/scim/v2/Groups/{id}"),
        ("scim_service_provider_config", "/scim/v2/ServiceProviderConfig"),
        ("scim_schemas", "/scim/v2/Schemas"),
        ("scim_schema", "/scim/v2/Schemas/{id}"),
        ("scim_resource_types", "/scim/v2/ResourceTypes"),
        ("scim_resource_type", "/scim/v2/ResourceTypes/{id}"),
        ("scim_root_search", "/scim/v2/.search"),
        ("scim_other", "/scim/*rest"),  # anything else under /scim: a SCIM 404, not a page
    ]
    for name, pattern in routes:
        config.add_route(name, pattern, factory=ScimContext)
    config.scan(".views")
    config.scan(".errors")
