"""Several providers per tenant, from the Authentication module to the login page: add, edit,
enable, disable and remove providers; the re-confirmation of links when a provider's issuer or
client id changes; plain OAuth 2.0 providers. Two real providers on loopback, nothing patched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import webtest
from sqlalchemy import Engine, select, update

from adapters.db.schema import identity_links, identity_providers, practitioners, tenants
from domain.tenancy.tenant import UnknownIdentityHandling
from tests.loopback_op.protocol import DISCOVERY
from tests.loopback_op.provider import LoopbackProvider
from tests.e2e.sso import CLIENT_ID, CLIENT_SECRET, Sso, audited, provider_values, op, redirect_uri, sso  # noqa: F401  (fixtures)
from tests.e2e.test_sso_admin import audit_rows, csrf_token, field_error, logged_out

PATH = "/admin/authentication"
ANN = "ann@acme.test"
BOB = "bob@acme.test"


# --- a second provider, and the loopback provider as a plain OAuth 2.0 server -----------------


@pytest.fixture
def op2() -> Iterator[LoopbackProvider]:
    """A second, independent OpenID Provider (its own issuer, keys, clients and users)."""
    with LoopbackProvider() as provider:
        provider.login_as(
            "bob-sub", email="bob@home.example", email_verified=True, given_name="Bob", family_name="Jones"
        )
        yield provider


@pytest.fixture
def oauth2() -> Iterator[LoopbackProvider]:
    """The loopback provider speaking plain OAuth 2.0: it takes an authorization request without
    the ``openid`` scope and without a nonce, answers the token request without an ID token and
    says who it is only at its userinfo endpoint."""
    with LoopbackProvider(plain_oauth2=True) as server:
        server.login_as("ann-sub", email="ann@home.example", email_verified=True, given_name="Ann", family_name="Smith")
        yield server


# --- helpers --------------------------------------------------------------------------------------


def provider_fields(op: LoopbackProvider, **overrides: str | bool) -> dict[str, str | bool]:
    fields: dict[str, str | bool] = {**provider_values(op), "enabled": True}
    fields.pop("display_name")
    return {**fields, **overrides}


def oauth2_fields(server: LoopbackProvider, **overrides: str | bool) -> dict[str, str | bool]:
    """A plain OAuth 2.0 provider: authorization, token and userinfo endpoints, no issuer, no JWKS."""
    return provider_fields(server, **{"protocol": "oauth2", "issuer": "", "jwks_uri": "", **overrides})


def add_provider(
    sso: Sso, op: LoopbackProvider, name: str, slug: str = "acme", status: int = 303, **fields: str | bool
) -> webtest.TestResponse:
    """Clicks "Add a provider" on the Authentication page, fills the empty form and saves it."""
    op.register_client(fields.get("client_id", CLIENT_ID), CLIENT_SECRET, [redirect_uri(slug)])  # type: ignore[arg-type]
    page = sso.admin(slug).get(PATH).click(linkid="add-provider")
    form = page.forms["provider-form"]
    assert form["client_id"].value == "" and form["issuer"].value == ""
    for name_, value in {"display_name": name, **provider_fields(op), **fields}.items():
        form[name_] = value
    return form.submit("action", value="save", status=status)


def added(response: webtest.TestResponse) -> str:
    """The id of the provider a save redirected to."""
    return parse_qs(urlsplit(response.location).query)["provider"][0]


def list_action(admin: webtest.TestApp, action: str, provider_id: str, status: int = 303) -> webtest.TestResponse:
    """Presses Enable, Disable or Remove in the provider list."""
    form = admin.get(PATH).forms[f"{'remove' if action == 'remove' else 'switch'}-{provider_id}"]
    return form.submit("action", value=action, status=status)


def edit(admin: webtest.TestApp, provider_id: str, status: int = 303, **values: str | bool) -> webtest.TestResponse:
    form = admin.get(f"{PATH}?provider={provider_id}").forms["provider-form"]
    for name, value in values.items():
        form[name] = value
    return form.submit("action", value="save", status=status)


def sso_buttons(browser: webtest.TestApp) -> dict[str, str]:
    """The login page's Single Sign On buttons: form action -> button text."""
    page = browser.get("/login")
    return {
        form["action"]: form.find("button").get_text(strip=True) for form in page.html.find_all("form", class_="sso")
    }


def start_status(browser: webtest.TestApp, provider_id: str) -> int:
    """POSTs the start of a sign-in with a provider, as a stale or forged button would."""
    token = csrf_token(browser.get("/login"))
    return browser.post(f"/sso/{provider_id}/start", {"csrf_token": token}, status="*").status_int


