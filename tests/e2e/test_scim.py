"""SCIM 2.0 provisioning API (/scim/v2): operations, filters, PATCH shapes of real clients,
deprovisioning, errors, tenant isolation and discovery — through WebTest on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest
import webtest
from sqlalchemy import Engine, text

from domain.provisioning.tokens import ProvisioningTokens
from domain.tenancy.onboarding import TenantOnboarding
from tests.e2e.conftest import BASE_DOMAIN, Portal
from tests.e2e.sso import Sso, op, sso  # noqa: F401  (fixtures)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"


# --- helpers -------------------------------------------------------------------------------


def create_token(portal: Portal, slug: str, name: str = "Entra") -> str:
    """A SCIM token made through the real domain service as the CLI does: it acts for the owner."""
    with portal.unit_of_work() as request:
        onboarding = request.find_service(TenantOnboarding)
        tenant = onboarding.tenant(slug)
        _record, token = request.find_service(ProvisioningTokens).create(tenant, name, onboarding.owner_of(tenant))
    return token


class Scim:
    """A provisioning client on one tenant's host."""

    def __init__(self, portal: Portal, slug: str, token: str | None) -> None:
        self.app = portal.browser(slug)
        self.token = token

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra)
        return headers

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        status: int | str = "*",
        content_type: str = SCIM_JSON,
        **headers: str,
    ) -> webtest.TestResponse:
        kwargs: dict[str, Any] = {"headers": self.headers(**headers), "status": status, "expect_errors": True}
        if body is not None:
            kwargs["params"] = body if isinstance(body, (bytes, str)) else json.dumps(body)
            kwargs["content_type"] = content_type
        return getattr(self.app, method.lower())("/scim/v2" + path, **kwargs)  # TestApp.get, .post, .patch...

    def get(self, path: str, status: int | str = 200, **headers: str) -> webtest.TestResponse:
        return self.request("GET", path, status=status, **headers)

    def post(self, path: str, body: Any, status: int | str = 201, **kw: Any) -> webtest.TestResponse:
        return self.request("POST", path, body, status=status, **kw)

    def put(self, path: str, body: Any, status: int | str = 200, **kw: Any) -> webtest.TestResponse:
        return self.request("PUT", path, body, status=status, **kw)

    def patch(self, path: str, body: Any, status: int | str = 200, **kw: Any) -> webtest.TestResponse:
        return self.request("PATCH", path, body, status=status, **kw)

    def delete(self, path: str, status: int | str = 204, **kw: Any) -> webtest.TestResponse:
        return self.request("DELETE", path, status=status, **kw)

    def create(self, user_name: str = "ada@acme.test", **attributes: Any) -> dict[str, Any]:
        body = {"schemas": [USER], "userName": user_name, "name": {"givenName": "Ada", "familyName": "Lovelace"}}
        body.update(attributes)
        return self.post("/Users", body).json  # type: ignore[no-any-return]

    def user(self, user_id: str) -> dict[str, Any]:
        return self.get(f"/Users/{user_id}").json  # type: ignore[no-any-return]

    def search(self, scim_filter: str, status: int = 200) -> webtest.TestResponse:
        return self.app.get("/scim/v2/Users", {"filter": scim_filter}, headers=self.headers(), status=status)


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def assert_scim_error(response: webtest.TestResponse, status: int, scim_type: str | None = None) -> None:
    assert response.status_int == status, response.text
    assert response.content_type == SCIM_JSON
    body = response.json
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body


def count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())


@pytest.fixture
def scim(portal: Portal) -> Scim:
    portal.open_tenant("acme")
    return Scim(portal, "acme", create_token(portal, "acme"))


@pytest.fixture
def beta(portal: Portal, scim: Scim) -> Scim:
    portal.open_tenant("beta")
    return Scim(portal, "beta", create_token(portal, "beta"))


# --- authentication and tenant isolation ---------------------------------------------------


@pytest.mark.parametrize("path", ["/Users", "/ServiceProviderConfig", "/Schemas", "/ResourceTypes"])
def test_every_scim_request_without_a_bearer_token_is_401_with_www_authenticate(portal: Portal, scim: Scim, path: str):
    response = Scim(portal, "acme", None).get(path, status=401)
    assert_scim_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_or_another_scheme_is_401(portal: Portal, scim: Scim):
    assert_scim_error(Scim(portal, "acme", "ppscim_not-a-real-token").get("/Users", status=401), 401)
    assert_scim_error(Scim(portal, "acme", "garbage").get("/Users", status=401), 401)
    basic = scim.app.get("/scim/v2/Users", headers={"Authorization": f"Basic {scim.token}"}, status=401)
    assert_scim_error(basic, 401)


def test_a_token_of_another_tenant_is_401_on_this_tenants_host(portal: Portal, scim: Scim, beta: Scim):
    acme_token_on_beta = Scim(portal, "beta", scim.token)
    assert_scim_error(acme_token_on_beta.get("/Users", status=401), 401)
    assert_scim_error(
        acme_token_on_beta.post("/Users", {"schemas": [USER], "userName": "x@beta.test"}, status=401), 401
    )


