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
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
import webtest
from pyramid.interfaces import IRoutesMapper
from sqlalchemy import Engine, select

from adapters.db.schema import (
    audit_events,
    identity_links,
    identity_providers,
    link_challenges,
    mail_outbox,
    password_reset_tokens,
    practitioners,
    scim_group_members,
    scim_groups,
    scim_tokens,
    tenants,
    web_sessions,
)
from domain.audit import AuditCursor, AuditReport
from domain.errors import NotAllowed
from domain.practitioners.linked_identities import LinkedIdentities
from domain.provisioning.users import Provisioning
from domain.sso.administration import ProviderAdministration
from domain.sso.sign_in import SingleSignOn
from domain.tenancy.login_policy import LoginPolicy, LoginPolicyAdministration
from domain.tenancy.practice_settings import PracticeSettings
from domain.tenancy.tenant import UnknownIdentityHandling, Workflow
from domain.practitioners.authority import Authority
from domain.provisioning.groups import GroupProvisioning
from domain.provisioning.scim_group import GroupValues
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


# --- Every other route, by every actor -----------------------------------------------------------

# The routes the tables above leave out, and those tables' routes by the actors they leave out.
# Besides acme's people, three more actors:
#   anonymous     a browser on acme's host with no session
#   other-cookie  a browser on acme's host carrying the session cookie of beta's owner: a session
#                 is its own practice's only, so on acme's host it is nobody
#   other-admin   beta's owner on beta's own host, naming acme's objects by their ids
# 200: shown; 303: done (or on to where the route leads); 400: refused input (for an admin's page:
# let in, and the input refused); 401: the login refused; 403: refused by the page's ACL or the
# rule; 404: no such object where the asker is; login: sent to the login page (303), nothing
# written; 200-unchanged: answered as for anyone, and nothing written. "-": a cell the tables above
# hold, or one without an object of acme's to name (the other admin's own practice is theirs).
ROUTES_BY_ACTOR = """
route                         anonymous  other-cookie  pat    clerk  auditor  owner  other-admin
home                          login      login         200    200    200      200    -
language                      303        303           303    303    303      303    -
login-page                    200        200           303    303    303      303    -
log-in-as-pat                 303        303           303    303    303      303    401
log-out                       login      login         303    303    303      303    -
account                       login      login         200    200    200      200    -
account-save                  login      login         303    303    303      303    -
account-language              login      login         303    303    303      303    -
linked-accounts               login      login         200    200    200      200    -
unlink-own-link               login      login         303    303    303      303    -
unlink-anns-link              login      login         404    404    404      404    404
register-page                 404        404           404    404    404      404    -
register                      404        404           404    404    404      404    -
forgot-page                   200        200           200    200    200      200    -
forgot-for-pat                200        200           200    200    200      200    200-unchanged
reset-page                    200        200           200    200    200      200    404
reset                         303        303           303    303    303      303    404
recover-page                  200        200           200    200    200      200    404
recover                       -          303           -      -      -        -      -
confirm-email-page            200        200           200    200    200      200    404
confirm-email                 -          200           -      -      -        -      -
sso-start                     303        303           303    303    303      303    404
sso-start-to-link             login      login         303    303    303      303    404
sso-start-betas-provider      404        404           404    404    404      404    -
sso-callback                  400        400           400    400    400      400    -
sso-link-page                 400        400           400    400    400      400    -
sso-link                      400        400           400    400    400      400    -
sso-initiate-post             303        303           303    303    303      303    -
sso-initiate                  303        303           303    303    303      303    -
sso-initiate-betas-issuer     400        400           400    400    400      400    -
providers-page                login      login         403    403    200      200    404
discover                      login      login         403    403    400      400    -
save-new-provider             login      login         403    403    303      303    -
save-provider                 login      login         403    403    303      303    404
save-betas-provider           login      login         403    403    404      404    -
providers-page-of-beta        login      login         403    403    404      404    -
discover-at-betas-provider    login      login         403    403    404      404    -
enable-betas-provider         login      login         403    403    404      404    -
remove-betas-provider         login      login         403    403    404      404    -
test-betas-provider           login      login         403    403    404      404    -
enable-provider               login      login         403    403    303      303    404
disable-provider              login      login         403    403    303      303    404
remove-provider               login      login         403    403    303      303    404
test-sign-in                  login      login         -      -      -        -      -
unknown-provider-action       login      login         403    403    400      400    -
policy-page                   login      login         403    403    200      200    -
save-policy                   login      login         403    403    303      303    -
preview-policy                login      login         403    403    200      200    -
unknown-policy-action         login      login         403    403    400      400    -
practice-page                 login      login         403    403    200      200    -
save-practice                 login      login         403    403    303      303    -
audit-page                    login      login         -      -      -        -      200-unchanged
audit-download                login      login         -      -      -        -      200-unchanged
audit-retention               login      login         -      -      -        -      -
practitioners-page            login      login         403    200    403      200    -
search-for-beta               login      login         403    200-unchanged  403  200-unchanged  -
add                           login      login         -      -      -        -      -
deactivate                    login      login         -      -      -        -      -
deactivate-betas-owner        login      login         403    404    403      404    -
reactivate                    login      login         -      -      -        -      -
rights                        login      login         -      -      -        -      -
unknown-practitioners-action  login      login         403    400    403      400    -
practitioner-page             login      login         -      -      -        -      -
unlink-by-admin               login      login         -      -      -        -      -
change-email                  login      login         -      -      -        -      -
practitioner-page-of-beta     login      login         403    404    403      404    -
change-betas-email            login      login         403    404    403      404    -
unlink-pats-link-at-ann       login      login         403    404    403      404    -
unknown-practitioner-action   login      login         403    400    403      400    404
provisioning-page             login      login         403    200    403      200    -
create-token                  login      login         -      -      -        -      -
revoke-token                  login      login         -      -      -        -      -
revoke-betas-token            login      login         403    404    403      404    -
scim-subject                  login      login         403    403    403      303    400
scim-subject-betas-provider   login      login         403    403    403      400    -
unknown-provisioning-action   login      login         403    400    403      400    -
"""

LOOPBACK = "http://127.0.0.1:9"  # a provider's address the server may name in development, never reached