def providers_table(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(identity_providers).order_by(identity_providers.c.display_name)))


def provider_row(engine: Engine, provider_id: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            select(identity_providers).where(identity_providers.c.id == provider_id)
        ).one_or_none()


def links_of(engine: Engine, provider_id: str) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(identity_links).where(identity_links.c.provider_id == provider_id)))


def linked_emails(engine: Engine, provider_id: str) -> set[str]:
    with engine.connect() as connection:
        return set(
            connection.scalars(
                select(practitioners.c.email)
                .join(identity_links, identity_links.c.practitioner_id == practitioners.c.id)
                .where(identity_links.c.provider_id == provider_id)
            )
        )


def last_sign_in(sso: Sso) -> str:
    return next(row["What happened"] for row in audit_rows(sso.admin()) if row["Event"] == "sso login succeeded")


@pytest.fixture
def two(sso: Sso, op2: LoopbackProvider) -> tuple[Sso, str, str]:
    """Acme with two providers: Contoso ID (Ann signs in there) and Fabrikam ID (Bob's)."""
    sso.portal.add_practitioner("acme", BOB)
    contoso = sso.connect(name="Contoso ID")
    fabrikam = added(add_provider(sso, op2, "Fabrikam ID"))
    return sso, contoso, fabrikam


@pytest.fixture
def both_linked(two: tuple[Sso, str, str], op2: LoopbackProvider) -> tuple[Sso, str, str]:
    """Ann has linked her Contoso account, Bob his Fabrikam account."""
    sso, contoso, fabrikam = two
    ann = sso.portal.browser("acme")
    assert sso.log_in(ann, 303, contoso).location.endswith("/sso/link")
    assert sso.confirm_link(ann, ANN).location.endswith("/")
    bob = sso.portal.browser("acme")
    assert sso.log_in(bob, 303, fabrikam).location.endswith("/sso/link")
    assert sso.confirm_link(bob, BOB).location.endswith("/")
    return two


# --- the provider list -------------------------------------------------------------------------------


def test_the_page_lists_every_provider_with_its_protocol_status_and_buttons(two, engine: Engine):
    sso, contoso, fabrikam = two
    list_action(sso.admin(), "disable", fabrikam)
    page = sso.admin().get(PATH)
    rows = {
        tr["data-provider"]: [td.get_text(" ", strip=True) for td in tr.find_all("td")]
        for tr in page.html.find(id="providers").tbody.find_all("tr")
    }
    assert set(rows) == {contoso, fabrikam}
    assert rows[contoso][:3] == ["Contoso ID", "OpenID Connect", "enabled"]
    assert rows[fabrikam][:3] == ["Fabrikam ID", "OpenID Connect", "disabled"]
    assert "Edit" in rows[contoso][3] and "Disable" in rows[contoso][3] and "Remove" in rows[contoso][3]
    assert "Enable" in rows[fabrikam][3]
    for provider_id in (contoso, fabrikam):
        for form_id in (f"switch-{provider_id}", f"remove-{provider_id}"):
            form = page.forms[form_id]
            assert form.method.upper() == "POST" and form["provider_id"].value == provider_id
            assert form["csrf_token"].value
    assert page.html.find(id="add-provider")["href"] == f"{PATH}?provider=new"


def test_edit_opens_the_chosen_provider_and_saving_changes_only_that_one(two, engine: Engine):
    sso, contoso, fabrikam = two
    admin = sso.admin()
    page = admin.get(PATH).click(href=f"provider={fabrikam}")
    assert page.forms["provider-form"]["display_name"].value == "Fabrikam ID"
    before = provider_row(engine, contoso)
    saved = edit(admin, fabrikam, display_name="Fabrikam SSO", client_secret="")
    assert added(saved) == fabrikam
    assert provider_row(engine, fabrikam).display_name == "Fabrikam SSO"
    assert provider_row(engine, contoso) == before


def test_add_a_provider_opens_an_empty_form_and_creates_a_second_provider(two, engine: Engine):
    sso, contoso, fabrikam = two
    rows = providers_table(engine)
    assert [row.display_name for row in rows] == ["Contoso ID", "Fabrikam ID"]
    assert {row.issuer for row in rows} == {sso.op.issuer, provider_row(engine, fabrikam).issuer}
    assert provider_row(engine, fabrikam).issuer != sso.op.issuer
    page = sso.admin().get(f"{PATH}?provider=new")
    assert "acknowledge_relink" not in page.forms["provider-form"].fields  # nothing linked to warn about
    assert "New provider" in page.text