def test_a_revoked_token_is_401(portal: Portal, scim: Scim):
    with portal.unit_of_work() as request:
        tenant = request.find_service(TenantOnboarding).tenant("acme")
        tokens = request.find_service(ProvisioningTokens)
        (record,) = tokens.tokens(tenant)
        tokens.revoke(tenant, record.id)
    assert_scim_error(scim.get("/Users", status=401), 401)


def test_another_tenants_user_id_is_404_for_every_operation(scim: Scim, beta: Scim):
    ada = scim.create()
    path = f"/Users/{ada['id']}"
    assert_scim_error(beta.get(path, status=404), 404)
    assert_scim_error(beta.put(path, {"schemas": [USER], "userName": "ada@acme.test"}, status=404), 404)
    assert_scim_error(
        beta.patch(path, patch_body({"op": "replace", "path": "active", "value": False}), status=404), 404
    )
    assert_scim_error(beta.delete(path, status=404), 404)
    assert [u["userName"] for u in beta.get("/Users").json["Resources"]] == ["owner@beta.test"]
    assert scim.user(ada["id"])["active"] is True


def test_scim_on_the_bare_domain_or_an_unknown_instance_is_a_scim_404(portal: Portal, scim: Scim):
    bare = portal.browser(None).get("/scim/v2/Users", headers={"Authorization": f"Bearer {scim.token}"}, status=404)
    assert_scim_error(bare, 404)
    unknown = portal.browser("nosuch").get(
        "/scim/v2/Users", headers={"Authorization": f"Bearer {scim.token}"}, status=404
    )
    assert_scim_error(unknown, 404)


def test_scim_requests_need_no_csrf_token_and_create_no_browser_session(scim: Scim, engine: Engine):
    response = scim.post("/Users", {"schemas": [USER], "userName": "ada@acme.test"})
    assert "Set-Cookie" not in response.headers
    scim.get("/Users")
    assert count(engine, "SELECT count(*) FROM web_sessions") == 0


def test_locations_name_the_tenants_configured_host_whatever_port_the_request_came_on(scim: Scim):
    scim.app.extra_environ["HTTP_HOST"] = f"ACME.{BASE_DOMAIN}.:8443"
    response = scim.post("/Users", {"schemas": [USER], "userName": "ada@acme.test"})
    location = f"http://acme.{BASE_DOMAIN}/scim/v2/Users/{response.json['id']}"
    assert response.headers["Location"] == response.json["meta"]["location"] == location


# --- POST /Users ---------------------------------------------------------------------------


