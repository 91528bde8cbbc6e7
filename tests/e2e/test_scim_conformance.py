"""The SCIM API as an independent conformance tool sees it: scim2-tester against the app on loopback.

Every check it runs for the Users and Groups resources must pass: ERROR (a MUST broken) and
CRITICAL (a security problem) fail this test, and so does a check that the server made crash.
Groups make the tool create Users to put in them as members, so both run together. What the
portal does not offer (bulk, sort, password change) is declared unsupported in the
ServiceProviderConfig, so the tool skips it rather than failing.
"""

from __future__ import annotations

import httpx2
from pyramid.router import Router
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from domain.provisioning.tokens import ProvisioningTokens
from domain.tenancy.onboarding import TenantOnboarding
from tests.e2e.conftest import BASE_DOMAIN, Portal, served_on_loopback

FAILING = (Status.ERROR, Status.CRITICAL)


def scim_token(portal: Portal, slug: str) -> str:
    with portal.unit_of_work() as request:
        onboarding = request.find_service(TenantOnboarding)
        tenant = onboarding.tenant(slug)
        return request.find_service(ProvisioningTokens).create(tenant, "scim2-tester", onboarding.owner_of(tenant))[1]


def test_scim2_tester_finds_no_error_in_the_users_and_groups_resources(portal: Portal, wsgi_app: Router):
    portal.open_tenant("acme")
    token = scim_token(portal, "acme")
    with served_on_loopback(wsgi_app) as port:
        http = httpx2.Client(
            base_url=f"http://127.0.0.1:{port}/scim/v2",
            headers={"Host": f"acme.{BASE_DOMAIN}", "Authorization": f"Bearer {token}"},
            timeout=10,
        )
        with http:
            results = check_server(SyncSCIMClient(http), resource_types=["User", "Group"])
    ran = [r for r in results if r.status is not Status.SKIPPED]
    group_checks = [r for r in ran if "Group" in f"{r.title} {r.reason}"]
    failures = [f"{r.title}: {r.reason}" for r in results if r.status in FAILING]
    assert len(ran) >= 10, "the tool hardly ran: did discovery fail?"
    assert len(group_checks) >= 5, "the tool hardly ran Group checks: is Group declared in ResourceTypes?"
    assert failures == []