def test_a_new_provider_from_the_add_form_needs_its_fields_and_saves_nothing_when_refused(two, op2, engine: Engine):
    sso, _, _ = two
    page = add_provider(sso, op2, "Third", status=400, client_secret="", token_endpoint="http://login.example.com/t")
    assert field_error(page, "client_secret") == "this field is required"
    assert "https://" in field_error(page, "token_endpoint")
    assert len(providers_table(engine)) == 2


# --- two providers on the login page -------------------------------------------------------------------


def test_each_provider_has_its_button_and_logs_in_through_its_own_provider(both_linked, op2, engine: Engine):
    sso, contoso, fabrikam = both_linked
    assert sso_buttons(sso.portal.browser("acme")) == {
        f"/sso/{contoso}/start": "Single Sign On: Contoso ID",
        f"/sso/{fabrikam}/start": "Single Sign On: Fabrikam ID",
    }
    assert linked_emails(engine, contoso) == {ANN} and linked_emails(engine, fabrikam) == {BOB}
    assert [link.issuer for link in links_of(engine, contoso)] == [sso.op.issuer]
    assert [link.issuer for link in links_of(engine, fabrikam)] == [op2.issuer]

    ann = sso.portal.browser("acme")
    assert sso.log_in(ann, 303, contoso).location.endswith("/")
    assert last_sign_in(sso) == f"{ANN} signed in with Contoso ID"
    bob = sso.portal.browser("acme")
    assert sso.log_in(bob, 303, fabrikam).location.endswith("/")
    assert last_sign_in(sso) == f"{BOB} signed in with Fabrikam ID"


def test_the_state_says_which_provider_answered(both_linked, op2):
    sso, contoso, fabrikam = both_linked
    sso.op.reset()
    op2.reset()
    browser = sso.portal.browser("acme")
    to_contoso = sso.start(browser, contoso)
    to_fabrikam = sso.start(browser, fabrikam)  # the later start is the sign-in in progress
    from_contoso, from_fabrikam = sso.at_provider(to_contoso), sso.at_provider(to_fabrikam)
    assert browser.get(from_fabrikam, status=303).location.endswith("/")
    assert op2.hits["/token"] == 1 and sso.op.hits["/token"] == 0
    assert last_sign_in(sso) == f"{BOB} signed in with Fabrikam ID"
    # Contoso's answer belongs to no sign-in of this browser any more
    page = browser.get(from_contoso, status=400)
    assert "not started in this browser" in page.text
    assert sso.op.hits["/token"] == 0


def test_a_code_from_one_provider_under_the_state_of_the_other_logs_nobody_in(both_linked, op2):
    """The state decides where the code is redeemed: Contoso's code goes to Fabrikam, which refuses it."""
    sso, contoso, fabrikam = both_linked
    browser = sso.portal.browser("acme")
    from_contoso = sso.at_provider(sso.start(browser, contoso))
    code = parse_qs(urlsplit(from_contoso).query)["code"][0]
    to_fabrikam = sso.start(browser, fabrikam)
    state = parse_qs(urlsplit(to_fabrikam).query)["state"][0]
    sso.op.reset()
    op2.reset()
    page = browser.get("/process_sso?" + urlencode({"state": state, "code": code}), status=502)
    assert "The identity provider did not answer properly" in page.text and "the token endpoint" in page.text
    assert op2.hits["/token"] == 1 and sso.op.hits["/token"] == 0
    assert logged_out(browser)


# --- enable and disable -------------------------------------------------------------------------------


def test_a_disabled_provider_loses_its_button_and_cannot_be_started(both_linked, engine: Engine):
    sso, contoso, fabrikam = both_linked
    page = list_action(sso.admin(), "disable", fabrikam).follow()
    assert "Fabrikam ID is disabled." in page.text
    assert not provider_row(engine, fabrikam).enabled and provider_row(engine, contoso).enabled
    browser = sso.portal.browser("acme")
    assert sso_buttons(browser) == {f"/sso/{contoso}/start": "Single Sign On: Contoso ID"}
    assert start_status(browser, fabrikam) == 404
    assert linked_emails(engine, fabrikam) == {BOB}  # disabled, not unlinked
    assert sso.log_in(browser, 303, contoso).location.endswith("/")
    assert any("Fabrikam ID: disabled" in row["What happened"] for row in audit_rows(sso.admin()))


def test_an_enabled_provider_gets_its_button_back_and_its_links_work_again(both_linked, engine: Engine):
    sso, contoso, fabrikam = both_linked
    admin = sso.admin()
    list_action(admin, "disable", fabrikam)
    page = list_action(admin, "enable", fabrikam).follow()
    assert "Fabrikam ID is enabled." in page.text and provider_row(engine, fabrikam).enabled
    browser = sso.portal.browser("acme")
    assert f"/sso/{fabrikam}/start" in sso_buttons(browser)
    assert sso.log_in(browser, 303, fabrikam).location.endswith("/")