def test_post_creates_a_user_with_201_location_etag_and_the_full_representation(scim: Scim):
    response = scim.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "Ada.Lovelace@Acme.test",
            "externalId": "entra-object-1",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [
                {"value": "ada@home.example", "type": "home"},
                {"value": "Ada@Acme.test", "type": "work", "primary": True},
            ],
            "phoneNumbers": [{"value": "+31 20 123 4567", "type": "work"}],
            "title": "Physiotherapist",
            "active": True,
        },
    )
    user = response.json
    assert response.content_type == SCIM_JSON
    location = f"http://acme.{BASE_DOMAIN}/scim/v2/Users/{user['id']}"
    assert response.headers["Location"] == location
    assert response.headers["ETag"] == user["meta"]["version"]
    assert user["meta"]["version"].startswith('W/"')
    assert user["schemas"] == [USER]
    assert user["userName"] == "Ada.Lovelace@Acme.test"  # stored as sent
    assert user["externalId"] == "entra-object-1"
    assert user["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert user["displayName"] == "Ada Lovelace"
    assert user["emails"] == [{"value": "ada@acme.test", "type": "work", "primary": True}]  # the primary one
    assert user["phoneNumbers"] == [{"value": "+31 20 123 4567", "type": "work"}]
    assert user["title"] == "Physiotherapist"
    assert user["active"] is True
    meta = user["meta"]
    assert meta["resourceType"] == "User" and meta["location"] == location
    assert meta["created"].endswith("Z") and meta["lastModified"].endswith("Z")
    assert scim.user(user["id"]) == user


def test_registered_email_is_the_first_entry_when_none_is_primary(scim: Scim):
    user = scim.create("ada", emails=[{"value": "first@acme.test"}, {"value": "second@acme.test"}])
    assert user["emails"][0]["value"] == "first@acme.test"


def test_registered_email_is_the_username_when_no_emails_are_sent(scim: Scim):
    user = scim.create("Ada@Acme.test")
    assert user["emails"][0]["value"] == "ada@acme.test"
    assert user["userName"] == "Ada@Acme.test"


def test_no_emails_and_a_username_that_is_not_an_email_is_400_invalid_value(scim: Scim, engine: Engine):
    response = scim.post("/Users", {"schemas": [USER], "userName": "ada"}, status=400)
    assert_scim_error(response, 400, "invalidValue")
    assert count(engine, "SELECT count(*) FROM practitioners") == 1  # the owner only


def test_post_without_username_is_400_invalid_value(scim: Scim):
    assert_scim_error(
        scim.post("/Users", {"schemas": [USER], "emails": [{"value": "a@acme.test"}]}, status=400), 400, "invalidValue"
    )


def test_names_fall_back_to_the_username_when_not_sent(scim: Scim):
    user = scim.create("ada@acme.test", name=None)
    assert user["name"]["givenName"] == "ada" and user["name"]["familyName"] == "ada"


def test_unknown_attributes_and_extensions_are_ignored_and_read_only_ones_too_on_post(scim: Scim):
    user = scim.create(
        "ada@acme.test",
        id="chosen-by-client",
        meta={"version": 'W/"99"'},
        nickName="Countess",
        preferredLanguage="en",
        **{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Physio"}},
    )
    assert user["id"] != "chosen-by-client"
    assert user["meta"]["version"] != 'W/"99"'
    assert "nickName" not in user


def test_attribute_names_in_a_body_are_case_insensitive(scim: Scim):
    response = scim.post(
        "/Users",
        {
            "schemas": [USER],
            "USERNAME": "ada@acme.test",
            "Name": {"GivenName": "Ada", "familyname": "L"},
            "ACTIVE": False,
        },
    )
    assert response.json["userName"] == "ada@acme.test"
    assert response.json["name"]["givenName"] == "Ada" and response.json["active"] is False


def test_application_json_bodies_are_accepted_too(scim: Scim):
    response = scim.post("/Users", {"schemas": [USER], "userName": "ada@acme.test"}, content_type="application/json")
    assert response.content_type == SCIM_JSON


def test_a_form_encoded_body_is_refused_with_415(scim: Scim):
    response = scim.post("/Users", "userName=ada", status=415, content_type="application/x-www-form-urlencoded")
    assert_scim_error(response, 415)


def test_duplicate_username_in_another_case_is_409_uniqueness(scim: Scim, engine: Engine):
    scim.create("Ada@Acme.test", emails=[{"value": "ada@acme.test"}])
    response = scim.post(
        "/Users", {"schemas": [USER], "userName": "ADA@ACME.TEST", "emails": [{"value": "other@acme.test"}]}, status=409
    )
    assert_scim_error(response, 409, "uniqueness")
    assert count(engine, "SELECT count(*) FROM practitioners") == 2


def test_duplicate_registered_email_is_409_uniqueness(scim: Scim):
    scim.create("ada", emails=[{"value": "ada@acme.test"}])
    response = scim.post(
        "/Users", {"schemas": [USER], "userName": "ada2", "emails": [{"value": "ADA@acme.test"}]}, status=409
    )
    assert_scim_error(response, 409, "uniqueness")


def test_a_username_equal_to_an_existing_practitioners_email_is_409(scim: Scim):
    response = scim.post(
        "/Users", {"schemas": [USER], "userName": "owner@acme.test", "emails": [{"value": "x@acme.test"}]}, status=409
    )
    assert_scim_error(response, 409, "uniqueness")


def test_the_same_username_in_another_tenant_is_fine(scim: Scim, beta: Scim):
    scim.create("ada@shared.test")
    beta.create("ada@shared.test")


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[1, 2]",
        b'"a string"',
        json.dumps({"schemas": ["urn:example:Other"], "userName": "ada@acme.test"}).encode(),
    ],
)
def test_malformed_bodies_are_400_invalid_syntax(scim: Scim, body: bytes):
    assert_scim_error(scim.post("/Users", body, status=400), 400, "invalidSyntax")


@pytest.mark.parametrize(
    "attributes",
    [
        {"userName": 42},
        {"userName": "ada@acme.test", "emails": "ada@acme.test"},
        {"userName": "ada@acme.test", "emails": [{"value": 7}]},
        {"userName": "ada@acme.test", "name": "Ada Lovelace"},
        {"userName": "ada@acme.test", "active": "maybe"},
        {"userName": "ada@acme.test", "externalId": {"x": 1}},
        {"userName": "ada@acme.test", "emails": [{"value": "not an email"}]},
        {"userName": "x" * 300 + "@acme.test"},
        {"userName": "ada@acme.test", "name": {"givenName": "A" * 500}},
    ],
)
def test_invalid_values_are_400_invalid_value_never_500(scim: Scim, attributes: dict[str, Any]):
    assert_scim_error(scim.post("/Users", {"schemas": [USER], **attributes}, status=400), 400, "invalidValue")


def test_a_body_over_256_kib_is_413(scim: Scim, engine: Engine):
    body = {"schemas": [USER], "userName": "ada@acme.test", "padding": "x" * (300 * 1024)}
    assert_scim_error(scim.post("/Users", body, status=413), 413)
    assert count(engine, "SELECT count(*) FROM practitioners") == 1


# --- GET /Users/{id}, attributes -----------------------------------------------------------


def test_get_returns_the_user_with_its_etag(scim: Scim):
    ada = scim.create()
    response = scim.get(f"/Users/{ada['id']}")
    assert response.headers["ETag"] == ada["meta"]["version"]
    assert response.content_type == SCIM_JSON


def test_unknown_id_is_404(scim: Scim):
    assert_scim_error(scim.get("/Users/does-not-exist", status=404), 404)