@dataclass
class World:
    """Acme and beta with one of each object a route names by id: acme's providers Contoso
    (enabled, everyone linked to it) and Fabrikam (switched off, on loopback), beta's provider,
    a SCIM group in each practice, and the links mailed to acme's people, made when asked for."""

    practice: Practice
    providers: dict[str, str]  # "contoso", "fabrikam", "beta" -> provider id
    links: dict[str, str]  # acme person -> id of their Contoso link
    groups: dict[str, str]  # "acme", "beta" -> group id
    beta_token: str  # id of beta's SCIM token

    @property
    def ids(self) -> dict[str, str]:
        return self.practice.ids

    def reset_link(self, person: str) -> str:
        token = f"a-password-link-for-{person}-" + "x" * 20
        with self.practice.portal.unit_of_work() as request:
            tenant = request.find_service(TenantOnboarding).tenant("acme")
            someone = request.find_service(PractitionerRepository).get(tenant.id, self.ids[person])
            issued = PasswordResetToken.issue(someone, token, ResetPurpose.RESET, datetime.now(timezone.utc))
            request.find_service(PasswordResetTokenRepository).add(issued)
        return f"/password/reset/{token}"

    def email_link(self) -> str:
        """The link confirming ann's new address, new@home.test, as the owner asked for it."""
        owner = self.practice.browser("owner")
        fields = {"csrf_token": csrf(owner), "action": "email", "email": "new@home.test"}
        owner.post(f"{PRACTITIONERS_PAGE}/{self.ids['ann']}", fields, status=303)
        return "/" + self.practice.portal.mails()[-1].link().split("/", 3)[3]

    def acme_cursor(self) -> str:
        """A page link's cursor at acme's newest event."""
        with self.practice.engine.connect() as connection:
            at, event_id = connection.execute(
                select(audit_events.c.at, audit_events.c.id)
                .join(tenants, tenants.c.id == audit_events.c.tenant_id)
                .where(tenants.c.slug == "acme")
                .order_by(audit_events.c.at.desc())
                .limit(1)
            ).one()
        return AuditCursor(at, event_id).text()

    def row(self, table: Any, row_id: str) -> Any:
        with self.practice.engine.connect() as connection:
            return connection.execute(select(table).where(table.c.id == row_id)).one_or_none()

    def acme(self) -> Any:
        with self.practice.engine.connect() as connection:
            return connection.execute(select(tenants).where(tenants.c.slug == "acme")).one()

    def everything(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row a route may write, in both practices; a token's last use (written at most once
        a minute by any authenticated SCIM request) and the login throttle's counters aside."""
        token_columns = [c for c in scim_tokens.c if c.name != "last_used_at"]
        with self.practice.engine.connect() as connection:
            return {
                table.name: sorted((tuple(row) for row in connection.execute(select(*columns))), key=repr)
                for table, columns in [
                    (tenants, [tenants]),
                    (practitioners, [practitioners]),
                    (identity_providers, [identity_providers]),
                    (identity_links, [identity_links]),
                    (link_challenges, [link_challenges]),
                    (password_reset_tokens, [password_reset_tokens]),
                    (scim_tokens, token_columns),
                    (scim_groups, [scim_groups]),
                    (scim_group_members, [scim_group_members]),
                    (audit_events, [audit_events]),
                    (mail_outbox, [mail_outbox]),
                    (web_sessions, [web_sessions.c.tenant_id, web_sessions.c.practitioner_id]),
                ]
            }


def _provider(tenant_id: str, name: str, issuer: str, enabled: bool = True) -> IdentityProvider:
    settings = ProviderSettings(name, "client", issuer, *(f"{issuer}/{p}" for p in ("a", "t", "k", "u")))
    return IdentityProvider(tenant_id, replace(settings, enabled=enabled), "sealed")


@pytest.fixture
def world(practice: Practice) -> World:
    links = link_everyone(practice)  # and acme's provider Contoso
    with practice.portal.unit_of_work() as request:
        onboarding = request.find_service(TenantOnboarding)
        acme, beta = onboarding.tenant("acme"), onboarding.tenant("beta")
        providers = request.find_service(IdentityProviderRepository)
        contoso = providers.list(acme.id)[0]
        fabrikam = _provider(acme.id, "Fabrikam", f"{LOOPBACK}/fabrikam", enabled=False)
        betas = _provider(beta.id, "Beta's provider", "https://idp.beta.test")
        providers.add(fabrikam)
        providers.add(betas)
        groups = request.find_service(GroupProvisioning)
        acme_group = groups.create(
            acme,
            Authority.of(onboarding.owner_of(acme), acme),
            GroupValues("Nurses", None, frozenset({practice.ids["ann"]})),
        )
        beta_group = groups.create(beta, Authority.of(onboarding.owner_of(beta), beta), GroupValues("Beta's nurses"))
        ids = {"contoso": contoso.id, "fabrikam": fabrikam.id, "beta": betas.id}
        group_ids = {"acme": acme_group.id, "beta": beta_group.id}
    return World(practice, ids, links, group_ids, practice.token_named("Beta's token").id)


def client(practice: Practice, actor: str) -> webtest.TestApp:
    """The actor's browser, with the CSRF cookie; logged in on their own practice's host."""
    if actor not in ("anonymous", "other-cookie"):
        return practice.browser(actor)
    browser = practice.portal.browser("acme")
    browser.get("/login", status=200)  # the CSRF cookie
    if actor == "other-cookie":
        browser.set_cookie("portal_session", practice.browser("other-admin").cookies["portal_session"])
    return browser


@dataclass(frozen=True)
class Probe:
    method: str
    path: Callable[[World], str]
    fields: Callable[[World, str], dict[str, str]] = lambda world, actor: {}
    # An allowed request that writes: did it do its work? (world, actor, the browser, the answer)
    done: Callable[[World, str, webtest.TestApp, webtest.TestResponse], bool] | None = None
    shows: str | None = None  # what the page shows whom it lets in, and nobody else
    audits_refusal: bool = False  # a refusal is written to the audit trail (and nothing else)


def _me(world: World, actor: str) -> Any:
    return world.practice.practitioner(world.ids[actor])


def _logged_in_as(email: str) -> Callable[[World, str, webtest.TestApp, webtest.TestResponse], bool]:
    return lambda world, actor, browser, response: email in browser.get("/account", status=200).text


def _provider_fields(name: str, issuer: str, **extra: str) -> dict[str, str]:
    return {
        "action": "save",
        "display_name": name,
        "client_id": "client",
        "issuer": issuer,
        **{field: f"{issuer}/{p}" for field, p in (("authorization_endpoint", "a"), ("token_endpoint", "t"))},
        **{field: f"{issuer}/{p}" for field, p in (("jwks_uri", "k"), ("userinfo_endpoint", "u"))},
        "token_endpoint_auth_method": "client_secret_basic",
        **extra,
    }