def test_a_callback_for_a_provider_disabled_meanwhile_logs_nobody_in(both_linked):
    sso, contoso, fabrikam = both_linked
    browser = sso.portal.browser("acme")
    callback = sso.at_provider(sso.start(browser, fabrikam))
    list_action(sso.admin(), "disable", fabrikam)
    browser.get(callback, status=404)
    assert logged_out(browser)


# --- remove -------------------------------------------------------------------------------------------


def test_a_removed_provider_takes_its_links_with_it(both_linked, op2, engine: Engine):
    sso, contoso, fabrikam = both_linked
    page = list_action(sso.admin(), "remove", fabrikam).follow()
    assert "Fabrikam ID is removed" in page.text
    assert provider_row(engine, fabrikam) is None and links_of(engine, fabrikam) == []
    assert linked_emails(engine, contoso) == {ANN}
    assert fabrikam not in page.text
    browser = sso.portal.browser("acme")
    assert sso_buttons(browser) == {f"/sso/{contoso}/start": "Single Sign On: Contoso ID"}
    assert start_status(browser, fabrikam) == 404
    assert sso.log_in(browser, 303, contoso).location.endswith("/")
    assert any(
        "Fabrikam ID: removed, with its linked accounts" in row["What happened"] for row in audit_rows(sso.admin())
    )


def test_removing_and_adding_the_provider_again_needs_every_link_confirmed_again(both_linked, op2, engine: Engine):
    sso, contoso, fabrikam = both_linked
    list_action(sso.admin(), "remove", fabrikam)
    again = added(add_provider(sso, op2, "Fabrikam ID"))
    bob = sso.portal.browser("acme")
    assert sso.log_in(bob, 303, again).location.endswith("/sso/link")
    assert logged_out(bob)


# --- what would lock everybody out is refused -------------------------------------------------------


@pytest.mark.parametrize("action", ["disable", "remove"])
def test_the_only_provider_of_a_restricted_tenant_cannot_be_disabled_or_removed(sso: Sso, engine: Engine, action: str):
    provider_id = sso.connect(restrict_to_sso=True)
    admin = sso.admin_through_provider()
    sso.first_login(sso.portal.browser("acme"), ANN)
    before, links, events = (
        provider_row(engine, provider_id),
        links_of(engine, provider_id),
        audited(engine),
    )
    page = list_action(admin, action, provider_id, status=400)
    assert "Contoso ID is the only way to log in here and cannot be" in page.html.find(class_="error").get_text()
    assert provider_row(engine, provider_id) == before and links_of(engine, provider_id) == links
    assert audited(engine) == events
    assert sso.log_in(sso.portal.browser("acme"), 303).location.endswith("/")


def test_with_two_providers_one_may_go_but_not_the_last_enabled_one(two, engine: Engine):
    sso, contoso, fabrikam = two
    edit(sso.admin(), contoso, client_secret="", restrict_to_sso=True)
    admin = sso.admin_through_provider(provider_id=contoso)
    list_action(admin, "disable", fabrikam)
    page = list_action(admin, "remove", contoso, status=400)
    assert "Contoso ID is the only way to log in here" in page.text
    list_action(admin, "disable", contoso, status=400)
    assert provider_row(engine, contoso).enabled
    list_action(admin, "remove", fabrikam)  # a disabled provider is no way in: it may go
    assert [row.id for row in providers_table(engine)] == [contoso]


# --- changing the issuer or client id: links wait for re-confirmation ---------------------------------


def test_the_edit_form_warns_before_saving_that_links_are_confirmed_again(sso: Sso):
    provider_id = sso.connect()
    page = sso.admin().get(f"{PATH}?provider={provider_id}")
    for name in ("issuer", "client_id"):
        note = page.html.find(id=f"{name}-note").get_text(" ", strip=True)
        assert "confirm their link again" in note
        assert f"{name}-note" in page.html.find(id=name)["aria-describedby"]
    checkbox = page.forms["provider-form"]["acknowledge_relink"]
    assert not checkbox.checked
    assert "I understand: linked practitioners confirm again" in page.text