def test_attributes_parameter_returns_only_those_plus_id_and_schemas(scim: Scim):
    ada = scim.create()
    user = scim.app.get(
        f"/scim/v2/Users/{ada['id']}", {"attributes": "userName,name.givenName"}, headers=scim.headers()
    ).json
    assert user == {"schemas": [USER], "id": ada["id"], "userName": "ada@acme.test", "name": {"givenName": "Ada"}}
    listed = scim.app.get("/scim/v2/Users", {"attributes": f"{USER}:emails.value"}, headers=scim.headers()).json
    assert {"schemas": [USER], "id": ada["id"], "emails": [{"value": "ada@acme.test"}]} in listed["Resources"]


def test_excluded_attributes_are_left_out_but_never_id_or_schemas(scim: Scim):
    ada = scim.create()
    user = scim.app.get(
        f"/scim/v2/Users/{ada['id']}",
        {"excludedAttributes": "emails,name.familyName,meta,id,schemas"},
        headers=scim.headers(),
    ).json
    assert "emails" not in user and "meta" not in user
    assert user["name"] == {"givenName": "Ada"}
    assert user["id"] == ada["id"] and user["schemas"] == [USER]


# --- GET /Users with filter, paging --------------------------------------------------------


@pytest.fixture
def three(scim: Scim) -> dict[str, dict[str, Any]]:
    return {
        "ada": scim.create("Ada@Acme.test", externalId="ext-ada"),
        "bob": scim.create("bob", emails=[{"value": "bob@acme.test"}], externalId="ext-bob", active=False),
        "cy": scim.create("cy@acme.test", externalId="EXT-ADA"),
    }


def ids(response: webtest.TestResponse) -> set[str]:
    return {r["id"] for r in response.json["Resources"]}


def test_filter_username_eq_is_case_insensitive(scim: Scim, three: dict[str, Any]):
    response = scim.search('userName eq "ada@acme.TEST"')
    assert response.json["schemas"] == [LIST]
    assert ids(response) == {three["ada"]["id"]}
    assert response.json["totalResults"] == 1


def test_filter_attribute_names_and_operators_are_case_insensitive(scim: Scim, three: dict[str, Any]):
    assert ids(scim.search('USERNAME EQ "bob"')) == {three["bob"]["id"]}
    assert ids(scim.search(f'{USER}:userName eq "bob"')) == {three["bob"]["id"]}


def test_filter_external_id_eq_is_case_exact(scim: Scim, three: dict[str, Any]):
    assert ids(scim.search('externalId eq "ext-ada"')) == {three["ada"]["id"]}


def test_filter_emails_value_eq_and_emails_eq(scim: Scim, three: dict[str, Any]):
    assert ids(scim.search('emails.value eq "bob@acme.test"')) == {three["bob"]["id"]}
    assert ids(scim.search('emails eq "BOB@acme.test"')) == {three["bob"]["id"]}


def test_filter_active_eq(scim: Scim, three: dict[str, Any]):
    assert ids(scim.search("active eq false")) == {three["bob"]["id"]}
    assert three["bob"]["id"] not in ids(scim.search("active eq true"))


def test_filters_joined_with_and(scim: Scim, three: dict[str, Any]):
    assert ids(scim.search('externalId eq "ext-bob" and active eq false')) == {three["bob"]["id"]}
    assert ids(scim.search('externalId eq "ext-bob" and active eq true')) == set()
    assert ids(scim.search('userName eq "bob" and userName eq "cy@acme.test"')) == set()


def test_filter_with_an_escaped_quote_in_the_value_is_read_as_json(scim: Scim, three: dict[str, Any]):
    assert scim.search(r'userName eq "a\"b"').json["totalResults"] == 0


@pytest.mark.parametrize(
    "scim_filter",
    [
        'userName eq "a" or userName eq "b"',
        'not (userName eq "a")',
        'userName co "ada"',
        'userName sw "ada"',
        "userName pr",
        'meta.lastModified gt "2020-01-01T00:00:00Z"',
        '(userName eq "ada@acme.test")',
        'emails[type eq "work"].value eq "x"',
        'nickName eq "x"',
        "userName eq 42",
        'active eq "true"',
        'userName eq "unterminated',
        'userName eq "a" and',
        'userName "a"',
        "userName eq",
        "and",
        'userName eq "a" userName eq "b"',
    ],
)
def test_unsupported_or_malformed_filters_are_400_invalid_filter(scim: Scim, three: dict[str, Any], scim_filter: str):
    assert_scim_error(scim.search(scim_filter, status=400), 400, "invalidFilter")


def test_a_filter_that_is_not_utf8_is_400_not_500(scim: Scim):
    response = scim.app.get("/scim/v2/Users?filter=%ff%fe", headers=scim.headers(), status=400)
    assert_scim_error(response, 400, "invalidSyntax")


def test_list_without_filter_pages_with_start_index_and_count(scim: Scim, three: dict[str, Any]):
    everyone = scim.get("/Users").json
    assert everyone["totalResults"] == 4 and everyone["itemsPerPage"] == 4 and everyone["startIndex"] == 1
    page = scim.app.get("/scim/v2/Users", {"startIndex": "2", "count": "2"}, headers=scim.headers()).json
    assert page["startIndex"] == 2 and page["itemsPerPage"] == 2 and page["totalResults"] == 4
    assert [r["id"] for r in page["Resources"]] == [r["id"] for r in everyone["Resources"][1:3]]


