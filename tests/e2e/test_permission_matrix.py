"""Who may change whom, by every path: the permission matrix of practitioner management.

Every state-changing route of /admin/practitioners and /admin/provisioning, and every SCIM
write, by every kind of actor, against every kind of target. The expected answer of each cell
is written in the tables below; each cell is one test, which checks the status, that a refused
request changed nothing at all, and that an allowed one did what it says.

The rule (domain.authority): only the account owner changes the owner or anyone holding a
module right; a holder of the Practitioners right reaches plain practitioners only; nobody
deactivates or deletes the owner, not even the owner's own token; nobody deactivates
themselves; only the owner grants rights. A SCIM token acts for the person who created it; a
token from before tokens recorded their creator reaches plain practitioners only.

People of the practice acme:
  owner    the account owner
  clerk    holds the Practitioners right
  auditor  holds the Authentication right
  pat      a plain practitioner (an actor)
  holder   holds the Authentication right (a target: "rights holder")
  ann      a plain practitioner (a target: "plain")
and beta, another practice, whose owner is "other admin".

Targets: self (the actor themselves), owner, holder, ann. "-" marks a cell that does not exist
(the other practice's admin and a creator-less token have no self in acme).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
import webtest
from sqlalchemy import Engine, select

from adapters.db.schema import (
    audit_events,
    identity_links,
    password_reset_tokens,
    practitioners,
    scim_groups,
    scim_tokens,
    tenants,
    web_sessions,
)
from domain.passwords.recovery import OwnerRecovery
from domain.passwords.reset_token import PasswordResetToken, ResetPurpose
from domain.ports import IdentityLinkRepository, IdentityProviderRepository
from domain.ports import PasswordResetTokenRepository, PractitionerRepository
from domain.sso.identity import IdentityLink
from domain.sso.provider import IdentityProvider, ProviderSettings
from domain.practitioners.directory import PractitionerDirectory
from domain.provisioning.tokens import ProvisioningTokens
from domain.tenancy.onboarding import TenantOnboarding
from domain.tenancy.tenant import RoleMapping
from domain.practitioners.rights import ModuleRight
from tests.e2e.conftest import PASSWORD, Portal

PRACTITIONERS_PAGE = "/admin/practitioners"
PROVISIONING_PAGE = "/admin/provisioning"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


# --- the expected answers -------------------------------------------------------------------

# /admin/practitioners, per target. 303: done, back to the list; 403: refused (the page's ACL,
# or the rule); 404: no such practitioner in the actor's own practice.
PAGES_BY_TARGET = """
route        actor        self  owner  holder  ann
deactivate   owner        403   403    303     303
deactivate   clerk        403   403    403     303
deactivate   auditor      403   403    403     403
deactivate   pat          403   403    403     403
deactivate   other-admin  -     404    404     404
reactivate   owner        303   303    303     303
reactivate   clerk        403   403    403     303
reactivate   auditor      403   403    403     403
reactivate   pat          403   403    403     403
reactivate   other-admin  -     404    404     404
rights       owner        303   303    303     303
rights       clerk        403   403    403     403
rights       auditor      403   403    403     403
rights       pat          403   403    403     403
rights       other-admin  -     404    404     404
"""

# Routes without a practitioner as target. 200: the new token is shown; the other admin acts on
# their own practice's page, where acme's token ids name nothing (adding there is no attack on acme).
PAGES_WITHOUT_TARGET = """
route                 owner  clerk  auditor  pat  other-admin
add                   303    303    403      403  -
add-with-a-right      303    403    403      403  -
create-token          200    200    403      403  -
revoke-owners-token   303    303    403      403  404
revoke-clerks-token   303    303    403      403  404
"""

# SCIM writes on /scim/v2/Users/{id}. "mutability" is the scimType of the 403. Actors: a token
# made by the owner, by the clerk, one made before tokens recorded their creator ("legacy"),
# the other practice's token on acme's host, and the owner's logged-in browser without a token.
# The auditor and pat cannot make a token at all (create-token above).
SCIM_BY_TARGET = """
operation         actor          self             owner            holder  ann
PUT               owner-token    200              200              200     200
PUT               clerk-token    403              403              403     200
PUT               legacy-token   -                403              403     200
PUT               other-token    -                401              401     401
PUT               owner-session  401              401              401     401
PATCH-name        owner-token    200              200              200     200
PATCH-name        clerk-token    403              403              403     200
PATCH-name        legacy-token   -                403              403     200
PATCH-name        other-token    -                401              401     401
PATCH-name        owner-session  401              401              401     401
PATCH-inactive    owner-token    403-mutability   403-mutability   200     200
PATCH-inactive    clerk-token    403-mutability   403-mutability   403     200
PATCH-inactive    legacy-token   -                403-mutability   403     200
PATCH-inactive    other-token    -                401              401     401
PATCH-inactive    owner-session  401              401              401     401
PATCH-email       owner-token    200              200              200     200
PATCH-email       clerk-token    403              403              403     200
PATCH-email       legacy-token   -                403              403     200
PATCH-email       other-token    -                401              401     401
PATCH-email       owner-session  401              401              401     401
PATCH-externalId  owner-token    200              200              200     200
PATCH-externalId  clerk-token    403              403              403     200
PATCH-externalId  legacy-token   -                403              403     200
PATCH-externalId  other-token    -                401              401     401
PATCH-externalId  owner-session  401              401              401     401
DELETE            owner-token    403              403              204     204
DELETE            clerk-token    403              403              403     204
DELETE            legacy-token   -                403              403     204
DELETE            other-token    -                401              401     401
DELETE            owner-session  401              401              401     401
"""

# POST /scim/v2/Users creates a plain practitioner (SCIM grants no rights): no target.
SCIM_POST = """
owner-token  clerk-token  legacy-token  other-token  owner-session
201          201          201           401          401
"""


def cells(table: str) -> list[tuple[str, str, str, str]]:
    """(route, actor, target, answer) for every cell of a table with targets as columns."""
    header, *rows = [line.split() for line in table.strip().splitlines()]
    return [
        (row[0], row[1], target, answer) for row in rows for target, answer in zip(header[2:], row[2:]) if answer != "-"
    ]


def cells_by_actor(table: str) -> list[tuple[str, str, str]]:
    """(route, actor, answer) for a table with actors as columns."""
    header, *rows = [line.split() for line in table.strip().splitlines()]
    return [(row[0], actor, answer) for row in rows for actor, answer in zip(header[1:], row[1:]) if answer != "-"]


def post_cells() -> list[tuple[str, str]]:
    actors, answers = [line.split() for line in SCIM_POST.strip().splitlines()]
    return list(zip(actors, answers))


# --- the practice, freshly set up for each cell -----------------------------------------------

PEOPLE = {  # name -> (rights, is an actor who logs in)
    "clerk": (frozenset({ModuleRight.PRACTITIONERS}), True),
    "auditor": (frozenset({ModuleRight.AUTHENTICATION}), True),
    "pat": (frozenset(), True),
    "holder": (frozenset({ModuleRight.AUTHENTICATION}), False),
    "ann": (frozenset(), False),
}


@dataclass
class Practice:
    portal: Portal
    engine: Engine
    ids: dict[str, str]  # person -> practitioner id ("other-admin": beta's owner)
    tokens: dict[str, str]  # actor name -> bearer token
    token_ids: dict[str, str]  # "owner" / "clerk" -> id of the token they made

    def email(self, person: str) -> str:
        return "owner@beta.test" if person == "other-admin" else f"{person}@acme.test"

    def target_id(self, actor: str, target: str) -> str:
        return self.ids[actor.removesuffix("-token").removesuffix("-session") if target == "self" else target]

    def browser(self, actor: str) -> webtest.TestApp:
        """The actor's logged-in browser on their own practice's host."""
        browser = self.portal.browser("beta" if actor == "other-admin" else "acme")
        self.portal.log_in(browser, self.email(actor))
        return browser

    def state(self) -> dict[str, list[tuple[Any, ...]]]:
        """Everything a practitioner-management request may change, in both practices."""
        with self.engine.connect() as connection:
            return {
                table.name: sorted(tuple(row) for row in connection.execute(select(*columns)))
                for table, columns in [
                    (practitioners, [practitioners]),
                    (scim_tokens, [scim_tokens]),
                    (identity_links, [identity_links]),
                    (audit_events, [audit_events]),
                    (password_reset_tokens, [password_reset_tokens]),
                    # Session rows are rewritten as pages are read; which practitioners have one is what counts.
                    (web_sessions, [web_sessions.c.practitioner_id]),
                ]
            }

    def practitioner(self, practitioner_id: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(select(practitioners).where(practitioners.c.id == practitioner_id)).one_or_none()

    def practitioner_by_email(self, email: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(select(practitioners).where(practitioners.c.email == email)).one_or_none()

    def token_named(self, name: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(select(scim_tokens).where(scim_tokens.c.name == name)).one_or_none()

    def token(self, token_id: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(select(scim_tokens).where(scim_tokens.c.id == token_id)).one()


@pytest.fixture
def practice(portal: Portal, engine: Engine) -> Practice:
    """Acme with its people and tokens, and beta, set up in one unit of work as the CLI would."""
    with portal.unit_of_work() as request:
        onboarding = request.find_service(TenantOnboarding)
        directory = request.find_service(PractitionerDirectory)
        tokens = request.find_service(ProvisioningTokens)
        acme = onboarding.open_tenant("acme", "Acme Practice", "owner@acme.test", PASSWORD)
        beta = onboarding.open_tenant("beta", "Beta Clinic", "owner@beta.test", PASSWORD)
        owner = acme.owner
        ids = {"owner": owner.id, "other-admin": beta.owner.id}
        people = {"owner": owner}
        for name, (rights, logs_in) in PEOPLE.items():
            people[name] = directory.add(
                owner,
                acme.tenant,
                f"{name}@acme.test",
                name.title(),
                "Acme",
                password=PASSWORD if logs_in else "",
                rights=rights,
            )
            ids[name] = people[name].id
        made = {
            "owner-token": tokens.create(acme.tenant, "Owner's token", owner),
            "clerk-token": tokens.create(acme.tenant, "Clerk's token", people["clerk"]),
            "legacy-token": tokens.create(acme.tenant, "Legacy token", owner),
            "other-token": tokens.create(beta.tenant, "Beta's token", beta.owner),
        }
        made["legacy-token"][0].created_by = None  # as migration 0007 leaves the tokens made before it
    return Practice(
        portal,
        engine,
        ids,
        {actor: secret for actor, (_, secret) in made.items()},
        {"owner": made["owner-token"][0].id, "clerk": made["clerk-token"][0].id},
    )


def csrf(browser: webtest.TestApp) -> str:
    return str(browser.cookies["portal_csrf"])


# --- /admin/practitioners and /admin/provisioning ------------------------------------------


@dataclass(frozen=True)
class PageRoute:
    path: str
    fields: Callable[[Practice, str], dict[str, str]]  # (practice, target id) -> form fields
    done: Callable[[Practice, str], bool]  # did the allowed request do its work?
    prepare: Callable[[Practice], None] = lambda practice: None


def _deactivate_targets(practice: Practice) -> None:
    """Reactivation needs someone deactivated: the targets that can be (never the owner or an actor)."""
    with practice.portal.unit_of_work() as request:
        tenant = request.find_service(TenantOnboarding).tenant("acme")
        directory = request.find_service(PractitionerDirectory)
        owner = request.find_service(TenantOnboarding).owner_of(tenant)
        for name in ("holder", "ann"):
            directory.deactivate(owner, tenant, practice.ids[name])


PAGE_ROUTES = {
    "deactivate": PageRoute(
        PRACTITIONERS_PAGE,
        lambda p, target: {"action": "deactivate", "practitioner_id": target},
        lambda p, target: p.practitioner(target).active is False,
    ),
    "reactivate": PageRoute(
        PRACTITIONERS_PAGE,
        lambda p, target: {"action": "reactivate", "practitioner_id": target},
        lambda p, target: p.practitioner(target).active is True,
        _deactivate_targets,
    ),
    "rights": PageRoute(
        PRACTITIONERS_PAGE,
        lambda p, target: {"action": "rights", "practitioner_id": target, "rights": ModuleRight.PRACTITIONERS.value},
        lambda p, target: p.practitioner(target).rights == frozenset({ModuleRight.PRACTITIONERS}),
    ),
    "add": PageRoute(
        PRACTITIONERS_PAGE,
        lambda p, _: {"action": "add", "email": "new@acme.test", "first_name": "New", "last_name": "Person"},
        lambda p, _: p.practitioner_by_email("new@acme.test") is not None,
    ),
    "add-with-a-right": PageRoute(
        PRACTITIONERS_PAGE,
        lambda p, _: {
            "action": "add",
            "email": "new@acme.test",
            "first_name": "New",
            "last_name": "Person",
            "rights": ModuleRight.AUTHENTICATION.value,
        },
        lambda p, _: p.practitioner_by_email("new@acme.test").rights == frozenset({ModuleRight.AUTHENTICATION}),
    ),
    "create-token": PageRoute(
        PROVISIONING_PAGE,
        lambda p, _: {"action": "create", "name": "New token"},
        lambda p, _: p.token_named("New token") is not None,
    ),
    "revoke-owners-token": PageRoute(
        PROVISIONING_PAGE,
        lambda p, _: {"action": "revoke", "token_id": p.token_ids["owner"]},
        lambda p, _: p.token(p.token_ids["owner"]).revoked_at is not None,
    ),
    "revoke-clerks-token": PageRoute(
        PROVISIONING_PAGE,
        lambda p, _: {"action": "revoke", "token_id": p.token_ids["clerk"]},
        lambda p, _: p.token(p.token_ids["clerk"]).revoked_at is not None,
    ),
}


def check_page_cell(practice: Practice, route_name: str, actor: str, target_id: str, answer: str) -> None:
    route = PAGE_ROUTES[route_name]
    route.prepare(practice)
    browser = practice.browser(actor)
    before = practice.state()
    response = browser.post(route.path, {"csrf_token": csrf(browser), **route.fields(practice, target_id)}, status="*")
    assert response.status_int == int(answer), response.text[:2000]
    if answer == "303":  # done: back to the page it came from, never to the login
        assert response.location.split("?")[0].endswith(route.path)
    if answer in ("200", "303"):
        assert route.done(practice, target_id)
    else:
        assert practice.state() == before


@pytest.mark.parametrize("route, actor, target, answer", cells(PAGES_BY_TARGET))
def test_practitioner_pages_answer_as_the_matrix_says(practice, route, actor, target, answer):
    check_page_cell(practice, route, actor, practice.target_id(actor, target), answer)


@pytest.mark.parametrize("route, actor, answer", cells_by_actor(PAGES_WITHOUT_TARGET))
def test_adding_and_token_routes_answer_as_the_matrix_says(practice, route, actor, answer):
    check_page_cell(practice, route, actor, "", answer)


# --- SCIM ------------------------------------------------------------------------------------


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@dataclass(frozen=True)
class ScimOperation:
    method: str
    body: Callable[[Any], Any]  # the target's row -> the request body (None: none)
    done: Callable[[Any], bool]  # the target's row afterwards (None: deleted) -> did it happen?


SCIM_OPERATIONS = {
    "PUT": ScimOperation(
        "PUT",
        lambda row: {
            "schemas": [USER],
            "userName": row.email,
            "name": {"givenName": "Renamed", "familyName": row.last_name},
            "emails": [{"value": row.email, "primary": True}],
            "active": row.active,
        },
        lambda row: row.first_name == "Renamed",
    ),
    "PATCH-name": ScimOperation(
        "PATCH",
        lambda row: _patch({"op": "replace", "path": "name.givenName", "value": "Renamed"}),
        lambda row: row.first_name == "Renamed",
    ),
    "PATCH-inactive": ScimOperation(
        "PATCH",
        lambda row: _patch({"op": "replace", "path": "active", "value": False}),
        lambda row: row.active is False,
    ),
    # The take-over of the issue: an email of the attacker's, then a password reset.
    "PATCH-email": ScimOperation(
        "PATCH",
        lambda row: _patch(
            {"op": "replace", "path": "emails", "value": [{"value": "mine@evil.test", "primary": True}]}
        ),
        lambda row: row.email == "mine@evil.test",
    ),
    "PATCH-externalId": ScimOperation(
        "PATCH",
        lambda row: _patch({"op": "replace", "path": "externalId", "value": "an-identity-i-control"}),
        lambda row: row.external_id == "an-identity-i-control",
    ),
    "DELETE": ScimOperation("DELETE", lambda row: None, lambda row: row is None),
}


def scim_client(practice: Practice, actor: str) -> tuple[webtest.TestApp, dict[str, str]]:
    """The browser to send with (on acme's host) and its headers: a bearer token, or only the owner's session cookie."""
    if actor == "owner-session":
        return practice.browser("owner"), {}
    return practice.portal.browser("acme"), {"Authorization": f"Bearer {practice.tokens[actor]}"}


def scim_request(
    browser: webtest.TestApp, headers: dict[str, str], method: str, path: str, body: Any
) -> webtest.TestResponse:
    kwargs: dict[str, Any] = {"headers": headers, "status": "*", "expect_errors": True}
    if body is not None:
        kwargs.update(params=json.dumps(body), content_type="application/scim+json")
    return getattr(browser, method.lower())("/scim/v2" + path, **kwargs)  # TestApp.get, .post, .patch...


def assert_answer(response: webtest.TestResponse, answer: str) -> None:
    status, _, scim_type = answer.partition("-")
    assert response.status_int == int(status), response.text
    if response.status_int >= 400:
        body = response.json
        assert body["schemas"] == [ERROR] and body["status"] == status and body["detail"], body
        assert body.get("scimType") == (scim_type or None), body


@pytest.mark.parametrize("operation, actor, target, answer", cells(SCIM_BY_TARGET))
def test_scim_writes_answer_as_the_matrix_says(practice, operation, actor, target, answer):
    op = SCIM_OPERATIONS[operation]
    target_id = practice.target_id(actor, target)
    browser, headers = scim_client(practice, actor)
    before = practice.state()
    response = scim_request(
        browser, headers, op.method, f"/Users/{target_id}", op.body(practice.practitioner(target_id))
    )
    assert_answer(response, answer)
    if response.status_int < 300:
        assert op.done(practice.practitioner(target_id))
    else:
        assert practice.state() == before


@pytest.mark.parametrize("actor, answer", post_cells())
def test_scim_creates_answer_as_the_matrix_says(practice, actor, answer):
    browser, headers = scim_client(practice, actor)
    before = practice.state()
    body = {"schemas": [USER], "userName": "new@acme.test", "name": {"givenName": "New", "familyName": "Person"}}
    response = scim_request(browser, headers, "POST", "/Users", body)
    assert_answer(response, answer)
    if response.status_int < 300:
        assert practice.practitioner_by_email("new@acme.test").rights == frozenset()
    else:
        assert practice.state() == before


# POST /scim/v2/Groups where the practice applies roles (a group "Admins" gives the Practitioners
# right): any working token keeps groups, but only one that may grant rights (the owner's) gives
# rights through them. Nothing is written when refused.
SCIM_GROUPS = """
group    owner-token  clerk-token  legacy-token  other-token  owner-session
Nurses   201          201          201           401          401
Admins   201          403          403           401          401
"""


@pytest.mark.parametrize("group, actor, answer", cells_by_actor(SCIM_GROUPS))
def test_scim_group_writes_answer_as_the_matrix_says(practice, group, actor, answer):
    with practice.portal.unit_of_work() as request:
        tenant = request.find_service(TenantOnboarding).tenant("acme")
        tenant.auth = tenant.auth.but(
            roles_claim="groups",
            role_mappings=(RoleMapping("Admins", ModuleRight.PRACTITIONERS),),
            roles_from_provider=True,
        )
    browser, headers = scim_client(practice, actor)
    before = practice.state()
    body = {"schemas": [GROUP], "displayName": group, "members": [{"value": practice.ids["ann"]}]}
    response = scim_request(browser, headers, "POST", "/Groups", body)
    assert_answer(response, answer)
    with practice.engine.connect() as connection:
        groups = connection.execute(select(scim_groups.c.display_name)).scalars().all()
    if response.status_int < 300:
        assert groups == [group]
        granted = frozenset({ModuleRight.PRACTITIONERS}) if group == "Admins" else frozenset()
        assert practice.practitioner(practice.ids["ann"]).rights == granted
    else:
        assert groups == [] and practice.state() == before


# --- a token works only while its creator may act --------------------------------------------


def owner_acts_on_clerk(practice: Practice, change: str) -> None:
    """The owner ends the clerk's power by the ordinary paths: the page, or their own SCIM token."""
    if change == "deleted":
        browser, headers = scim_client(practice, "owner-token")
        assert scim_request(browser, headers, "DELETE", f"/Users/{practice.ids['clerk']}", None).status_int == 204
        return
    fields = {"deactivated": {"action": "deactivate"}, "demoted": {"action": "rights"}}[change]
    browser = practice.browser("owner")
    browser.post(
        PRACTITIONERS_PAGE,
        {"csrf_token": csrf(browser), "practitioner_id": practice.ids["clerk"], **fields},
        status=303,
    )


@pytest.mark.parametrize(
    "change, reason",
    [
        ("deactivated", "is deactivated"),
        ("demoted", "no longer holds the Practitioners right"),
        ("deleted", "no longer exists"),
    ],
)
def test_a_token_stops_working_when_its_creator_is_deactivated_demoted_or_deleted(practice, change, reason):
    owner_acts_on_clerk(practice, change)
    browser, headers = scim_client(practice, "clerk-token")
    before = practice.state()
    for method, path, body in [
        ("GET", "/Users", None),
        ("PATCH", f"/Users/{practice.ids['ann']}", _patch({"op": "replace", "path": "active", "value": False})),
        ("POST", "/Users", {"schemas": [USER], "userName": "new@acme.test"}),
    ]:
        response = scim_request(browser, headers, method, path, body)
        assert_answer(response, "403")
        assert reason in response.json["detail"]
    assert practice.state() == before
    listed = practice.browser("owner").get(PROVISIONING_PAGE)
    (row,) = [
        tr for tr in listed.html.find("table", id="tokens").tbody.find_all("tr") if "Clerk's token" in tr.get_text()
    ]
    assert f"refused: the practitioner who created this token {reason}" in " ".join(row.get_text(" ").split())
    if change == "deleted":
        assert "a deleted practitioner" in row.get_text()


def test_a_token_works_again_once_its_creator_is_reactivated(practice):
    owner_acts_on_clerk(practice, "deactivated")
    browser = practice.browser("owner")
    browser.post(
        PRACTITIONERS_PAGE,
        {"csrf_token": csrf(browser), "action": "reactivate", "practitioner_id": practice.ids["clerk"]},
        status=303,
    )
    client, headers = scim_client(practice, "clerk-token")
    assert scim_request(client, headers, "GET", "/Users", None).status_int == 200


# --- the owner's recovery link ----------------------------------------------------------------

# POST /recover/{token} with the password, by whoever presents the link (the link is the
# credential), for a link naming each person. The command line only ever makes the owner's
# (tests/e2e/test_recovery.py); the others are rows no path of the portal writes. 303: signed in
# as the owner; 404: the link opens nothing, on acme's host or on beta's.
RECOVERY_BY_SUBJECT = """
route    actor        owner  clerk  holder  ann
recover  anonymous    303    404    404     404
recover  clerk        303    404    404     404
recover  pat          303    404    404     404
recover  other-admin  404    404    404     404
"""


def recovery_link(practice: Practice, subject: str) -> str:
    if subject == "owner":
        with practice.portal.unit_of_work() as request:
            request.find_service(OwnerRecovery).send_link(request.find_service(TenantOnboarding).tenant("acme"))
        return "/" + practice.portal.mails()[-1].link().split("/", 3)[3]
    token = f"a-recovery-link-for-{subject}-" + "x" * 20
    with practice.portal.unit_of_work() as request:
        tenant = request.find_service(TenantOnboarding).tenant("acme")
        person = request.find_service(PractitionerRepository).get(tenant.id, practice.ids[subject])
        issued = PasswordResetToken.issue(person, token, ResetPurpose.RECOVERY, datetime.now(timezone.utc))
        request.find_service(PasswordResetTokenRepository).add(issued)
    return f"/recover/{token}"


@pytest.mark.parametrize("route, actor, subject, answer", cells(RECOVERY_BY_SUBJECT))
def test_recovery_links_answer_as_the_matrix_says(practice, route, actor, subject, answer):
    path = recovery_link(practice, subject)
    browser = practice.portal.browser("acme") if actor == "anonymous" else practice.browser(actor)
    browser.get("/login", status="*")  # the CSRF cookie
    before = practice.state()
    response = browser.post(path, {"csrf_token": csrf(browser), "password": PASSWORD}, status="*")
    assert response.status_int == int(answer), response.text[:2000]
    if answer == "303":
        assert browser.get("/admin/authentication", status=200)  # the owner's page: the browser is the owner's now
    else:
        assert practice.state() == before


# --- /admin/audit: the Authentication module's ------------------------------------------------

# 200: shown (the page, the CSV download); 303: the retention saved, back to the page; 403:
# refused by the page's ACL. The other practice's admin opens their own practice's page, where
# acme's events are not (tests/e2e/test_audit_trail.py shows it), so it has no column here.
AUDIT_BY_ACTOR = """
route      owner  clerk  auditor  pat
page       200    403    200      403
download   200    403    200      403
retention  303    403    303      403
"""


def audit_retention(practice: Practice) -> int:
    with practice.engine.connect() as connection:
        return connection.scalar(select(tenants.c.audit_retention_days).where(tenants.c.slug == "acme"))  # type: ignore[no-any-return]


@pytest.mark.parametrize("route, actor, answer", cells_by_actor(AUDIT_BY_ACTOR))
def test_the_audit_pages_answer_as_the_matrix_says(practice, route, actor, answer):
    browser = practice.browser(actor)
    before = practice.state()
    if route == "retention":
        fields = {"csrf_token": csrf(browser), "audit_retention_days": "90"}
        response = browser.post("/admin/audit", fields, status="*")
    else:
        response = browser.get({"page": "/admin/audit", "download": "/admin/audit.csv"}[route], status="*")
    assert response.status_int == int(answer), response.text[:2000]
    assert audit_retention(practice) == (90 if answer == "303" else 365)
    if answer == "403":
        assert practice.state() == before and "owner@acme.test" not in response.text


# --- /admin/practitioners/{id}: one practitioner's page ---------------------------------------

# 200: the page is shown; 303: done, back to the page; 403: refused (the page's ACL, or the rule);
# 404: no such practitioner in the actor's own practice. "unlink" removes the target's one Single
# Sign On link (the last-way-in confirmation ticked); "email" asks for a new address.
PRACTITIONER_PAGE_BY_TARGET = """
route   actor        self  owner  holder  ann
view    owner        200   200    200     200
view    clerk        200   200    200     200
view    auditor      403   403    403     403
view    pat          403   403    403     403
view    other-admin  -     404    404     404
unlink  owner        303   303    303     303
unlink  clerk        403   403    403     303
unlink  auditor      403   403    403     403
unlink  pat          403   403    403     403
unlink  other-admin  -     404    404     404
email   owner        303   303    303     303
email   clerk        403   403    403     303
email   auditor      403   403    403     403
email   pat          403   403    403     403
email   other-admin  -     404    404     404
"""


def link_everyone(practice: Practice) -> dict[str, str]:
    """One Single Sign On link for each person of acme, at a provider of acme's; person -> link id."""
    issuer = "https://idp.acme.test"
    settings = ProviderSettings("Contoso", "client", issuer, *(f"{issuer}/{p}" for p in ("a", "t", "k", "u")))
    with practice.portal.unit_of_work() as request:
        tenant = request.find_service(TenantOnboarding).tenant("acme")
        provider = IdentityProvider(tenant.id, settings, "sealed")
        request.find_service(IdentityProviderRepository).add(provider)
        links = {
            person: IdentityLink(tenant.id, pid, provider.id, issuer, f"sub-{person}", datetime.now(timezone.utc))
            for person, pid in practice.ids.items()
            if person != "other-admin"
        }
        for link in links.values():
            request.find_service(IdentityLinkRepository).add(link)
        return {person: link.id for person, link in links.items()}


def linked_subjects(practice: Practice, target_id: str) -> list[str]:
    with practice.engine.connect() as connection:
        return list(
            connection.scalars(select(identity_links.c.subject).where(identity_links.c.practitioner_id == target_id))
        )


@pytest.mark.parametrize("route, actor, target, answer", cells(PRACTITIONER_PAGE_BY_TARGET))
def test_a_practitioners_page_answers_as_the_matrix_says(practice, route, actor, target, answer):
    link_ids = link_everyone(practice)
    target_id = practice.target_id(actor, target)
    person = next(name for name, pid in practice.ids.items() if pid == target_id)
    browser = practice.browser(actor)
    before = practice.state()
    path = f"{PRACTITIONERS_PAGE}/{target_id}"
    if route == "view":
        response = browser.get(path, status="*")
    else:
        fields = {
            "unlink": {"link_id": link_ids[person], "confirm_last_way_in": "yes"},
            "email": {"email": "new@home.test"},
        }
        response = browser.post(path, {"csrf_token": csrf(browser), "action": route, **fields[route]}, status="*")
    assert response.status_int == int(answer), response.text[:2000]
    if answer == "200":
        assert practice.email(person) in response.text
    elif answer == "303":
        assert response.location.endswith(path)
        done = {
            "unlink": linked_subjects(practice, target_id) == [],
            "email": practice.practitioner(target_id).pending_email == "new@home.test",
        }
        assert done[route]
    else:
        assert practice.state() == before
        if actor not in ("owner", "clerk"):  # who may not see the page sees nothing of the practitioner
            assert practice.email(person) not in response.text


# /email/confirm/{token}: the link is the credential, whoever presents it; it opens only on its own
# practice's host. 200: confirmed; 404: the link opens nothing there.
EMAIL_CONFIRM_BY_ACTOR = """
route    anonymous  pat  owner  other-admin
confirm  200        200  200    404
"""


@pytest.mark.parametrize("route, actor, answer", cells_by_actor(EMAIL_CONFIRM_BY_ACTOR))
def test_an_email_confirmation_link_answers_as_the_matrix_says(practice, route, actor, answer):
    owner = practice.browser("owner")
    path = f"{PRACTITIONERS_PAGE}/{practice.ids['ann']}"
    owner.post(path, {"csrf_token": csrf(owner), "action": "email", "email": "new@home.test"}, status=303)
    link = "/" + practice.portal.mails()[-1].link().split("/", 3)[3]
    browser = practice.portal.browser("acme") if actor == "anonymous" else practice.browser(actor)
    browser.get("/login", status="*")  # the CSRF cookie
    before = practice.state()
    response = browser.post(link, {"csrf_token": csrf(browser)}, status="*")
    assert response.status_int == int(answer), response.text[:2000]
    if answer == "200":
        assert practice.practitioner(practice.ids["ann"]).email == "new@home.test"
    else:
        assert practice.state() == before


# --- Test sign-in: the Authentication module's --------------------------------------------------

# POST /admin/authentication action=test for acme's provider. 303: off to the provider (nothing
# written: the test lives in the browser's session); 403: refused by the page's ACL; 404: the
# other practice's admin names a provider their practice does not have.
TEST_SIGN_IN_BY_ACTOR = """
route  owner  clerk  auditor  pat  other-admin
test   303    403    303      403  404
"""


@pytest.mark.parametrize("route, actor, answer", cells_by_actor(TEST_SIGN_IN_BY_ACTOR))
def test_starting_a_test_sign_in_answers_as_the_matrix_says(practice, route, actor, answer):
    issuer = "https://idp.acme.test"
    settings = ProviderSettings("Contoso", "client", issuer, *(f"{issuer}/{p}" for p in ("a", "t", "k", "u")))
    with practice.portal.unit_of_work() as request:
        provider = IdentityProvider(request.find_service(TenantOnboarding).tenant("acme").id, settings, "sealed")
        request.find_service(IdentityProviderRepository).add(provider)
    browser = practice.browser(actor)
    before = practice.state()
    fields = {"csrf_token": csrf(browser), "action": route, "provider_id": provider.id}
    response = browser.post("/admin/authentication", fields, status="*")
    assert response.status_int == int(answer), response.text[:2000]
    if answer == "303":
        assert response.location.startswith(f"{issuer}/a?")
    assert practice.state() == before


# --- The identity provider's routes: public, the provider (not a practitioner) calls them ---------

# The same answer whoever asks, and nothing written: /sso/logged-out without the state of this
# browser's logout is refused (400); a logout token that is not one is refused (400, JSON); a
# sign-in started for an issuer the practice does not have is refused (400). What they accept is
# tested in tests/e2e/test_sso_logout.py.
PROVIDER_ROUTES_BY_ACTOR = """
route       anonymous  owner  clerk  pat  other-admin
logged_out  400        400    400    400  400
backchannel 400        400    400    400  400
initiate    400        400    400    400  400
"""


@pytest.mark.parametrize("route, actor, answer", cells_by_actor(PROVIDER_ROUTES_BY_ACTOR))
def test_the_providers_routes_answer_as_the_matrix_says(practice, route, actor, answer):
    browser = practice.portal.browser("acme") if actor == "anonymous" else practice.browser(actor)
    before = practice.state()
    if route == "backchannel":
        response = browser.post("/sso/backchannel-logout", {"logout_token": "a.b.c"}, status="*")
    else:
        path = {"logged_out": "/sso/logged-out?state=x", "initiate": "/sso/initiate?iss=https://idp.acme.test"}[route]
        response = browser.get(path, status="*")
    assert response.status_int == int(answer), response.text[:2000]
    assert practice.state() == before