@pytest.mark.parametrize("field", ["client_id", "issuer"])
def test_changing_the_client_id_or_issuer_without_acknowledging_is_refused_and_saves_nothing(
    sso: Sso, engine: Engine, field: str
):
    provider_id = sso.connect()
    sso.first_login(sso.portal.browser("acme"), ANN)
    before, events = provider_row(engine, provider_id), audited(engine)
    value = "portal-v2" if field == "client_id" else sso.op.issuer + "/v2"
    page = edit(sso.admin(), provider_id, status=400, client_secret="", **{field: value})
    assert "tick the box to go ahead" in field_error(page, "acknowledge_relink")
    assert "Nothing was saved" in page.text
    assert page.forms["provider-form"][field].value == value  # kept for the admin to tick and save
    assert provider_row(engine, provider_id) == before and audited(engine) == events
    assert not any(link.needs_reconfirmation for link in links_of(engine, provider_id))
    assert sso.log_in(sso.portal.browser("acme"), 303).location.endswith("/")


@pytest.mark.parametrize("field", ["token_endpoint", "jwks_uri"])
def test_moving_the_token_endpoint_or_keys_to_another_host_is_a_change_of_trust(sso: Sso, engine: Engine, field: str):
    provider_id = sso.connect()
    sso.first_login(sso.portal.browser("acme"), ANN)
    before = provider_row(engine, provider_id)
    elsewhere = getattr(before, field).replace("127.0.0.1", "localhost")
    assert elsewhere != getattr(before, field)
    refused = edit(sso.admin(), provider_id, status=400, client_secret="", **{field: elsewhere})
    assert "tick the box to go ahead" in field_error(refused, "acknowledge_relink")
    assert provider_row(engine, provider_id) == before
    form = refused.forms["provider-form"]
    form["acknowledge_relink"] = True
    form.submit("action", value="save", status=303)
    assert [link.needs_reconfirmation for link in links_of(engine, provider_id)] == [True]


def test_a_new_path_on_the_same_host_is_no_change_of_trust(sso: Sso, engine: Engine):
    provider_id = sso.connect()
    sso.first_login(sso.portal.browser("acme"), ANN)
    moved = provider_row(engine, provider_id).jwks_uri + "?v=2"
    edit(sso.admin(), provider_id, status=303, client_secret="", jwks_uri=moved)
    assert provider_row(engine, provider_id).jwks_uri == moved
    assert [link.needs_reconfirmation for link in links_of(engine, provider_id)] == [False]


def test_an_acknowledged_client_id_change_makes_linked_practitioners_confirm_once_again(sso: Sso, engine: Engine):
    provider_id = sso.connect()
    sso.first_login(sso.portal.browser("acme"), ANN)
    refused = edit(sso.admin(), provider_id, status=400, client_id="portal-v2", client_secret="")
    form = refused.forms["provider-form"]
    form["acknowledge_relink"] = True
    saved = form.submit("action", value="save", status=303)
    assert added(saved) == provider_id and provider_row(engine, provider_id).client_id == "portal-v2"
    assert [link.needs_reconfirmation for link in links_of(engine, provider_id)] == [True]
    assert "1 linked account must confirm again" in audit_rows(sso.admin())[0]["What happened"]
    sso.op.register_client("portal-v2", CLIENT_SECRET, [redirect_uri("acme")])

    browser = sso.portal.browser("acme")
    answer = sso.log_in(browser, 303)
    assert answer.location.endswith("/sso/link")  # no silent re-binding
    assert logged_out(browser)
    assert sso.confirm_link(browser, ANN).location.endswith("/")
    assert [link.needs_reconfirmation for link in links_of(engine, provider_id)] == [False]
    assert len(links_of(engine, provider_id)) == 1

    again = sso.portal.browser("acme")
    assert sso.log_in(again, 303).location.endswith("/")


def test_another_practitioner_cannot_take_over_a_link_waiting_for_confirmation(sso: Sso, engine: Engine):
    provider_id = sso.connect()
    sso.portal.add_practitioner("acme", BOB)
    sso.first_login(sso.portal.browser("acme"), ANN)
    edit(sso.admin(), provider_id, client_id="portal-v2", client_secret="", acknowledge_relink=True)
    sso.op.register_client("portal-v2", CLIENT_SECRET, [redirect_uri("acme")])
    browser = sso.portal.browser("acme")
    sso.log_in(browser, 303)
    page = sso.confirm_link(browser, BOB)
    assert page.status_int >= 400 and logged_out(browser)
    assert linked_emails(engine, provider_id) == {ANN}


def test_an_edit_that_keeps_issuer_and_client_id_needs_no_acknowledgement(sso: Sso, engine: Engine):
    provider_id = sso.connect()
    sso.first_login(sso.portal.browser("acme"), ANN)
    edit(
        sso.admin(),
        provider_id,
        display_name="Contoso SSO",
        token_endpoint_auth_method="client_secret_post",
        client_secret="",
    )
    assert not any(link.needs_reconfirmation for link in links_of(engine, provider_id))
    sso.op.register_client(
        CLIENT_ID, CLIENT_SECRET, [redirect_uri("acme")], token_endpoint_auth_method="client_secret_post"
    )
    assert sso.log_in(sso.portal.browser("acme"), 303).location.endswith("/")