def _policy_fields(**extra: str) -> dict[str, str]:
    mapped = {"claim-first_name": "given_name", "claim-last_name": "family_name", "claim-email": "email"}
    return {"workflow": "standard", "unknown_identity": "confirm_by_otp", **mapped, **extra}


def _page_route(name: str, target: str = "ann") -> Probe:
    """A route of the tables above, as its first allowed actor sends it."""
    route = PAGE_ROUTES[name]
    return Probe("POST", lambda world: route.path, lambda world, actor: route.fields(world.practice, world.ids[target]))


def _contoso(world: World) -> str:
    return f"/admin/authentication?provider={world.providers['contoso']}"


PROBES: dict[str, Probe] = {
    "home": Probe("GET", lambda world: "/"),
    "language": Probe("GET", lambda world: "/language?lang=de&next=/account"),
    "login-page": Probe("GET", lambda world: "/login"),
    "log-in-as-pat": Probe(
        "POST",
        lambda world: "/login",
        lambda world, actor: {"email": "pat@acme.test", "password": PASSWORD},
        _logged_in_as("pat@acme.test"),
        audits_refusal=True,  # a failed login is in the trail (of beta, whose host it was)
    ),
    "log-out": Probe(
        "POST",
        lambda world: "/logout",
        done=lambda world, actor, browser, response: browser.get("/account", status=303).location.endswith(
            "/login?next=%2Faccount"
        ),
    ),
    "account": Probe("GET", lambda world: "/account"),
    "account-save": Probe(
        "POST",
        lambda world: "/account",
        lambda world, actor: {"first_name": "Renamed", "last_name": "Acme"},
        lambda world, actor, browser, response: _me(world, actor).first_name == "Renamed",
    ),
    "account-language": Probe(
        "POST",
        lambda world: "/account/language",
        lambda world, actor: {"language": "de"},
        lambda world, actor, browser, response: _me(world, actor).language == "de",
    ),
    "linked-accounts": Probe("GET", lambda world: "/account/linked"),
    "unlink-own-link": Probe(
        "POST",
        lambda world: "/account/linked",
        # anonymous and other-cookie name pat's link: they have none
        lambda world, actor: {"action": "unlink", "link_id": world.links.get(actor, world.links["pat"])},
        lambda world, actor, browser, response: linked_subjects(world.practice, world.ids[actor]) == [],
    ),
    "unlink-anns-link": Probe(
        "POST",
        lambda world: "/account/linked",
        lambda world, actor: {"action": "unlink", "link_id": world.links["ann"]},
    ),
    "register-page": Probe("GET", lambda world: "/register"),
    "register": Probe(
        "POST",
        lambda world: "/register",
        lambda world, actor: {"email": "new@acme.test", "first_name": "New", "last_name": "Person"},
    ),
    "forgot-page": Probe("GET", lambda world: "/password/forgot"),
    "forgot-for-pat": Probe(
        "POST",
        lambda world: "/password/forgot",
        lambda world, actor: {"email": "pat@acme.test"},
        lambda world, actor, browser, response: _has_reset_link(world, "pat"),
    ),
    "reset-page": Probe("GET", lambda world: world.reset_link("pat")),
    "reset": Probe(
        "POST",
        lambda world: world.reset_link("pat"),
        lambda world, actor: {"password": "a new password of pat's", "password_confirm": "a new password of pat's"},
        lambda world, actor, browser, response: (
            world.practice.portal.log_in(
                world.practice.portal.browser("acme"), "pat@acme.test", "a new password of pat's"
            ).status_int
            == 303
        ),
    ),
    "recover-page": Probe("GET", lambda world: recovery_link(world.practice, "owner")),
    "recover": Probe(
        "POST",
        lambda world: recovery_link(world.practice, "owner"),
        lambda world, actor: {"password": PASSWORD},
        _logged_in_as("owner@acme.test"),
    ),
    "confirm-email-page": Probe("GET", lambda world: world.email_link()),
    "confirm-email": Probe(
        "POST",
        lambda world: world.email_link(),
        done=lambda world, actor, browser, response: _me(world, "ann").email == "new@home.test",
    ),
    "sso-start": Probe(
        "POST",
        lambda world: f"/sso/{world.providers['contoso']}/start",
        done=lambda world, actor, browser, response: response.location.startswith("https://idp.acme.test/a?"),
    ),
    "sso-start-to-link": Probe(
        "POST",
        lambda world: f"/sso/{world.providers['contoso']}/start",
        lambda world, actor: {"purpose": "link"},
        lambda world, actor, browser, response: response.location.startswith("https://idp.acme.test/a?"),
    ),
    "sso-start-betas-provider": Probe("POST", lambda world: f"/sso/{world.providers['beta']}/start"),
    "sso-initiate": Probe(
        "GET",
        lambda world: "/sso/initiate?iss=https://idp.acme.test",
        done=lambda world, actor, browser, response: response.location.startswith("https://idp.acme.test/a?"),
    ),
    "sso-initiate-betas-issuer": Probe("GET", lambda world: "/sso/initiate?iss=https://idp.beta.test"),
    "sso-callback": Probe("GET", lambda world: "/process_sso?state=x&code=y", audits_refusal=True),
    "sso-link-page": Probe("GET", lambda world: "/sso/link"),
    "sso-link": Probe("POST", lambda world: "/sso/link", lambda world, actor: {"email": "pat@acme.test"}),
    "sso-initiate-post": Probe(
        "POST",
        lambda world: "/sso/initiate",
        lambda world, actor: {"iss": "https://idp.acme.test"},
        lambda world, actor, browser, response: urlsplit(response.location).path == "/sso/initiate",
    ),
    "providers-page": Probe("GET", _contoso, shows="https://idp.acme.test/t"),
    "providers-page-of-beta": Probe(
        "GET", lambda world: f"/admin/authentication?provider={world.providers['beta']}", shows="idp.beta.test"
    ),
    "discover-at-betas-provider": Probe(
        "POST",
        lambda world: f"/admin/authentication?provider={world.providers['beta']}",
        lambda world, actor: {"action": "discover", "issuer": f"{LOOPBACK}/new"},
    ),
    "enable-betas-provider": Probe(
        "POST",
        lambda world: "/admin/authentication",
        lambda world, actor: {"action": "enable", "provider_id": world.providers["beta"]},
    ),
    "remove-betas-provider": Probe(
        "POST",
        lambda world: "/admin/authentication",
        lambda world, actor: {"action": "remove", "provider_id": world.providers["beta"]},
    ),
    "test-betas-provider": Probe(
        "POST",
        lambda world: "/admin/authentication",
        lambda world, actor: {"action": "test", "provider_id": world.providers["beta"]},
    ),
    "discover": Probe(
        "POST",
        lambda world: "/admin/authentication?provider=new",
        lambda world, actor: {"action": "discover", "issuer": f"{LOOPBACK}/new"},
    ),
    "save-new-provider": Probe(
        "POST",
        lambda world: "/admin/authentication?provider=new",
        lambda world, actor: _provider_fields("Northwind", f"{LOOPBACK}/northwind", client_secret="s", enabled="on"),
        lambda world, actor, browser, response: _provider_named(world, "Northwind"),
    ),
    "save-provider": Probe(
        "POST",
        lambda world: f"/admin/authentication?provider={world.providers['fabrikam']}",
        lambda world, actor: _provider_fields("Fabrikam renamed", f"{LOOPBACK}/fabrikam"),
        lambda world, actor, browser, response: (
            world.row(identity_providers, world.providers["fabrikam"]).display_name == "Fabrikam renamed"
        ),
    ),
    "save-betas-provider": Probe(
        "POST",
        lambda world: f"/admin/authentication?provider={world.providers['beta']}",
        lambda world, actor: _provider_fields("Beta's, renamed", "https://idp.beta.test"),
    ),
    "enable-provider": Probe(
        "POST",
        lambda world: "/admin/authentication",
        lambda world, actor: {"action": "enable", "provider_id": world.providers["fabrikam"]},
        lambda world, actor, browser, response: world.row(identity_providers, world.providers["fabrikam"]).enabled,
    ),
    "disable-provider": Probe(
        "POST",
        lambda world: "/admin/authentication",
        lambda world, actor: {"action": "disable", "provider_id": world.providers["contoso"]},
        lambda world, actor, browser, response: not world.row(identity_providers, world.providers["contoso"]).enabled,
    ),
    "remove-provider": Probe(
        "POST",
        lambda world: "/admin/authentication",
        lambda world, actor: {"action": "remove", "provider_id": world.providers["fabrikam"]},
        lambda world, actor, browser, response: world.row(identity_providers, world.providers["fabrikam"]) is None,
    ),
    "test-sign-in": Probe(
        "POST",
        lambda world: "/admin/authentication",
        lambda world, actor: {"action": "test", "provider_id": world.providers["contoso"]},
    ),
    "unknown-provider-action": Probe(
        "POST", lambda world: "/admin/authentication", lambda world, actor: {"action": "frobnicate"}
    ),
    "policy-page": Probe("GET", lambda world: "/admin/authentication/policy", shows="given_name"),
    "save-policy": Probe(
        "POST",
        lambda world: "/admin/authentication/policy",
        lambda world, actor: _policy_fields(action="save", self_registration="on"),
        lambda world, actor, browser, response: world.acme().self_registration is True,
    ),
    "preview-policy": Probe(
        "POST",
        lambda world: "/admin/authentication/policy",
        lambda world, actor: _policy_fields(action="preview", sample_claims='{"given_name": "Ann"}'),
    ),
    "unknown-policy-action": Probe(
        "POST", lambda world: "/admin/authentication/policy", lambda world, actor: {"action": "frobnicate"}
    ),
    "practice-page": Probe("GET", lambda world: "/admin/practice", shows="Europe/Berlin"),
    "save-practice": Probe(
        "POST",
        lambda world: "/admin/practice",
        lambda world, actor: {"default_language": "", "time_zone": "Europe/Amsterdam"},
        lambda world, actor, browser, response: world.acme().time_zone == "Europe/Amsterdam",
    ),
    # The other admin on their own practice's page, filtered by the name of one of acme's people
    # and paged from acme's newest event: only beta's events are there, and none of them names ann.
    "audit-page": Probe(
        "GET", lambda world: f"/admin/audit?person=ann&before={world.acme_cursor()}", shows="ann@acme.test"
    ),
    "audit-download": Probe("GET", lambda world: "/admin/audit.csv?person=ann", shows="ann@acme.test"),
    "audit-retention": Probe("POST", lambda world: "/admin/audit", lambda world, actor: {"audit_retention_days": "90"}),
    "practitioners-page": Probe("GET", lambda world: PRACTITIONERS_PAGE, shows="ann@acme.test"),
    "search-for-beta": Probe("GET", lambda world: f"{PRACTITIONERS_PAGE}?q=beta.test", shows="owner@beta.test"),
    "add": _page_route("add"),
    "deactivate": _page_route("deactivate"),
    "deactivate-betas-owner": _page_route("deactivate", "other-admin"),
    "reactivate": _page_route("reactivate"),
    "rights": _page_route("rights"),
    "unknown-practitioners-action": Probe(
        "POST", lambda world: PRACTITIONERS_PAGE, lambda world, actor: {"action": "frobnicate"}
    ),
    "practitioner-page": Probe("GET", lambda world: f"{PRACTITIONERS_PAGE}/{world.ids['ann']}"),
    "unlink-by-admin": Probe(
        "POST",
        lambda world: f"{PRACTITIONERS_PAGE}/{world.ids['ann']}",
        lambda world, actor: {"action": "unlink", "link_id": world.links["ann"], "confirm_last_way_in": "yes"},
    ),
    "change-email": Probe(
        "POST",
        lambda world: f"{PRACTITIONERS_PAGE}/{world.ids['ann']}",
        lambda world, actor: {"action": "email", "email": "new@home.test"},
    ),
    "practitioner-page-of-beta": Probe(
        "GET", lambda world: f"{PRACTITIONERS_PAGE}/{world.ids['other-admin']}", shows="owner@beta.test"
    ),
    "change-betas-email": Probe(
        "POST",
        lambda world: f"{PRACTITIONERS_PAGE}/{world.ids['other-admin']}",
        lambda world, actor: {"action": "email", "email": "new@home.test"},
    ),
    # ann's page, with the id of pat's link: the rule is asked about ann, the link must be ann's too
    "unlink-pats-link-at-ann": Probe(
        "POST",
        lambda world: f"{PRACTITIONERS_PAGE}/{world.ids['ann']}",
        lambda world, actor: {"action": "unlink", "link_id": world.links["pat"], "confirm_last_way_in": "yes"},
    ),
    "unknown-practitioner-action": Probe(
        "POST", lambda world: f"{PRACTITIONERS_PAGE}/{world.ids['ann']}", lambda world, actor: {"action": "frobnicate"}
    ),
    "provisioning-page": Probe("GET", lambda world: PROVISIONING_PAGE, shows="Owner&#39;s token"),
    "create-token": _page_route("create-token"),
    "revoke-token": _page_route("revoke-owners-token"),
    "revoke-betas-token": Probe(
        "POST", lambda world: PROVISIONING_PAGE, lambda world, actor: {"action": "revoke", "token_id": world.beta_token}
    ),
    "scim-subject": Probe(
        "POST",
        lambda world: PROVISIONING_PAGE,
        lambda world, actor: {"action": "subject", "subject_provider_id": world.providers["contoso"]},
        lambda world, actor, browser, response: world.acme().scim_subject_provider_id == world.providers["contoso"],
    ),
    "scim-subject-betas-provider": Probe(
        "POST",
        lambda world: PROVISIONING_PAGE,
        lambda world, actor: {"action": "subject", "subject_provider_id": world.providers["beta"]},
    ),
    "unknown-provisioning-action": Probe(
        "POST", lambda world: PROVISIONING_PAGE, lambda world, actor: {"action": "frobnicate"}
    ),
}


