"""/admin/provisioning: SCIM bearer tokens: who may open it, create (shown once), list, revoke, isolation."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import webtest
from sqlalchemy import Engine, select

from adapters.db.schema import metadata, scim_tokens, tenants
from domain.provisioning.bearer_token import ScimToken
from domain.provisioning.tokens import ProvisioningTokens
from domain.tenancy.onboarding import TenantOnboarding
from domain.practitioners.rights import ModuleRight
from tests.e2e.conftest import PASSWORD, Portal

PATH = "/admin/provisioning"
OWNER = "owner@acme.test"
CLERK = "clerk@acme.test"  # holds the Practitioners right, not the owner


# --- helpers -------------------------------------------------------------------------------


@contextmanager
def tokens_of(portal: Portal, slug: str) -> Iterator[tuple[ProvisioningTokens, object]]:
    """The domain service and the tenant inside one committed unit of work, as the app wires them."""
    with portal.unit_of_work() as request:
        tenant = request.find_service(TenantOnboarding).tenant(slug)
        yield request.find_service(ProvisioningTokens), tenant


def authenticate(portal: Portal, slug: str, token: str) -> ScimToken | None:
    with tokens_of(portal, slug) as (service, tenant):
        found = service.authenticate(tenant, token)
        return (
            None
            if found is None
            else ScimToken(found.tenant_id, found.name, found.token_digest, found.created_at, found.id)
        )


def logged_in(portal: Portal, email: str = OWNER, slug: str = "acme") -> webtest.TestApp:
    browser = portal.browser(slug)
    portal.log_in(browser, email, PASSWORD)
    return browser


def csrf_token(page: webtest.TestResponse) -> str:
    return page.html.find("input", attrs={"name": "csrf_token"})["value"]


def rows(page: webtest.TestResponse) -> list[list[str]]:
    """The token list as shown: name, created, last used, status, acts for, actions; newest first."""
    found = []
    for tr in page.html.find("table", id="tokens").tbody.find_all("tr", recursive=False):
        cells = [td.get_text(" ", strip=True) for td in tr.find_all("td", recursive=False)]
        if len(cells) == 6:
            found.append(cells)
    return found


def create(browser: webtest.TestApp, name: str, status: int = 200) -> webtest.TestResponse:
    form = browser.get(PATH).forms["token-form"]
    form["name"] = name
    return form.submit(status=status)


def shown_token(page: webtest.TestResponse) -> str:
    return page.html.find(id="token-value").get_text(strip=True)


def revoke_form(page: webtest.TestResponse, token_id: str) -> webtest.Form:
    (form,) = [
        f
        for key, f in page.forms.items()
        if isinstance(key, int) and "token_id" in f.fields and f["token_id"].value == token_id
    ]
    return form


def stored(engine: Engine, slug: str = "acme") -> list:  # type: ignore[type-arg]
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(scim_tokens)
                .join(tenants, tenants.c.id == scim_tokens.c.tenant_id)
                .where(tenants.c.slug == slug)
                .order_by(scim_tokens.c.created_at)
            )
        )


def the_only_id(engine: Engine, slug: str = "acme") -> str:
    (row,) = stored(engine, slug)
    return row.id


@pytest.fixture
def acme(portal: Portal) -> Portal:
    portal.open_tenant("acme")
    portal.add_practitioner("acme", CLERK, rights=frozenset({ModuleRight.PRACTITIONERS}))
    return portal


# --- who may open the page ----------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_log_in(acme):
    redirect = acme.browser("acme").get(PATH, status=303)
    assert redirect.location.endswith("/login?next=%2Fadmin%2Fprovisioning")


def test_practitioner_without_the_right_gets_403_and_no_nav_link(acme):
    acme.add_practitioner("acme", "plain@acme.test")
    browser = logged_in(acme, "plain@acme.test")
    assert "Your account does not have the right to open this page" in browser.get(PATH, status=403).text
    assert PATH not in browser.get("/account").text


@pytest.mark.parametrize("email", [OWNER, CLERK])
def test_owner_and_holder_of_the_practitioners_right_open_the_page_from_the_nav(acme, email):
    browser = logged_in(acme, email)
    page = browser.get("/account").click("Provisioning")
    assert page.status_int == 200 and page.request.path == PATH
    assert rows(page) == [] and "No tokens yet." in page.text


def test_page_explains_scim_and_shows_the_base_url_of_this_instance(acme):
    page = logged_in(acme).get(PATH)
    assert "SCIM" in page.text and "Entra ID" in page.text
    assert page.html.find(id="scim-base-url").get_text(strip=True) == "http://acme.portal.test/scim/v2"


# --- create: shown once, stored as a digest -----------------------------------------------


def test_created_token_is_shown_once_with_a_warning_and_never_again(acme):
    browser = logged_in(acme, CLERK)
    page = create(browser, "  Entra   ID ")
    token = shown_token(page)
    assert token.startswith("ppscim_") and len(token) > 30
    assert "shown only once" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert [r[0] for r in rows(page)] == ["Entra ID"]
    again = browser.get(PATH)
    assert token not in again.text and again.html.find(id="token-value") is None
    assert rows(again)[0][2:4] == ["never", "active"]


def test_token_is_stored_only_as_a_digest(acme, engine):
    token = shown_token(create(logged_in(acme), "Okta"))
    (row,) = stored(engine)
    assert token not in row.token_digest and row.token_digest != token
    with engine.connect() as connection:
        for column in (scim_tokens.c.id, scim_tokens.c.name, scim_tokens.c.token_digest):
            assert connection.scalar(select(scim_tokens.c.id).where(column == token)) is None
    assert row.token_digest == hashlib.sha256(token.encode()).hexdigest()


def test_token_is_not_kept_in_the_session_either(acme, engine):
    """A flash would store it server-side; the token lives only in the one response."""
    browser = logged_in(acme)
    token = shown_token(create(browser, "Okta"))
    with engine.connect() as connection:
        for table in metadata.tables.values():
            for row in connection.execute(select(table)):
                assert all(token not in str(value) for value in row), table.name


def test_created_token_authenticates_for_its_tenant_only(acme):
    acme.open_tenant("beta")
    token = shown_token(create(logged_in(acme), "Entra ID"))
    found = authenticate(acme, "acme", token)
    assert found is not None and found.name == "Entra ID"
    assert authenticate(acme, "beta", token) is None
    assert authenticate(acme, "acme", token + "x") is None


def test_list_shows_tokens_newest_first_with_last_use(acme):
    browser = logged_in(acme)
    first = shown_token(create(browser, "First"))
    create(browser, "Second")
    authenticate(acme, "acme", first)
    listed = rows(browser.get(PATH))
    assert [r[0] for r in listed] == ["Second", "First"]
    assert listed[0][2] == "never" and listed[1][2] != "never"
    assert [r[3] for r in listed] == ["active", "active"]


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "enter a token name"),
        ("   ", "enter a token name"),
        ("x" * 101, "longer than 100"),
        ("a\x00b", "not allowed"),
    ],
)
def test_invalid_name_is_a_400_field_error_and_nothing_is_stored(acme, engine, name, message):
    browser = logged_in(acme)
    page = browser.get(PATH)
    refused = browser.post(PATH, {"csrf_token": csrf_token(page), "action": "create", "name": name}, status=400)
    assert message in refused.html.find(id="name-error").get_text()
    assert refused.html.find(id="token-value") is None
    assert stored(engine) == []


def test_a_file_where_the_name_belongs_is_a_400(acme, engine):
    browser = logged_in(acme)
    page = browser.get(PATH)
    browser.post(
        PATH, {"csrf_token": csrf_token(page), "action": "create"}, upload_files=[("name", "x.txt", b"x")], status=400
    )
    assert stored(engine) == []


# --- revoke -------------------------------------------------------------------------------


def test_revoked_token_shows_as_revoked_and_no_longer_authenticates(acme, engine):
    browser = logged_in(acme)
    token = shown_token(create(browser, "Okta"))
    done = revoke_form(browser.get(PATH), the_only_id(engine)).submit(status=303).follow()
    assert "The token “Okta” was revoked" in done.text
    assert rows(done)[0][0] == "Okta" and rows(done)[0][3] == "revoked"
    assert "Revoke" not in rows(done)[0][5]
    assert stored(engine)[0].revoked_at is not None
    assert authenticate(acme, "acme", token) is None


def test_revoking_twice_is_harmless(acme, engine):
    browser = logged_in(acme)
    create(browser, "Okta")
    page = browser.get(PATH)
    form = revoke_form(page, the_only_id(engine))
    form.submit(status=303)
    revoked_at = stored(engine)[0].revoked_at
    form.submit(status=303)  # a second click from the stale page
    assert stored(engine)[0].revoked_at == revoked_at


def test_revoking_one_token_leaves_the_others_working(acme, engine):
    browser = logged_in(acme)
    keep = shown_token(create(browser, "Keep"))
    drop = shown_token(create(browser, "Drop"))
    drop_id = next(r.id for r in stored(engine) if r.name == "Drop")
    revoke_form(browser.get(PATH), drop_id).submit(status=303)
    assert authenticate(acme, "acme", keep) is not None
    assert authenticate(acme, "acme", drop) is None


@pytest.mark.parametrize("token_id, status", [("0" * 32, 404), ("", 404), ("x" * 65, 400)])
def test_unknown_token_id_is_a_4xx_message(acme, token_id, status):
    browser = logged_in(acme)
    page = browser.get(PATH)
    refused = browser.post(
        PATH, {"csrf_token": csrf_token(page), "action": "revoke", "token_id": token_id}, status=status
    )
    assert refused.html.find(class_="error").get_text(strip=True)


@pytest.mark.parametrize("fields", [{"action": "delete"}, {}])
def test_unknown_action_is_a_400_message(acme, fields):
    browser = logged_in(acme)
    page = browser.get(PATH)
    refused = browser.post(PATH, {"csrf_token": csrf_token(page), **fields}, status=400)
    assert "That action is not known" in refused.text


# --- audit --------------------------------------------------------------------------------


def test_create_and_revoke_are_on_the_audit_page_with_who_did_it(acme, engine):
    browser = logged_in(acme, CLERK)
    create(browser, "Okta")
    revoke_form(browser.get(PATH), the_only_id(engine)).submit(status=303)
    audit = logged_in(acme, OWNER).get("/admin/audit")
    lines = [tr.get_text(" ", strip=True) for tr in audit.html.find("table").tbody.find_all("tr")]
    assert any("scim token created" in line and "'Okta'" in line and CLERK in line for line in lines)
    assert any("scim token revoked" in line and "'Okta'" in line and CLERK in line for line in lines)


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_create_without_the_csrf_token_is_refused_and_nothing_is_stored(acme, engine, token):
    browser = logged_in(acme)
    fields = {"action": "create", "name": "Okta"}
    if token:
        fields["csrf_token"] = token
    refused = browser.post(PATH, fields, status=400)
    assert "The form has expired" in refused.text
    assert stored(engine) == []


def test_revoke_without_the_csrf_token_is_refused_and_the_token_stays_active(acme, engine):
    browser = logged_in(acme)
    create(browser, "Okta")
    browser.post(PATH, {"action": "revoke", "token_id": the_only_id(engine)}, status=400)
    assert stored(engine)[0].revoked_at is None


# --- one practice never sees or touches another's tokens ----------------------------------


@pytest.fixture
def acme_token_and_beta(acme: Portal, engine: Engine) -> str:
    """Acme has a token; beta is open too. Returns acme's token."""
    token = shown_token(create(logged_in(acme), "Acme Entra"))
    acme.open_tenant("beta")
    return token