# --- plain OAuth 2.0 providers ----------------------------------------------------------------------


@pytest.mark.parametrize("send_id_token", [False, True], ids=["no-id-token", "id-token-ignored"])
def test_an_oauth2_provider_configured_in_the_form_logs_a_practitioner_in_after_the_code(
    sso: Sso, oauth2: LoopbackProvider, engine: Engine, send_id_token: bool
):
    oauth2.send_id_token = send_id_token
    provider_id = added(add_provider(sso, oauth2, "Contoso OAuth", **oauth2_fields(oauth2)))
    row = provider_row(engine, provider_id)
    assert (row.protocol, row.issuer, row.jwks_uri) == ("oauth2", "", "")
    assert (row.subject_field, row.email_field, row.given_name_field, row.family_name_field) == (
        "sub",
        "email",
        "given_name",
        "family_name",
    )
    assert sso_buttons(sso.portal.browser("acme")) == {f"/sso/{provider_id}/start": "Single Sign On: Contoso OAuth"}

    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, 303, provider_id).location.endswith("/sso/link")
    assert sso.confirm_link(browser, ANN).location.endswith("/")
    (link,) = links_of(engine, provider_id)
    assert (link.issuer, link.subject) == (f"oauth2:{provider_id}", "ann-sub")

    again = sso.portal.browser("acme")
    assert sso.log_in(again, 303, provider_id).location.endswith("/")
    assert last_sign_in(sso) == f"{ANN} signed in with Contoso OAuth"

    (authorization, *_) = oauth2.requests_to("/authorization")
    assert authorization.query["scope"] == ["email profile"] and "nonce" not in authorization.query
    assert authorization.query["code_challenge_method"] == ["S256"]
    assert all("code_verifier" in parse_qs(r.body.decode()) for r in oauth2.requests_to("/token"))
    assert all(r.headers["Authorization"].startswith("Bearer ") for r in oauth2.requests_to("/userinfo"))
    assert oauth2.hits[DISCOVERY] == 0 and oauth2.hits["/jwks"] == 0


def test_an_oauth2_provider_reads_the_configured_userinfo_fields(sso: Sso, oauth2: LoopbackProvider, engine: Engine):
    """A numeric id and names in a nested object: with just-in-time registration the new account
    is filled from the fields the admin named."""
    with engine.begin() as connection:
        connection.execute(
            update(tenants).where(tenants.c.slug == "acme").values(unknown_identity=UnknownIdentityHandling.REGISTER)
        )
    oauth2.answer_userinfo_with(
        {
            "id": 4711,
            "login": "nora",
            "mail": "nora@home.example",
            "name": {"first": "Nora", "last": "Newman"},
            "email": "not-this@home.example",
            "given_name": "Not-this",
        }
    )
    provider_id = added(
        add_provider(
            sso,
            oauth2,
            "Git Host",
            **oauth2_fields(
                oauth2,
                subject_field="id",
                email_field="mail",
                given_name_field="name.first",
                family_name_field="name.last",
            ),
        )
    )
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, 303, provider_id).location.endswith("/")
    (link,) = links_of(engine, provider_id)
    assert (link.issuer, link.subject) == (f"oauth2:{provider_id}", "4711")
    with engine.connect() as connection:
        nora = connection.execute(select(practitioners).where(practitioners.c.id == link.practitioner_id)).one()
    assert (nora.email, nora.first_name, nora.last_name) == ("nora@home.example", "Nora", "Newman")
    assert nora.password_hash is None


@pytest.mark.parametrize(
    "userinfo",
    [
        {"email": "ann@home.example"},
        {"employee_id": "", "email": "ann@home.example"},
        {"employee_id": None},
        {"employee_id": True},
        {"employee_id": {"nested": "object"}},
    ],
    ids=["missing", "empty", "null", "boolean", "object"],
)
def test_an_oauth2_userinfo_without_the_foreign_id_logs_nobody_in(
    sso: Sso, oauth2: LoopbackProvider, engine: Engine, userinfo
):
    provider_id = added(
        add_provider(sso, oauth2, "Contoso OAuth", **oauth2_fields(oauth2, subject_field="employee_id"))
    )
    oauth2.answer_userinfo_with(userinfo)
    browser = sso.portal.browser("acme")
    page = sso.log_in(browser, 400, provider_id)
    assert "Single Sign On did not work" in page.text and "the userinfo answer has no employee_id." in page.text
    assert logged_out(browser) and links_of(engine, provider_id) == []
    assert "the userinfo answer has no employee_id" in audit_rows(sso.admin())[0]["What happened"]