def test_start_index_below_one_is_one_and_a_negative_count_is_zero(scim: Scim, three: dict[str, Any]):
    page = scim.app.get("/scim/v2/Users", {"startIndex": "-5", "count": "-1"}, headers=scim.headers()).json
    assert (
        page["startIndex"] == 1 and page["totalResults"] == 4 and page["itemsPerPage"] == 0 and page["Resources"] == []
    )


def test_count_is_capped_and_non_numbers_are_400(scim: Scim, three: dict[str, Any]):
    page = scim.app.get("/scim/v2/Users", {"count": "100000", "startIndex": "9" * 30}, headers=scim.headers()).json
    assert page["Resources"] == []
    response = scim.app.get("/scim/v2/Users", {"count": "ten"}, headers=scim.headers(), status=400)
    assert_scim_error(response, 400, "invalidValue")


def test_search_with_post_takes_a_search_request_body(scim: Scim, three: dict[str, Any]):
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'externalId eq "ext-bob"',
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10,
    }
    found = scim.post("/Users/.search", body, status=200).json
    assert found["Resources"] == [{"schemas": [USER], "id": three["bob"]["id"], "userName": "bob"}]
    assert_scim_error(scim.post("/Users/.search", {"filter": 'userName eq "bob"'}, status=400), 400, "invalidSyntax")
    bad = dict(body, filter='userName co "b"')
    assert_scim_error(scim.post("/Users/.search", bad, status=400), 400, "invalidFilter")


def test_search_at_the_root_across_resource_types_is_501(scim: Scim):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    assert_scim_error(scim.post("/.search", body, status=501), 501)


# --- PUT -----------------------------------------------------------------------------------


def test_put_replaces_the_user_and_clears_what_is_left_out(scim: Scim):
    ada = scim.create(externalId="ext", title="Physio", phoneNumbers=[{"value": "123", "type": "work"}])
    response = scim.put(
        f"/Users/{ada['id']}",
        {"schemas": [USER], "userName": "ada@acme.test", "name": {"givenName": "Augusta", "familyName": "King"}},
    )
    user = response.json
    assert user["name"]["givenName"] == "Augusta" and user["name"]["familyName"] == "King"
    assert "externalId" not in user and "title" not in user and "phoneNumbers" not in user
    assert user["active"] is True
    assert response.headers["ETag"] == user["meta"]["version"] != ada["meta"]["version"]


def test_put_ignores_a_matching_id_and_refuses_a_conflicting_one_with_mutability(scim: Scim):
    ada = scim.create()
    scim.put(f"/Users/{ada['id']}", {"schemas": [USER], "id": ada["id"], "userName": "ada@acme.test"})
    response = scim.put(
        f"/Users/{ada['id']}", {"schemas": [USER], "id": "another", "userName": "ada@acme.test"}, status=400
    )
    assert_scim_error(response, 400, "mutability")


def test_put_with_a_taken_email_changes_nothing(scim: Scim):
    scim.create("bob", emails=[{"value": "bob@acme.test"}])
    ada = scim.create(title="Physio")
    response = scim.put(
        f"/Users/{ada['id']}",
        {
            "schemas": [USER],
            "userName": "ada.new",
            "name": {"givenName": "Changed", "familyName": "Name"},
            "emails": [{"value": "bob@acme.test"}],
            "active": False,
        },
        status=409,
    )
    assert_scim_error(response, 409, "uniqueness")
    assert scim.user(ada["id"]) == ada


def test_put_unknown_id_is_404(scim: Scim):
    assert_scim_error(scim.put("/Users/nope", {"schemas": [USER], "userName": "a@acme.test"}, status=404), 404)


# --- ETag / If-Match -----------------------------------------------------------------------


def test_if_match_with_the_current_etag_succeeds_and_a_stale_one_is_412(scim: Scim):
    ada = scim.create()
    etag = ada["meta"]["version"]
    changed = scim.patch(
        f"/Users/{ada['id']}", patch_body({"op": "replace", "path": "title", "value": "Physio"}), **{"If-Match": etag}
    )
    assert changed.headers["ETag"] != etag
    stale = scim.patch(
        f"/Users/{ada['id']}",
        patch_body({"op": "replace", "path": "title", "value": "Other"}),
        status=412,
        **{"If-Match": etag},
    )
    assert_scim_error(stale, 412)
    assert_scim_error(
        scim.put(
            f"/Users/{ada['id']}", {"schemas": [USER], "userName": "x@acme.test"}, status=412, **{"If-Match": etag}
        ),
        412,
    )
    assert_scim_error(scim.delete(f"/Users/{ada['id']}", status=412, **{"If-Match": etag}), 412)
    assert scim.user(ada["id"])["title"] == "Physio"
    scim.delete(f"/Users/{ada['id']}", **{"If-Match": changed.headers["ETag"]})


def test_if_match_accepts_the_star_and_the_strong_form_of_the_tag(scim: Scim):
    ada = scim.create()
    strong = ada["meta"]["version"].removeprefix("W/")
    after = scim.put(
        f"/Users/{ada['id']}", {"schemas": [USER], "userName": "ada@acme.test", "title": "A"}, **{"If-Match": strong}
    )
    scim.put(f"/Users/{ada['id']}", {"schemas": [USER], "userName": "ada@acme.test", "title": "B"}, **{"If-Match": "*"})
    assert after.status_int == 200