def _has_reset_link(world: World, person: str) -> bool:
    with world.practice.engine.connect() as connection:
        c = password_reset_tokens.c
        return connection.scalar(select(c.id).where(c.practitioner_id == world.ids[person]).limit(1)) is not None


def _provider_named(world: World, name: str) -> bool:
    with world.practice.engine.connect() as connection:
        c = identity_providers.c
        return connection.scalar(select(c.id).where(c.display_name == name)) is not None


def _without_audit(state: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {table: rows for table, rows in state.items() if table != "audit_events"}


# Each view the app registers (route, methods, the form's action), and the row that asks it; "*": a
# view for any method. A row in parentheses is one of a table above that names it otherwise.
VIEW_ROWS = {
    "home *": "home",
    "language GET": "language",
    "login GET": "login-page",
    "login POST": "log-in-as-pat",
    "logout POST": "log-out",
    "account GET": "account",
    "account POST": "account-save",
    "account_language POST": "account-language",
    "account_linked GET": "linked-accounts",
    "account_linked POST": "unlink-own-link",
    "register GET": "register-page",
    "register POST": "register",
    "password_forgot GET": "forgot-page",
    "password_forgot POST": "forgot-for-pat",
    "password_reset GET": "reset-page",
    "password_reset POST": "reset",
    "recover GET": "recover-page",
    "recover POST": "recover",
    "email_confirm GET": "confirm-email-page",
    "email_confirm POST": "confirm-email",
    "sso_start POST": "sso-start",
    "process_sso GET": "sso-callback",
    "sso_link GET": "sso-link-page",
    "sso_link POST": "sso-link",
    "sso_logged_out GET": "(PROVIDER_ROUTES_BY_ACTOR logged_out)",
    "sso_backchannel_logout POST": "(PROVIDER_ROUTES_BY_ACTOR backchannel)",
    "sso_initiate GET,POST": "sso-initiate",
    "admin_authentication GET": "providers-page",
    "admin_authentication POST action=discover": "discover",
    "admin_authentication POST action=save": "save-provider",
    "admin_authentication POST action=enable": "enable-provider",
    "admin_authentication POST action=disable": "disable-provider",
    "admin_authentication POST action=remove": "remove-provider",
    "admin_authentication POST action=test": "test-sign-in",
    "admin_authentication POST": "unknown-provider-action",
    "admin_policy GET": "policy-page",
    "admin_policy POST action=save": "save-policy",
    "admin_policy POST action=preview": "preview-policy",
    "admin_policy POST": "unknown-policy-action",
    "admin_practice GET": "practice-page",
    "admin_practice POST": "save-practice",
    "admin_audit GET": "audit-page",
    "admin_audit POST": "audit-retention",
    "admin_audit_csv GET": "audit-download",
    "admin_practitioners GET": "practitioners-page",
    "admin_practitioners POST action=add": "add",
    "admin_practitioners POST action=deactivate": "deactivate",
    "admin_practitioners POST action=reactivate": "reactivate",
    "admin_practitioners POST action=rights": "rights",
    "admin_practitioners POST": "unknown-practitioners-action",
    "admin_practitioner GET": "practitioner-page",
    "admin_practitioner POST action=unlink": "unlink-by-admin",
    "admin_practitioner POST action=email": "change-email",
    "admin_practitioner POST": "unknown-practitioner-action",
    "admin_provisioning GET": "provisioning-page",
    "admin_provisioning POST action=create": "create-token",
    "admin_provisioning POST action=revoke": "revoke-token",
    "admin_provisioning POST action=subject": "scim-subject",
    "admin_provisioning POST": "unknown-provisioning-action",
    "scim_users GET": "list-users",
    "scim_users POST": "create-user",
    "scim_users_search POST": "search-users",
    "scim_user GET": "get-user",
    "scim_user PUT": "put-user",
    "scim_user PATCH": "patch-user",
    "scim_user DELETE": "delete-user",
    "scim_groups GET": "list-groups",
    "scim_groups POST": "create-group",
    "scim_groups_search POST": "search-groups",
    "scim_group GET": "get-group",
    "scim_group PUT": "put-group",
    "scim_group PATCH": "patch-group",
    "scim_group DELETE": "delete-group",
    "scim_service_provider_config GET": "service-provider-config",
    "scim_schemas GET": "schemas",
    "scim_schema GET": "schema",
    "scim_resource_types GET": "resource-types",
    "scim_resource_type GET": "resource-type",
    "scim_root_search *": "root-search",
    "scim_other *": "unknown-endpoint",
    # One view answers every other method on each SCIM route: the row asks it on one of them.
    **{
        f"{route} *": "method-not-allowed"
        for route in ("scim_users", "scim_users_search", "scim_user", "scim_groups", "scim_groups_search")
        + ("scim_group", "scim_service_provider_config", "scim_schemas", "scim_schema", "scim_resource_types")
        + ("scim_resource_type",)
    },
}


def registered_views(app: Any) -> set[str]:
    """Each view of a route as VIEW_ROWS names it (static files aside)."""
    views = set()
    for view in app.registry.introspector.get_category("views"):
        found = view["introspectable"]
        if found["route_name"] is None or found["route_name"] == "__static/":
            continue
        methods = found["request_methods"]
        method = "*" if methods is None else methods if isinstance(methods, str) else ",".join(sorted(methods))
        views.add(" ".join(filter(None, (found["route_name"], method, found["request_param"]))))
    return views


def test_every_view_of_every_route_is_in_the_matrix(wsgi_app):
    """Each view the app registers has a row that asks it: a new route, method or action fails this
    until the matrix says who may use it."""
    assert registered_views(wsgi_app) == set(VIEW_ROWS)
    routes = {route.name for route in wsgi_app.registry.getUtility(IRoutesMapper).get_routes()} - {"__static/"}
    assert routes == {key.split()[0] for key in VIEW_ROWS}
    asked = set(PROBES) | set(SCIM_CALLS)
    assert [row for row in VIEW_ROWS.values() if row not in asked and not row.startswith("(")] == []


@pytest.mark.parametrize("route, actor, answer", cells_by_actor(ROUTES_BY_ACTOR))
def test_every_route_answers_as_the_matrix_says(world, route, actor, answer):
    probe = PROBES[route]
    browser = client(world.practice, actor)
    path, fields = probe.path(world), probe.fields(world, actor)
    before = world.everything()
    if probe.method == "GET":
        response = browser.get(path, status="*")
    else:
        response = browser.post(path, {"csrf_token": csrf(browser), **fields}, status="*")
    status, _, unchanged = answer.partition("-")
    if status == "login":
        assert response.status_int == 303, response.text[:2000]
        assert urlsplit(response.location).path == "/login"
    else:
        assert response.status_int == int(status), response.text[:2000]
    allowed = status in ("200", "303") and not unchanged
    if allowed and probe.done is not None:
        assert probe.done(world, actor, browser, response)
    elif probe.audits_refusal:
        assert _without_audit(world.everything()) == _without_audit(before)
    else:
        assert world.everything() == before
    if probe.shows is not None and not (allowed and status == "200"):
        assert probe.shows not in response.text
    elif probe.shows is not None:
        assert probe.shows in response.text


# --- SCIM: every endpoint, and another practice's token at home ----------------------------------

# The reads, the Groups and the discovery endpoints, by the actors of the tables above and two
# more: "no-token", a request without Authorization on acme's host; "other-token-home", beta's
# token on beta's own host, naming acme's users and groups by their ids (404: not there). The
# writes to Users by acme's tokens are in SCIM_BY_TARGET. Acme's group "Nurses" has ann; roles do
# not apply, so any working token keeps groups. "200-unchanged": answered, and nothing of acme's shown.
SCIM_ROUTES_BY_ACTOR = """
request                  owner-token      clerk-token      legacy-token     other-token  owner-session  no-token  other-token-home
get-user                 200              200              200              401          401            401       404
list-users               200              200              200              401          401            401       200-unchanged
search-users             200              200              200              401          401            401       200-unchanged
put-user                 -                -                -                -            -              401       404
patch-user               -                -                -                -            -              401       404
delete-user              -                -                -                -            -              401       404
create-user              -                -                -                -            -              401       -
get-group                200              200              200              401          401            401       404
list-groups              200              200              200              401          401            401       200-unchanged
search-groups            200              200              200              401          401            401       200-unchanged
create-group             -                -                -                -            -              401       -
put-group                200              200              200              401          401            401       404
patch-group              200              200              200              401          401            401       404
delete-group             204              204              204              401          401            401       404
group-with-betas-member  400-invalidValue 400-invalidValue 400-invalidValue 401          401            401       -
add-betas-member         400-invalidValue 400-invalidValue 400-invalidValue 401          401            401       -
service-provider-config  200              200              200              401          401            401       -
schemas                  200              200              200              401          401            401       -
schema                   200              200              200              401          401            401       -
resource-types           200              200              200              401          401            401       -
resource-type            200              200              200              401          401            401       -
root-search              501              501              501              401          401            401       -
unknown-endpoint         404              404              404              401          401            401       -
method-not-allowed       405              405              405              401          401            401       -
get-betas-user           404              404              404              401          401            401       -
list-all-users           200-unchanged    200-unchanged    200-unchanged    401          401            401       -
filter-betas-user        200-unchanged    200-unchanged    200-unchanged    401          401            401       -
put-betas-user           404              404              404              401          401            401       -
patch-betas-user         404              404              404              401          401            401       -
delete-betas-user        404              404              404              401          401            401       -
get-betas-group          404              404              404              401          401            401       -
filter-betas-group       200-unchanged    200-unchanged    200-unchanged    401          401            401       -
put-betas-group          404              404              404              401          401            401       -
patch-betas-group        404              404              404              401          401            401       -
delete-betas-group       404              404              404              401          401            401       -
"""

# Which route each request goes to: the test above checks every route is here.
SCIM_ROUTE_OF = {
    "get-user": "scim_user",
    "list-users": "scim_users",
    "search-users": "scim_users_search",
    "get-group": "scim_group",
    "list-groups": "scim_groups",
    "search-groups": "scim_groups_search",
    "service-provider-config": "scim_service_provider_config",
    "schemas": "scim_schemas",
    "schema": "scim_schema",
    "resource-types": "scim_resource_types",
    "resource-type": "scim_resource_type",
    "root-search": "scim_root_search",
    "unknown-endpoint": "scim_other",
}

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass(frozen=True)
class ScimCall:
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any] = lambda world: None
    done: Callable[[World], bool] | None = None  # an allowed write: did it happen?
    shows: str | None = None  # what a read shows acme's tokens, and nobody else