def test_beta_lists_none_of_acme_tokens(acme_token_and_beta, acme):
    page = logged_in(acme, "owner@beta.test", "beta").get(PATH)
    assert rows(page) == [] and "Acme Entra" not in page.text
    assert page.html.find(id="scim-base-url").get_text(strip=True) == "http://beta.portal.test/scim/v2"


def test_beta_cannot_revoke_acme_token(acme_token_and_beta, acme, engine):
    browser = logged_in(acme, "owner@beta.test", "beta")
    page = browser.get(PATH)
    acme_id = the_only_id(engine, "acme")
    refused = browser.post(PATH, {"csrf_token": csrf_token(page), "action": "revoke", "token_id": acme_id}, status=404)
    assert "that token does not exist" in refused.text
    assert stored(engine, "acme")[0].revoked_at is None
    assert authenticate(acme, "acme", acme_token_and_beta) is not None
    assert authenticate(acme, "beta", acme_token_and_beta) is None


# --- whom a token acts for ----------------------------------------------------------------


def rule_text(page: webtest.TestResponse) -> str:
    return " ".join(page.html.find(id="token-rule").get_text(" ").split())


@pytest.mark.parametrize("email", [OWNER, CLERK])
def test_the_page_says_in_plain_words_whom_tokens_act_for_and_whom_they_reach(acme, email):
    page = logged_in(acme, email).get(PATH)
    rule = rule_text(page)
    assert "A token acts for the person who created it" in rule
    assert "command line act for the account owner" in rule
    assert "never deactivate or delete the owner" in rule
    assert "created by anyone else reaches only practitioners without module rights" in rule
    reach = "every practitioner" if email == OWNER else "only practitioners without module rights"
    assert f"The new token acts for you and reaches {reach}." in " ".join(
        page.html.find(id="token-form").get_text(" ").split()
    )


def test_each_token_lists_the_person_it_acts_for_and_how_far_it_reaches(acme, engine):
    create(logged_in(acme, OWNER), "Owner's")
    create(logged_in(acme, CLERK), "Clerk's")
    first = stored(engine)[0]
    with engine.begin() as connection:  # a token made before tokens recorded their creator
        connection.execute(
            scim_tokens.insert().values(
                id="l" * 32,
                tenant_id=first.tenant_id,
                name="Legacy",
                token_digest="0" * 64,
                created_at=first.created_at,
                created_by=None,
            )
        )
    acts_for = {r[0]: r[4] for r in rows(logged_in(acme, CLERK).get(PATH))}
    assert acts_for == {
        "Owner's": f"{OWNER} (account owner) reaches every practitioner",
        "Clerk's": f"{CLERK} reaches only practitioners without module rights",
        "Legacy": "nobody recorded (made before tokens acted for a person) reaches only practitioners without module rights",
    }