# --- PATCH ---------------------------------------------------------------------------------


def patched(scim: Scim, user_id: str, *operations: dict[str, Any]) -> dict[str, Any]:
    return scim.patch(f"/Users/{user_id}", patch_body(*operations)).json  # type: ignore[no-any-return]


def test_patch_replace_with_paths(scim: Scim):
    ada = scim.create()
    user = patched(
        scim,
        ada["id"],
        {"op": "replace", "path": "userName", "value": "augusta@acme.test"},
        {"op": "replace", "path": "name.givenName", "value": "Augusta"},
        {"op": "replace", "path": "name.familyName", "value": "King"},
        {"op": "replace", "path": "externalId", "value": "ext-1"},
        {"op": "replace", "path": "title", "value": "Physio"},
        {"op": "replace", "path": "displayName", "value": "Ada, Countess of Lovelace"},
    )
    assert user["userName"] == "augusta@acme.test"
    assert user["name"] == {"givenName": "Augusta", "familyName": "King"}
    assert user["displayName"] == "Ada, Countess of Lovelace"
    assert user["externalId"] == "ext-1" and user["title"] == "Physio"
    assert user["emails"][0]["value"] == "ada@acme.test"  # a new userName does not move the email


def test_patch_with_entras_capitalised_ops_and_active_as_the_string_false(scim: Scim):
    ada = scim.create()
    assert patched(scim, ada["id"], {"op": "Replace", "path": "active", "value": "False"})["active"] is False
    assert patched(scim, ada["id"], {"op": "Add", "path": "active", "value": "True"})["active"] is True
    assert patched(scim, ada["id"], {"op": "REPLACE", "path": "active", "value": False})["active"] is False


def test_patch_without_path_takes_a_value_object(scim: Scim):
    ada = scim.create()
    user = patched(
        scim,
        ada["id"],
        {"op": "replace", "value": {"active": False, "title": "Physio", "name": {"givenName": "Augusta"}}},
    )
    assert user["active"] is False and user["title"] == "Physio"
    assert user["name"]["givenName"] == "Augusta" and user["name"]["familyName"] == "Lovelace"


def test_patch_without_path_accepts_entras_dotted_and_value_path_keys(scim: Scim):
    ada = scim.create()
    user = patched(
        scim,
        ada["id"],
        {
            "op": "Add",
            "value": {
                "name.givenName": "Augusta",
                "name.familyName": "King",
                'emails[type eq "work"].value': "augusta@acme.test",
                'phoneNumbers[type eq "work"].value': "+44 20 1234",
                'phoneNumbers[type eq "mobile"].value': "+44 7700 900000",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Physio",
                "preferredLanguage": "en-GB",
            },
        },
    )
    assert user["name"]["givenName"] == "Augusta" and user["name"]["familyName"] == "King"
    assert user["emails"] == [{"value": "augusta@acme.test", "type": "work", "primary": True}]
    assert user["phoneNumbers"] == [{"value": "+44 20 1234", "type": "work"}]