def test_an_oauth2_provider_needs_no_issuer_and_no_jwks_but_its_endpoints_and_fields(
    sso: Sso, oauth2: LoopbackProvider, engine: Engine
):
    page = add_provider(
        sso,
        oauth2,
        "Contoso OAuth",
        status=400,
        **oauth2_fields(oauth2, userinfo_endpoint="", subject_field=" ", token_endpoint="http://login.example.com/t"),
    )
    assert field_error(page, "issuer") is None and field_error(page, "jwks_uri") is None
    assert field_error(page, "userinfo_endpoint") == "this field is required"
    assert field_error(page, "subject_field") == "name the userinfo field"
    assert "https://" in field_error(page, "token_endpoint")
    assert page.forms["provider-form"]["protocol"].value == "oauth2"
    assert providers_table(engine) == []


def test_a_forged_protocol_is_refused_beside_its_field(sso: Sso, engine: Engine):
    form = sso.admin().get(PATH).forms["provider-form"]
    for name, value in {"display_name": "Contoso ID", **provider_fields(sso.op)}.items():
        form[name] = value
    form["protocol"].force_value("saml")
    page = form.submit("action", value="save", status=400)
    assert field_error(page, "protocol") == "choose OpenID Connect or OAuth 2.0"
    assert providers_table(engine) == []


def test_an_oauth2_provider_stores_no_issuer_or_jwks_even_when_typed_and_never_fetches_them(
    sso: Sso, oauth2: LoopbackProvider, engine: Engine
):
    provider_id = added(
        add_provider(
            sso,
            oauth2,
            "Contoso OAuth",
            **oauth2_fields(oauth2, issuer="https://10.0.0.5/never-fetched", jwks_uri="https://169.254.169.254/keys"),
        )
    )
    row = provider_row(engine, provider_id)
    assert (row.issuer, row.jwks_uri) == ("", "")
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, 303, provider_id).location.endswith("/sso/link")


def test_an_endpoint_of_an_oauth2_provider_is_guarded_like_any_other(
    sso: Sso, oauth2: LoopbackProvider, engine: Engine
):
    page = add_provider(
        sso,
        oauth2,
        "Contoso OAuth",
        status=400,
        **oauth2_fields(oauth2, userinfo_endpoint="https://169.254.169.254/userinfo"),
    )
    assert "a cloud metadata address" in field_error(page, "userinfo_endpoint")
    assert providers_table(engine) == []


def test_changing_the_foreign_id_field_of_an_oauth2_provider_needs_acknowledging(
    sso: Sso, oauth2: LoopbackProvider, engine: Engine
):
    provider_id = added(add_provider(sso, oauth2, "Contoso OAuth", **oauth2_fields(oauth2)))
    browser = sso.portal.browser("acme")
    sso.log_in(browser, 303, provider_id)
    sso.confirm_link(browser, ANN)
    admin = sso.admin()
    assert (
        "confirm their link again"
        in admin.get(f"{PATH}?provider={provider_id}").html.find(id="subject_field-note").get_text()
    )
    page = edit(admin, provider_id, status=400, subject_field="preferred_username", client_secret="")
    assert "foreign id field" in field_error(page, "acknowledge_relink")
    assert provider_row(engine, provider_id).subject_field == "sub"
    edit(admin, provider_id, subject_field="email", client_secret="", acknowledge_relink=True)
    assert [link.needs_reconfirmation for link in links_of(engine, provider_id)] == [True]


def test_oidc_and_oauth2_providers_side_by_side(sso: Sso, oauth2: LoopbackProvider, engine: Engine):
    contoso = sso.connect()
    plain = added(add_provider(sso, oauth2, "Contoso OAuth", **oauth2_fields(oauth2)))
    assert set(sso_buttons(sso.portal.browser("acme"))) == {f"/sso/{contoso}/start", f"/sso/{plain}/start"}
    # the same sub at both is two identities: keyed by (provider, issuer, sub)
    ann = sso.portal.browser("acme")
    sso.log_in(ann, 303, contoso)
    sso.confirm_link(ann, ANN)
    other = sso.portal.browser("acme")
    assert sso.log_in(other, 303, plain).location.endswith("/sso/link")
    assert logged_out(other)
    rows = sso.admin().get(PATH).html.find(id="providers").tbody.find_all("tr")
    assert {tr["data-provider"]: tr.find_all("td")[1].get_text(strip=True) for tr in rows} == {
        contoso: "OpenID Connect",
        plain: "OAuth 2.0",
    }