def _group(world: World) -> Any:
    return world.row(scim_groups, world.groups["acme"])


def _members(world: World) -> set[str]:
    with world.practice.engine.connect() as connection:
        return set(
            connection.scalars(
                select(scim_group_members.c.practitioner_id).where(
                    scim_group_members.c.group_id == world.groups["acme"]
                )
            )
        )


SCIM_CALLS: dict[str, ScimCall] = {
    "get-user": ScimCall("GET", lambda world: f"/Users/{world.ids['ann']}", shows="ann@acme.test"),
    "list-users": ScimCall("GET", lambda world: '/Users?filter=userName eq "ann@acme.test"', shows="ann@acme.test"),
    "search-users": ScimCall(
        "POST",
        lambda world: "/Users/.search",
        lambda world: {"schemas": [SEARCH], "filter": 'userName eq "ann@acme.test"'},
        shows="ann@acme.test",
    ),
    "put-user": ScimCall(
        "PUT",
        lambda world: f"/Users/{world.ids['ann']}",
        lambda world: {
            "schemas": [USER],
            "userName": "ann@acme.test",
            "name": {"givenName": "Renamed", "familyName": "A"},
        },
    ),
    "patch-user": ScimCall(
        "PATCH",
        lambda world: f"/Users/{world.ids['ann']}",
        lambda world: _patch({"op": "replace", "path": "active", "value": False}),
    ),
    "delete-user": ScimCall("DELETE", lambda world: f"/Users/{world.ids['ann']}"),
    "create-user": ScimCall(
        "POST", lambda world: "/Users", lambda world: {"schemas": [USER], "userName": "new@acme.test"}
    ),
    "get-group": ScimCall("GET", lambda world: f"/Groups/{world.groups['acme']}", shows="Nurses"),
    "list-groups": ScimCall("GET", lambda world: '/Groups?filter=displayName eq "Nurses"', shows="Nurses"),
    "search-groups": ScimCall(
        "POST",
        lambda world: "/Groups/.search",
        lambda world: {"schemas": [SEARCH], "filter": 'displayName eq "Nurses"'},
        shows="Nurses",
    ),
    "create-group": ScimCall("POST", lambda world: "/Groups", lambda world: {"schemas": [GROUP], "displayName": "X"}),
    "put-group": ScimCall(
        "PUT",
        lambda world: f"/Groups/{world.groups['acme']}",
        lambda world: {"schemas": [GROUP], "displayName": "Renamed", "members": [{"value": world.ids["ann"]}]},
        lambda world: _group(world).display_name == "Renamed",
    ),
    "patch-group": ScimCall(
        "PATCH",
        lambda world: f"/Groups/{world.groups['acme']}",
        lambda world: _patch({"op": "add", "path": "members", "value": [{"value": world.ids["pat"]}]}),
        lambda world: _members(world) == {world.ids["ann"], world.ids["pat"]},
    ),
    "delete-group": ScimCall(
        "DELETE", lambda world: f"/Groups/{world.groups['acme']}", done=lambda world: _group(world) is None
    ),
    "group-with-betas-member": ScimCall(
        "POST",
        lambda world: "/Groups",
        lambda world: {"schemas": [GROUP], "displayName": "Mixed", "members": [{"value": world.ids["other-admin"]}]},
    ),
    "add-betas-member": ScimCall(
        "PATCH",
        lambda world: f"/Groups/{world.groups['acme']}",
        lambda world: _patch({"op": "add", "path": "members", "value": [{"value": world.ids["other-admin"]}]}),
    ),
    "service-provider-config": ScimCall("GET", lambda world: "/ServiceProviderConfig"),
    "schemas": ScimCall("GET", lambda world: "/Schemas"),
    "schema": ScimCall("GET", lambda world: f"/Schemas/{USER}"),
    "resource-types": ScimCall("GET", lambda world: "/ResourceTypes"),
    "resource-type": ScimCall("GET", lambda world: "/ResourceTypes/User"),
    "root-search": ScimCall("POST", lambda world: "/.search", lambda world: {"schemas": [SEARCH]}),
    "unknown-endpoint": ScimCall("GET", lambda world: "/Practices"),
    "method-not-allowed": ScimCall("DELETE", lambda world: "/Users"),
    "list-all-users": ScimCall("GET", lambda world: "/Users", shows="@beta.test"),
    "get-betas-user": ScimCall("GET", lambda world: f"/Users/{world.ids['other-admin']}", shows="owner@beta.test"),
    "filter-betas-user": ScimCall(
        "GET", lambda world: '/Users?filter=userName eq "owner@beta.test"', shows="owner@beta.test"
    ),
    "put-betas-user": ScimCall(
        "PUT",
        lambda world: f"/Users/{world.ids['other-admin']}",
        lambda world: {"schemas": [USER], "userName": "mine@evil.test", "name": {"givenName": "A", "familyName": "B"}},
    ),
    "patch-betas-user": ScimCall(
        "PATCH",
        lambda world: f"/Users/{world.ids['other-admin']}",
        lambda world: _patch({"op": "replace", "path": "emails", "value": [{"value": "mine@evil.test"}]}),
    ),
    "delete-betas-user": ScimCall("DELETE", lambda world: f"/Users/{world.ids['other-admin']}"),
    "get-betas-group": ScimCall("GET", lambda world: f"/Groups/{world.groups['beta']}", shows="Beta's nurses"),
    "filter-betas-group": ScimCall(
        "GET", lambda world: '/Groups?filter=displayName eq "Beta\'s nurses"', shows="Beta's nurses"
    ),
    "put-betas-group": ScimCall(
        "PUT",
        lambda world: f"/Groups/{world.groups['beta']}",
        lambda world: {"schemas": [GROUP], "displayName": "Taken", "members": [{"value": world.ids["ann"]}]},
    ),
    "patch-betas-group": ScimCall(
        "PATCH",
        lambda world: f"/Groups/{world.groups['beta']}",
        lambda world: _patch({"op": "add", "path": "members", "value": [{"value": world.ids["ann"]}]}),
    ),
    "delete-betas-group": ScimCall("DELETE", lambda world: f"/Groups/{world.groups['beta']}"),
}