def test_patch_emails_with_value_path_filters(scim: Scim):
    ada = scim.create()
    user = patched(scim, ada["id"], {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@acme.test"})
    assert user["emails"][0]["value"] == "new@acme.test"
    user = patched(
        scim,
        ada["id"],
        {"op": "replace", "path": 'emails[value eq "NEW@acme.test"]', "value": {"value": "newer@acme.test"}},
    )
    assert user["emails"][0]["value"] == "newer@acme.test"
    user = patched(
        scim,
        ada["id"],
        {
            "op": "replace",
            "path": "emails",
            "value": [{"value": "x@acme.test"}, {"value": "y@acme.test", "primary": True}],
        },
    )
    assert user["emails"][0]["value"] == "y@acme.test"
    # A home address is not stored, like any attribute this service does not keep.
    user = patched(scim, ada["id"], {"op": "add", "path": 'emails[type eq "home"].value', "value": "home@example.org"})
    assert user["emails"][0]["value"] == "y@acme.test"


def test_patch_a_value_filter_that_matches_no_email_is_400_no_target(scim: Scim):
    ada = scim.create()
    response = scim.patch(
        f"/Users/{ada['id']}",
        patch_body({"op": "replace", "path": 'emails[value eq "other@acme.test"].value', "value": "x@acme.test"}),
        status=400,
    )
    assert_scim_error(response, 400, "noTarget")


def test_patch_remove_of_emails_falls_back_to_an_email_username_or_is_400(scim: Scim):
    ada = scim.create("ada@acme.test", emails=[{"value": "work@acme.test"}])
    assert patched(scim, ada["id"], {"op": "remove", "path": "emails"})["emails"][0]["value"] == "ada@acme.test"
    bob = scim.create("bob", emails=[{"value": "bob@acme.test"}])
    response = scim.patch(
        f"/Users/{bob['id']}", patch_body({"op": "remove", "path": 'emails[type eq "work"]'}), status=400
    )
    assert_scim_error(response, 400, "invalidValue")


def test_patch_remove_clears_optional_attributes(scim: Scim):
    ada = scim.create(externalId="ext", title="Physio", phoneNumbers=[{"value": "123"}])
    user = patched(
        scim,
        ada["id"],
        {"op": "remove", "path": "externalId"},
        {"op": "Remove", "path": "title"},
        {"op": "remove", "path": 'phoneNumbers[type eq "work"].value'},
    )
    assert "externalId" not in user and "title" not in user and "phoneNumbers" not in user


def test_patch_remove_of_the_required_username_is_400_and_changes_nothing(scim: Scim):
    ada = scim.create()
    response = scim.patch(
        f"/Users/{ada['id']}",
        patch_body({"op": "replace", "path": "title", "value": "Physio"}, {"op": "remove", "path": "userName"}),
        status=400,
    )
    assert_scim_error(response, 400, "mutability")
    assert scim.user(ada["id"]) == ada


def test_patch_of_read_only_or_removal_of_required_attributes_is_400_mutability(scim: Scim):
    ada = scim.create()
    for path in ("id", "meta.created"):
        response = scim.patch(
            f"/Users/{ada['id']}", patch_body({"op": "replace", "path": path, "value": "x"}), status=400
        )
        assert_scim_error(response, 400, "mutability")
    response = scim.patch(f"/Users/{ada['id']}", patch_body({"op": "replace", "value": {"id": "x"}}), status=400)
    assert_scim_error(response, 400, "mutability")
    for required in ("name", "active"):
        response = scim.patch(f"/Users/{ada['id']}", patch_body({"op": "remove", "path": required}), status=400)
        assert_scim_error(response, 400, "mutability")
    assert scim.user(ada["id"]) == ada


@pytest.mark.parametrize(
    "body, scim_type",
    [
        ({"Operations": [{"op": "replace", "path": "title", "value": "x"}]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": []}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "move", "path": "title", "value": "x"}]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": ["replace"]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "remove"}]}, "noTarget"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title"}]}, "invalidValue"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": "x"}]}, "invalidValue"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": "nope"}]}, "invalidValue"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "userName", "value": None}]}, "invalidValue"),
        (
            {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "emails[type eq", "value": "x"}]},
            "invalidPath",
        ),
        (
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": 'emails[display co "x"].value', "value": "x"}],
            },
            "invalidFilter",
        ),
        (
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "not-an-email"}],
            },
            "invalidValue",
        ),
    ],
)
def test_malformed_patches_are_400_with_the_right_scim_type(scim: Scim, body: dict[str, Any], scim_type: str):
    ada = scim.create()
    assert_scim_error(scim.patch(f"/Users/{ada['id']}", body, status=400), 400, scim_type)
    assert scim.user(ada["id"]) == ada


def test_patch_to_a_taken_username_is_409_and_changes_nothing(scim: Scim):
    scim.create("bob@acme.test")
    ada = scim.create()
    response = scim.patch(
        f"/Users/{ada['id']}",
        patch_body(
            {"op": "replace", "path": "title", "value": "x"},
            {"op": "replace", "path": "userName", "value": "BOB@acme.test"},
        ),
        status=409,
    )
    assert_scim_error(response, 409, "uniqueness")
    assert scim.user(ada["id"]) == ada


# --- Okta's flow ---------------------------------------------------------------------------


def test_oktas_flow_search_then_create_then_put_active_false_deactivates(scim: Scim, portal: Portal):
    found = scim.search('userName eq "ann@acme.test"').json
    assert found["totalResults"] == 0 and found["Resources"] == []
    created = scim.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "ann@acme.test",
            "name": {"givenName": "Ann", "familyName": "Smith"},
            "emails": [{"primary": True, "value": "ann@acme.test", "type": "work"}],
            "displayName": "Ann Smith",
            "locale": "en-US",
            "externalId": "00u1okta",
            "groups": [],
            "password": "ignored-Secret-1",
            "active": True,
        },
    ).json
    assert scim.search('userName eq "ann@acme.test"').json["totalResults"] == 1
    put = dict(created, active=False)
    deactivated = scim.put(f"/Users/{created['id']}", put).json
    assert deactivated["active"] is False
    assert deactivated["externalId"] == "00u1okta"


# --- deprovisioning ------------------------------------------------------------------------


def test_deprovisioning_with_active_false_ends_an_open_session_and_blocks_password_login(
    portal: Portal, scim: Scim, engine: Engine
):
    portal.add_practitioner("acme", "pat@acme.test")
    browser = portal.browser("acme")
    portal.log_in(browser, "pat@acme.test")
    assert browser.get("/", status=200)
    (pat,) = scim.search('userName eq "pat@acme.test"').json["Resources"]
    assert patched(scim, pat["id"], {"op": "Replace", "path": "active", "value": "False"})["active"] is False
    assert browser.get("/", status=303).location.endswith("/login")
    portal.log_in(portal.browser("acme"), "pat@acme.test", status=403)
    assert count(engine, "SELECT count(*) FROM web_sessions WHERE practitioner_id = :p", p=pat["id"]) == 0
    # Reactivation lets them in again.
    patched(scim, pat["id"], {"op": "replace", "value": {"active": True}})
    portal.log_in(portal.browser("acme"), "pat@acme.test")