# --- tenant isolation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["enable", "disable", "remove"])
def test_another_tenant_cannot_switch_or_remove_a_provider_by_its_id(both_linked, engine: Engine, action: str):
    sso, contoso, fabrikam = both_linked
    if action == "enable":
        list_action(sso.admin(), "disable", fabrikam)
    before = providers_table(engine)
    links = {pid: links_of(engine, pid) for pid in (contoso, fabrikam)}
    sso.portal.open_tenant("beta")
    beta = sso.admin("beta")
    token = csrf_token(beta.get(PATH))
    for provider_id in (contoso, fabrikam):
        beta.post(PATH, {"csrf_token": token, "action": action, "provider_id": provider_id}, status=404)
        beta.post(
            f"{PATH}?provider={provider_id}",
            {"csrf_token": token, "action": action, "provider_id": provider_id},
            status=404,
        )
    assert providers_table(engine) == before
    assert {pid: links_of(engine, pid) for pid in (contoso, fabrikam)} == links
    assert audit_rows(beta) == []


def test_another_tenant_cannot_edit_a_provider_by_its_id_even_acknowledging(both_linked, op2, engine: Engine):
    sso, contoso, fabrikam = both_linked
    before = providers_table(engine)
    sso.portal.open_tenant("beta")
    beta = sso.admin("beta")
    page = beta.get(PATH)
    assert contoso not in page.text and fabrikam not in page.text and "Contoso ID" not in page.text
    token = csrf_token(page)
    beta.get(f"{PATH}?provider={fabrikam}", status=404)
    beta.post(
        f"{PATH}?provider={fabrikam}",
        {
            "csrf_token": token,
            "action": "save",
            "acknowledge_relink": "on",
            "display_name": "Hijacked",
            **{k: v for k, v in provider_fields(op2, client_id="evil", enabled="on").items()},
        },
        status=404,
    )
    assert providers_table(engine) == before
    assert not any(link.needs_reconfirmation for link in links_of(engine, fabrikam))


def test_the_provider_list_of_a_tenant_shows_only_its_own_providers(both_linked, op2):
    sso, contoso, fabrikam = both_linked
    sso.portal.open_tenant("beta")
    beta_id = added(add_provider(sso, op2, "Beta ID", slug="beta"))
    page = sso.admin("beta").get(PATH)
    assert [tr["data-provider"] for tr in page.html.find(id="providers").tbody.find_all("tr")] == [beta_id]
    acme = sso.admin("acme").get(PATH)
    assert beta_id not in acme.text and "Beta ID" not in acme.text
    assert sso_buttons(sso.portal.browser("beta")) == {f"/sso/{beta_id}/start": "Single Sign On: Beta ID"}


# --- malformed requests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["enable", "disable", "remove"])
@pytest.mark.parametrize("token", [None, "", "forged-token"], ids=["missing", "empty", "wrong"])
def test_a_list_button_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    two, engine: Engine, action: str, token
):
    sso, contoso, fabrikam = two
    if action == "enable":
        list_action(sso.admin(), "disable", fabrikam)
    before = providers_table(engine)
    admin = sso.admin()
    admin.get(PATH)
    fields = {"action": action, "provider_id": fabrikam}
    if token is not None:
        fields["csrf_token"] = token
    page = admin.post(PATH, fields, status=400)
    assert "The form has expired" in page.text
    assert providers_table(engine) == before


@pytest.mark.parametrize("action", ["enable", "disable", "remove"])
@pytest.mark.parametrize(
    "provider_id",
    [None, "", "nope", "0" * 32, "x" * 300, "' OR '1'='1", "\u00e9\u20ac"],
    ids=["absent", "empty", "word", "id-shaped", "long", "quote", "unicode"],
)
def test_a_list_button_for_an_unknown_provider_is_a_404_never_a_500(two, engine: Engine, action: str, provider_id):
    sso, _, _ = two
    before = providers_table(engine)
    admin = sso.admin()
    fields = {"csrf_token": csrf_token(admin.get(PATH)), "action": action}
    if provider_id is not None:
        fields["provider_id"] = provider_id
    page = admin.post(PATH, fields, status=404)
    assert "Page not found" in page.text
    assert providers_table(engine) == before


@pytest.mark.parametrize("action", ["disable", "remove"])
def test_a_practitioner_without_the_authentication_right_cannot_press_the_list_buttons(
    two, engine: Engine, action: str
):
    sso, _, fabrikam = two
    before = providers_table(engine)
    plain = sso.portal.browser("acme")
    sso.portal.log_in(plain, ANN)
    token = csrf_token(plain.get("/"))
    plain.post(PATH, {"csrf_token": token, "action": action, "provider_id": fabrikam}, status=403)
    assert providers_table(engine) == before