def scim_asker(practice: Practice, actor: str) -> tuple[webtest.TestApp, dict[str, str]]:
    if actor == "no-token":
        return practice.portal.browser("acme"), {}
    if actor == "other-token-home":
        return practice.portal.browser("beta"), {"Authorization": f"Bearer {practice.tokens['other-token']}"}
    return scim_client(practice, actor)


@pytest.mark.parametrize("request_name, actor, answer", cells_by_actor(SCIM_ROUTES_BY_ACTOR))
def test_every_scim_endpoint_answers_as_the_matrix_says(world, request_name, actor, answer):
    call = SCIM_CALLS[request_name]
    browser, headers = scim_asker(world.practice, actor)
    path, body = call.path(world), call.body(world)
    before = world.everything()
    response = scim_request(browser, headers, call.method, path, body)
    answer, unchanged = answer.removesuffix("-unchanged"), answer.endswith("-unchanged")
    assert_answer(response, answer)
    allowed = response.status_int < 300 and not unchanged
    if allowed and call.done is not None:
        assert call.done(world)
    else:
        assert world.everything() == before
    if call.shows is not None:
        assert (call.shows in response.text) == allowed, response.text


# --- The rule in the domain, with no page in front: the command line's path ---------------------

# Each action as a domain service is called, in a unit of work of its own as the operator's CLI
# runs one, by a practitioner loaded from their own practice: the pages' ACLs are not there, so
# the domain's rule alone decides. "ok": done; "refused": NotAllowed, and nothing written. The
# other admin (beta's owner) acts on acme, which is not theirs: refused everywhere.
DOMAIN_BY_ACTOR = """
action             pat      clerk    auditor  owner  other-admin
add                refused  ok       refused  ok     refused
add-with-a-right   refused  refused  refused  ok     refused
deactivate         refused  ok       refused  ok     refused
reactivate         refused  ok       refused  ok     refused
rights             refused  refused  refused  ok     refused
view               refused  ok       refused  ok     refused
unlink             refused  ok       refused  ok     refused
create-token       refused  ok       refused  ok     refused
scim-subject       refused  refused  ok       ok     refused
save-provider      refused  refused  ok       ok     refused
enable-provider    refused  refused  ok       ok     refused
disable-provider   refused  refused  ok       ok     refused
remove-provider    refused  refused  ok       ok     refused
login-policy       refused  refused  ok       ok     refused
practice-settings  refused  refused  ok       ok     refused
audit-retention    refused  refused  ok       ok     refused
test-sign-in       refused  refused  ok       ok     refused
"""