def test_deprovisioning_blocks_sso_login_and_keeps_the_identity_link(sso: Sso, engine: Engine):  # noqa: F811
    sso.connect()
    sso.first_login(sso.portal.browser("acme"), "ann@acme.test")
    client = Scim(sso.portal, "acme", create_token(sso.portal, "acme"))
    (ann,) = client.search('emails.value eq "ann@acme.test"').json["Resources"]
    patched(client, ann["id"], {"op": "replace", "path": "active", "value": False})
    fresh = sso.portal.browser("acme")
    assert "deactivated" in sso.log_in(fresh, status=403).text
    assert count(engine, "SELECT count(*) FROM identity_links WHERE practitioner_id = :p", p=ann["id"]) == 1


def test_delete_answers_204_then_the_user_is_404_and_its_session_ends(portal: Portal, scim: Scim, engine: Engine):
    portal.add_practitioner("acme", "pat@acme.test")
    browser = portal.browser("acme")
    portal.log_in(browser, "pat@acme.test")
    (pat,) = scim.search('userName eq "pat@acme.test"').json["Resources"]
    response = scim.delete(f"/Users/{pat['id']}")
    assert response.body == b""
    assert_scim_error(scim.get(f"/Users/{pat['id']}", status=404), 404)
    assert_scim_error(scim.delete(f"/Users/{pat['id']}", status=404), 404)
    assert browser.get("/", status=303).location.endswith("/login")
    assert count(engine, "SELECT count(*) FROM practitioners WHERE id = :p", p=pat["id"]) == 0


def test_every_write_is_audited_with_the_tokens_name(scim: Scim, engine: Engine):
    ada = scim.create()
    patched(scim, ada["id"], {"op": "replace", "path": "active", "value": False})
    scim.delete(f"/Users/{ada['id']}")
    with engine.connect() as connection:
        summaries = [
            row[0] for row in connection.execute(text("SELECT summary FROM audit_events WHERE kind LIKE 'scim_user_%'"))
        ]
    assert len(summaries) == 3 and all("'Entra'" in s for s in summaries)


# --- methods and paths ---------------------------------------------------------------------


def test_an_unsupported_method_is_405_and_an_unknown_endpoint_404_both_as_scim_errors(scim: Scim):
    assert_scim_error(scim.delete("/Users", status=405), 405)
    assert_scim_error(scim.get("/Nope", status=404), 404)
    assert_scim_error(scim.post("/Bulk", {}, status=404), 404)


# --- discovery -----------------------------------------------------------------------------


def test_service_provider_config_declares_what_is_supported(scim: Scim):
    config = scim.get("/ServiceProviderConfig").json
    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert config["patch"] == {"supported": True}
    assert config["bulk"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["changePassword"] == {"supported": False}
    assert config["sort"] == {"supported": False}
    assert config["etag"] == {"supported": True}
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_schemas_describe_the_user_schema_and_its_attributes(scim: Scim):
    listing = scim.get("/Schemas").json
    assert listing["schemas"] == [LIST] and listing["totalResults"] == 2
    (schema,) = [s for s in listing["Resources"] if s["id"] == USER]
    names = {a["name"]: a for a in schema["attributes"]}
    assert {"userName", "name", "emails", "active", "title", "phoneNumbers"} <= set(names)
    assert names["userName"]["required"] is True and names["userName"]["uniqueness"] == "server"
    assert names["emails"]["required"] is True  # the registered email (or an email userName)
    assert {s["name"] for s in names["name"]["subAttributes"]} >= {"givenName", "familyName"}
    assert scim.get(f"/Schemas/{USER}").json == schema
    assert_scim_error(scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Nope", status=404), 404)


def test_resource_types_list_users_and_groups(scim: Scim):
    listing = scim.get("/ResourceTypes").json
    assert {t["id"] for t in listing["Resources"]} == {"User", "Group"}
    (user_type,) = [t for t in listing["Resources"] if t["id"] == "User"]
    assert user_type["endpoint"] == "/Users" and user_type["schema"] == USER
    assert scim.get("/ResourceTypes/User").json == user_type
    assert scim.get("/ResourceTypes/Group").json["endpoint"] == "/Groups"
    assert_scim_error(scim.get("/ResourceTypes/Nope", status=404), 404)


def test_the_primary_flag_of_the_one_email_kept_round_trips(scim: Scim):
    user = scim.create("ada", emails=[{"value": "ada@acme.test", "type": "work", "primary": False}])
    assert user["emails"] == [{"value": "ada@acme.test", "type": "work", "primary": False}]
    scim.patch(
        f"/Users/{user['id']}", patch_body({"op": "replace", "path": 'emails[type eq "work"].primary', "value": True})
    )
    assert scim.user(user["id"])["emails"][0]["primary"] is True
    scim.patch(
        f"/Users/{user['id']}",
        patch_body({"op": "replace", "path": "emails", "value": [{"value": "ada@acme.test", "primary": False}]}),
    )
    assert scim.user(user["id"])["emails"][0]["primary"] is False


def test_an_email_sent_without_a_primary_flag_reads_as_primary(scim: Scim):
    user = scim.create("ada", emails=[{"value": "ada@acme.test"}])
    assert user["emails"][0]["primary"] is True