def _loopback_provider(name: str) -> ProviderSettings:
    issuer = f"{LOOPBACK}/{name.lower()}"
    return ProviderSettings(name, "client", issuer, *(f"{issuer}/{p}" for p in ("a", "t", "k", "u")))


DomainAction = Callable[[Any, Any, Any, World], object]  # (request, actor, acme, world) -> anything

DOMAIN_ACTIONS: dict[str, DomainAction] = {
    "add": lambda request, actor, acme, world: request.find_service(PractitionerDirectory).add(
        actor, acme, "new@acme.test", "New", "Person"
    ),
    "add-with-a-right": lambda request, actor, acme, world: request.find_service(PractitionerDirectory).add(
        actor, acme, "new@acme.test", "New", "Person", rights=frozenset({ModuleRight.AUTHENTICATION})
    ),
    "deactivate": lambda request, actor, acme, world: request.find_service(PractitionerDirectory).deactivate(
        actor, acme, world.ids["ann"]
    ),
    "reactivate": lambda request, actor, acme, world: request.find_service(PractitionerDirectory).reactivate(
        actor, acme, world.ids["ann"]
    ),
    "rights": lambda request, actor, acme, world: request.find_service(PractitionerDirectory).set_rights(
        actor, acme, world.ids["ann"], frozenset({ModuleRight.PRACTITIONERS})
    ),
    "view": lambda request, actor, acme, world: request.find_service(LinkedIdentities).record(
        actor, acme, world.ids["ann"]
    ),
    "unlink": lambda request, actor, acme, world: request.find_service(LinkedIdentities).remove(
        actor, acme, world.ids["ann"], world.links["ann"], last_way_in_confirmed=True
    ),
    "create-token": lambda request, actor, acme, world: request.find_service(ProvisioningTokens).create(
        acme, "New token", actor
    ),
    "scim-subject": lambda request, actor, acme, world: request.find_service(
        Provisioning
    ).use_external_id_as_subject_of(actor, acme, world.providers["contoso"]),
    "save-provider": lambda request, actor, acme, world: request.find_service(ProviderAdministration).save(
        actor, acme, None, _loopback_provider("Northwind"), "secret", False
    ),
    "enable-provider": lambda request, actor, acme, world: request.find_service(ProviderAdministration).set_enabled(
        actor, acme, world.providers["fabrikam"], True
    ),
    "disable-provider": lambda request, actor, acme, world: request.find_service(ProviderAdministration).set_enabled(
        actor, acme, world.providers["contoso"], False
    ),
    "remove-provider": lambda request, actor, acme, world: request.find_service(ProviderAdministration).remove(
        actor, acme, world.providers["fabrikam"]
    ),
    "login-policy": lambda request, actor, acme, world: request.find_service(LoginPolicyAdministration).save(
        actor,
        acme,
        LoginPolicy(Workflow.STANDARD, UnknownIdentityHandling.CONFIRM_BY_OTP, True, acme.auth.claim_mappings),
    ),
    "practice-settings": lambda request, actor, acme, world: request.find_service(PracticeSettings).speak_and_keep_time(
        actor, acme, "nl", "Europe/Amsterdam"
    ),
    "audit-retention": lambda request, actor, acme, world: request.find_service(AuditReport).keep_events_for(
        actor, acme, "90"
    ),
    "test-sign-in": lambda request, actor, acme, world: request.find_service(SingleSignOn).begin_test(
        acme, actor, world.providers["contoso"], "http://acme.portal.test/process_sso"
    ),
}


@pytest.mark.parametrize("action, actor, answer", cells_by_actor(DOMAIN_BY_ACTOR))
def test_the_domain_rule_answers_as_the_matrix_says_without_the_pages(world, action, actor, answer):
    if action == "reactivate":
        _deactivate_targets(world.practice)
    before = world.everything()
    refused = None
    try:
        with world.practice.portal.unit_of_work() as request:
            onboarding = request.find_service(TenantOnboarding)
            acme = onboarding.tenant("acme")
            home = onboarding.tenant("beta" if actor == "other-admin" else "acme")
            me = request.find_service(PractitionerRepository).get(home.id, world.ids[actor])
            DOMAIN_ACTIONS[action](request, me, acme, world)
    except NotAllowed as err:
        refused = err
    assert (refused is not None) == (answer == "refused"), refused
    if refused is not None:
        assert world.everything() == before


# --- Methods no view serves -----------------------------------------------------------------------

# Every route of the pages by a method none of its views takes: 404 whoever asks (the route has no
# page for it), and nothing written. The home page's view takes any method, so another one without
# the CSRF token is refused as a form would be (400).
UNSERVED_METHODS = ("PUT", "PATCH", "DELETE")
POST_ONLY = ("/logout", "/account/language", "/sso/p/start", "/sso/backchannel-logout")
PAGE_PATHS = (
    *("/language", "/login", "/account", "/account/linked", "/register", "/password/forgot"),
    *("/password/reset/x", "/recover/x", "/email/confirm/x", "/process_sso", "/sso/link", "/sso/logged-out"),
    *("/sso/initiate", "/admin/authentication", "/admin/authentication/policy", "/admin/practice"),
    *("/admin/audit", "/admin/audit.csv", PRACTITIONERS_PAGE, f"{PRACTITIONERS_PAGE}/x", PROVISIONING_PAGE),
    *POST_ONLY,
)


@pytest.mark.parametrize("actor", ["anonymous", "other-cookie", "pat", "owner"])
def test_methods_no_view_serves_answer_404_and_write_nothing(world, actor):
    browser = client(world.practice, actor)
    before = world.everything()
    asked = [(path, method) for path in PAGE_PATHS for method in UNSERVED_METHODS]
    asked += [(path, "GET") for path in POST_ONLY]
    answers = {
        (path, method): getattr(browser, method.lower())(path, status="*", expect_errors=True).status_int
        for path, method in asked
    }
    assert answers == dict.fromkeys(asked, 404)
    assert [browser.delete("/", status="*").status_int, browser.put("/", status="*").status_int] == [400, 400]
    assert world.everything() == before
