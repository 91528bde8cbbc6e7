"""The Authentication module (/admin/authentication, /admin/audit): who may open it, discovery,
validation, the SSRF guard at save time, the write-only client secret, restrict-to-SSO, the
audit trail and tenant isolation. Every form is the page's real ``provider-form``."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
import webtest
from sqlalchemy import Engine, func, select, text

from adapters.db.schema import identity_providers, tenants
from domain.practitioners.rights import ModuleRight
from tests.e2e.conftest import PASSWORD, Portal
from tests.loopback_op.protocol import DISCOVERY
from tests.loopback_op.provider import LoopbackProvider
from tests.e2e.sso import (
    AUDIT,
    CLIENT_ID,
    CLIENT_SECRET,
    Sso,
    audit_rows,
    audited,
    op,  # noqa: F401  (a fixture)
    provider_values,
    redirect_uri,
    sso,  # noqa: F401  (a fixture)
)

PATH = "/admin/authentication"
OWNER = "owner@acme.test"
ANN = "ann@acme.test"
URL_FIELDS = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")
REQUIRED = ("display_name", *URL_FIELDS, "client_id", "client_secret")


# --- helpers -------------------------------------------------------------------------------


def logged_in(portal: Portal, email: str, slug: str = "acme") -> webtest.TestApp:
    browser = portal.browser(slug)
    portal.log_in(browser, email, PASSWORD)
    return browser


def filled(page: webtest.TestResponse, **values: str | bool) -> webtest.Form:
    form = page.forms["provider-form"]
    for name, value in values.items():
        form[name] = value
    return form


def save(browser: webtest.TestApp, status: int = 303, query: str = "", **values: str | bool) -> webtest.TestResponse:
    """Opens the Authentication page, fills the provider form and presses Save."""
    form = filled(browser.get(PATH + query), **values)
    return form.submit("action", value="save", status=status)


def discover(browser: webtest.TestApp, issuer: str, status: int = 200) -> webtest.TestResponse:
    """Types only the issuer and presses "Load from discovery"."""
    form = filled(browser.get(PATH), issuer=issuer)
    return form.submit("action", value="discover", status=status)


def field_error(page: webtest.TestResponse, name: str) -> str | None:
    """The error shown right beside a field of the provider form (after its label for a checkbox)."""
    control = page.html.find(id="provider-form").find(attrs={"name": name})
    if control.parent.name == "label":
        control = control.parent
    sibling = control.find_next_sibling()
    if sibling is not None and "field-error" in sibling.get("class", []):
        return sibling.get_text(" ", strip=True)
    return None


def field_errors(page: webtest.TestResponse) -> dict[str, str]:
    form = page.html.find(id="provider-form")
    names = {tag["name"] for tag in form.find_all(attrs={"name": True})} - {"csrf_token", "action"}
    return {name: error for name in names if (error := field_error(page, name)) is not None}


def csrf_token(page: webtest.TestResponse) -> str:
    return page.html.find("input", attrs={"name": "csrf_token"})["value"]


def count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table))


def stored_provider(engine: Engine):  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(select(identity_providers)).one()


def restricted(engine: Engine, slug: str = "acme") -> bool:
    with engine.connect() as connection:
        return connection.scalar(select(tenants.c.restrict_to_sso).where(tenants.c.slug == slug))


def logged_out(browser: webtest.TestApp) -> bool:
    return browser.get("/", status="*").status_int == 303


@contextmanager
def silent_server() -> Iterator[str]:
    """An HTTP address on 127.0.0.1 that accepts connections and never answers; yields its URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)
    stop, held = threading.Event(), []

    def hold() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@pytest.fixture
def acme(portal: Portal) -> Portal:
    """Acme with its owner, a practitioner with the Authentication right and one without."""
    portal.open_tenant("acme")
    portal.add_practitioner("acme", "security@acme.test", rights=frozenset({ModuleRight.AUTHENTICATION}))
    portal.add_practitioner("acme", "clerk@acme.test", rights=frozenset({ModuleRight.PRACTITIONERS}))
    portal.add_practitioner("acme", "plain@acme.test")
    return portal


# --- who may open the module ------------------------------------------------------------------


@pytest.mark.parametrize("path", [PATH, AUDIT])
def test_an_anonymous_visitor_is_sent_to_log_in(acme: Portal, path: str):
    redirect = acme.browser("acme").get(path, status=303)
    assert redirect.location.endswith("/login?next=" + path.replace("/", "%2F"))


@pytest.mark.parametrize("path", [PATH, AUDIT])
@pytest.mark.parametrize("email", ["plain@acme.test", "clerk@acme.test"])
def test_a_practitioner_without_the_authentication_right_is_refused(acme: Portal, path: str, email: str):
    page = logged_in(acme, email).get(path, status=403)
    assert "Not allowed" in page.text


@pytest.mark.parametrize("path", [PATH, AUDIT])
@pytest.mark.parametrize("email", [OWNER, "security@acme.test"])
def test_the_owner_and_a_holder_of_the_authentication_right_may_open_the_module(acme: Portal, path: str, email: str):
    logged_in(acme, email).get(path, status=200)


def test_a_practitioner_without_the_right_cannot_save_a_provider(acme: Portal, op: LoopbackProvider, engine: Engine):
    browser = logged_in(acme, "plain@acme.test")
    token = csrf_token(browser.get("/"))
    browser.post(PATH, {"csrf_token": token, "action": "save", **provider_values(op)}, status=403)
    assert count(engine, identity_providers) == 0


def test_a_holder_of_the_authentication_right_can_connect_a_provider(
    acme: Portal, op: LoopbackProvider, engine: Engine
):
    save(logged_in(acme, "security@acme.test"), **provider_values(op))
    assert stored_provider(engine).issuer == op.issuer


# --- the page ------------------------------------------------------------------------------


def test_the_page_shows_the_redirect_uri_to_register_with_a_copy_button(sso: Sso):
    page = sso.admin().get(PATH)
    code = page.html.find(id="redirect-uri")
    assert code.get_text(strip=True) == "http://acme.portal.test/process_sso" == redirect_uri("acme")
    button = code.find_next_sibling("button")
    assert button.get_text(strip=True) == "Copy" and button["data-copy"] == "redirect-uri"


# --- Load from discovery ---------------------------------------------------------------------


def test_discovery_fills_the_endpoints_for_review_and_saves_nothing(sso: Sso, engine: Engine):
    page = discover(sso.admin(), sso.op.issuer)
    document = requests.get(sso.op.url(DISCOVERY), timeout=5).json()
    form = page.forms["provider-form"]
    expected = {
        "issuer": sso.op.issuer,
        "authorization_endpoint": sso.op.url("/authorization"),
        "token_endpoint": sso.op.url("/token"),
        "jwks_uri": sso.op.url("/jwks"),
        "userinfo_endpoint": sso.op.url("/userinfo"),
    }
    assert {name: form[name].value for name in expected} == expected == {name: document[name] for name in expected}
    assert "Review them, then save" in page.text
    assert count(engine, identity_providers) == 0 and audited(engine) == 0


def test_a_provider_loaded_from_discovery_and_saved_logs_practitioners_in(sso: Sso, engine: Engine):
    sso.op.register_client(CLIENT_ID, CLIENT_SECRET, redirect_uri("acme"))
    page = discover(sso.admin(), sso.op.issuer)
    filled(page, display_name="Contoso ID", client_id=CLIENT_ID, client_secret=CLIENT_SECRET).submit(
        "action", value="save", status=303
    )
    assert count(engine, identity_providers) == 1
    done = sso.first_login(sso.portal.browser("acme"), ANN)
    assert done.status_int == 303 and done.location.endswith("/")


@pytest.mark.parametrize(
    ("issuer", "explanation"),
    [
        (lambda op: op.issuer + "/nope", "the issuer answered HTTP 404"),
        (lambda op: op.issuer + "/", "the document's issuer is {op.issuer}, not {op.issuer}/"),
        (
            lambda op: op.issuer.replace("127.0.0.1", "localhost"),
            "the document's issuer is {op.issuer}, not http://localhost:",
        ),
        (lambda op: "https://10.0.0.5/tenant", "10.0.0.5 is a private address"),
        (lambda op: "https://169.254.169.254/latest", "169.254.169.254 is a cloud metadata address"),
        (lambda op: "http://login.example.com", "the URL must start with https://"),
        (lambda op: "", "this field is required"),
    ],
    ids=["not-found", "trailing-slash", "other-host-name", "private", "metadata", "plain-http", "empty"],
)
def test_a_failed_discovery_is_explained_beside_the_issuer_and_saves_nothing(
    sso: Sso, engine: Engine, issuer, explanation
):
    page = discover(sso.admin(), issuer(sso.op), status=400)
    assert explanation.format(op=sso.op) in field_error(page, "issuer")
    assert count(engine, identity_providers) == 0


def test_a_discovery_that_gets_no_answer_gives_up_after_the_timeout(sso: Sso, engine: Engine):
    with silent_server() as issuer:
        page = discover(sso.admin(), issuer, status=400)
    assert "no answer within 2 s" in field_error(page, "issuer")
    assert count(engine, identity_providers) == 0


@pytest.mark.parametrize("send_content_length", [True, False], ids=["announced", "streamed"])
def test_an_oversized_discovery_document_is_refused(sso: Sso, engine: Engine, send_content_length: bool):
    sso.op.oversize_response(DISCOVERY, send_content_length=send_content_length)
    page = discover(sso.admin(), sso.op.issuer, status=400)
    assert "larger than" in field_error(page, "issuer")
    assert count(engine, identity_providers) == 0


# --- validation ----------------------------------------------------------------------------


def test_an_empty_form_marks_every_required_field_and_saves_nothing(sso: Sso, engine: Engine):
    page = save(sso.admin(), status=400, **{name: "" for name in REQUIRED})
    errors = field_errors(page)
    assert set(errors) == set(REQUIRED)
    assert "Nothing was saved" in page.text
    assert count(engine, identity_providers) == 0 and audited(engine) == 0


@pytest.mark.parametrize("field", URL_FIELDS)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://login.example.com/x", "the URL must start with https://"),
        ("login.example.com/x", "enter a full URL"),
        ("https://login.example.com/a b", "enter a single URL without spaces"),
        ("ftp://login.example.com/x", "enter a full URL"),
        ("https://user:pw@login.example.com/x", "user name or password"),
        ("https://login.example.com/x#part", "#fragment"),
        ("https://login.example.com/" + "x" * 2000, "at most 2000 characters"),
        ("https://login.example.com/\x00", "a character that is not allowed"),
    ],
    ids=["plain-http", "no-scheme", "space", "ftp", "credentials", "fragment", "too-long", "nul"],
)
def test_a_malformed_url_is_refused_beside_its_field_and_saves_nothing(
    sso: Sso, engine: Engine, field: str, value: str, message: str
):
    page = save(sso.admin(), status=400, **provider_values(sso.op, **{field: value}))
    assert message in field_error(page, field)
    assert count(engine, identity_providers) == 0 and audited(engine) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("display_name", "   ", "enter the name shown on the button"),
        ("display_name", "n" * 81, "at most 80 characters"),
        ("client_id", "c" * 256, "at most 255 characters"),
        ("issuer", "https://login.example.com/tenant?x=1", "an issuer has no ?query part"),
        ("token_endpoint_auth_method", "private_key_jwt", "choose client_secret_basic or client_secret_post"),
    ],
    ids=["blank-name", "long-name", "long-client-id", "issuer-query", "auth-method"],
)
def test_a_bad_value_is_refused_beside_its_field_and_saves_nothing(
    sso: Sso, engine: Engine, field: str, value: str, message: str
):
    form = filled(sso.admin().get(PATH), **provider_values(sso.op))
    form[field].force_value(value)
    page = form.submit("action", value="save", status=400)
    assert message in field_error(page, field)
    assert set(field_errors(page)) == {field}
    assert count(engine, identity_providers) == 0 and audited(engine) == 0


@pytest.mark.parametrize("action", ["save", "discover"])
def test_a_file_uploaded_where_a_url_belongs_is_refused(sso: Sso, engine: Engine, action: str):
    admin = sso.admin()
    token = csrf_token(admin.get(PATH))
    fields = {k: v for k, v in provider_values(sso.op).items() if k != "issuer"}
    page = admin.post(
        PATH,
        {"csrf_token": token, "action": action, **fields},
        upload_files=[("issuer", "issuer.txt", b"https://login.example.com")],
        status=400,
    )
    assert field_error(page, "issuer") == "this field takes text"
    assert count(engine, identity_providers) == 0


def test_a_bad_edit_leaves_the_saved_provider_as_it_was(sso: Sso, engine: Engine):
    provider_id = sso.connect()
    before = stored_provider(engine)
    page = save(
        sso.admin(),
        status=400,
        query=f"?provider={provider_id}",
        display_name="Renamed",
        token_endpoint="http://login.example.com/token",
    )
    assert "https://" in field_error(page, "token_endpoint")
    assert stored_provider(engine) == before
    assert audited(engine) == 1  # only the first save


# --- SSRF guard at save time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "url", "reason"),
    [
        ("token_endpoint", "https://10.0.0.5/token", "10.0.0.5 is a private address"),
        ("authorization_endpoint", "https://192.168.1.20/authorize", "a private address"),
        (
            "userinfo_endpoint",
            "https://[::ffff:172.16.0.9]/userinfo",
            "a private address (IPv4 172.16.0.9 inside IPv6)",
        ),
        ("jwks_uri", "https://169.254.169.254/latest/meta-data", "a cloud metadata address"),
        ("jwks_uri", "https://169.254.10.10/keys", "a link-local address"),
        ("issuer", "https://100.100.100.200", "a cloud metadata address"),
        ("token_endpoint", "https://0.0.0.0/token", "an unspecified address"),
    ],
    ids=["rfc1918-10", "rfc1918-192", "mapped-ipv6", "aws-metadata", "link-local", "alibaba-metadata", "unspecified"],
)
def test_an_endpoint_inside_the_network_is_refused_at_save_time(
    sso: Sso, engine: Engine, field: str, url: str, reason: str
):
    page = save(sso.admin(), status=400, **provider_values(sso.op, **{field: url}), restrict_to_sso=True)
    assert reason in field_error(page, field)
    assert set(field_errors(page)) == {field}
    assert page.forms["provider-form"][field].value == url  # kept for the admin to correct
    assert count(engine, identity_providers) == 0 and audited(engine) == 0
    assert not restricted(engine)


# --- the client secret is write-only -------------------------------------------------------------


def test_the_client_secret_is_never_shown_and_never_stored_in_clear(sso: Sso, engine: Engine):
    provider_id = sso.connect()
    admin = sso.admin()
    for page in (admin.get(PATH), admin.get(f"{PATH}?provider={provider_id}"), admin.get(AUDIT)):
        assert CLIENT_SECRET not in page.text
    assert admin.get(PATH).forms["provider-form"]["client_secret"].value == ""
    sealed = stored_provider(engine).sealed_client_secret
    assert sealed and CLIENT_SECRET not in sealed


@pytest.mark.parametrize(("action", "status"), [("save", 400), ("discover", 200)])
def test_a_typed_secret_is_not_echoed_when_the_form_comes_back(sso: Sso, action: str, status: int):
    typed = "typed-secret-that-must-not-come-back"
    form = filled(sso.admin().get(PATH), **provider_values(sso.op, client_secret=typed, client_id=""))
    page = form.submit("action", value=action, status=status)
    assert typed not in page.text and page.forms["provider-form"]["client_secret"].value == ""


def test_a_new_provider_needs_a_client_secret(sso: Sso, engine: Engine):
    page = save(sso.admin(), status=400, **provider_values(sso.op, client_secret=""))
    assert field_errors(page) == {"client_secret": "this field is required"}
    assert count(engine, identity_providers) == 0


def test_an_edit_with_the_secret_left_empty_keeps_the_old_secret(sso: Sso, engine: Engine):
    provider_id = sso.connect()
    sealed = stored_provider(engine).sealed_client_secret
    page = save(sso.admin(), query=f"?provider={provider_id}", display_name="Contoso SSO", client_secret="").follow()
    assert "Contoso SSO is saved." in page.text
    assert stored_provider(engine).sealed_client_secret == sealed
    done = sso.first_login(sso.portal.browser("acme"), ANN)
    assert done.status_int == 303 and done.location.endswith("/")


def test_a_new_secret_replaces_the_old_one(sso: Sso, engine: Engine):
    provider_id = sso.connect()
    save(sso.admin(), query=f"?provider={provider_id}", client_secret="not-the-secret-the-provider-knows")
    browser = sso.portal.browser("acme")
    page = sso.log_in(browser, status=502)
    assert "The identity provider did not answer properly" in page.text
    assert "the token endpoint answered HTTP 401" in page.text
    assert logged_out(browser)

    sso.op.register_client(CLIENT_ID, "the-rotated-secret", redirect_uri("acme"))
    save(sso.admin(), query=f"?provider={provider_id}", client_secret="the-rotated-secret")
    done = sso.first_login(sso.portal.browser("acme"), ANN)
    assert done.status_int == 303 and done.location.endswith("/")


def test_a_client_secret_over_the_limit_is_refused_beside_its_field(sso: Sso, engine: Engine):
    page = save(sso.admin(), status=400, **provider_values(sso.op, client_secret="s" * 1001))
    assert "at most 1000 characters" in field_error(page, "client_secret")
    assert count(engine, identity_providers) == 0


# --- restrict to SSO ---------------------------------------------------------------------------


def test_restrict_to_sso_is_saved_shown_and_can_be_lifted(sso: Sso, engine: Engine):
    admin = sso.admin()
    save(admin, **provider_values(sso.op), restrict_to_sso=True)
    assert restricted(engine)
    assert "login-form" not in sso.portal.browser("acme").get("/login").forms
    # The admin's own password session ended with the change: back in through the provider.
    assert "/login" in admin.get("/admin/authentication", status=303).location
    admin = sso.admin_through_provider()
    page = admin.get("/admin/authentication?provider=" + str(providers_of(engine)[0]))
    assert page.forms["provider-form"]["restrict_to_sso"].checked

    page = save(
        admin, query="?provider=" + str(providers_of(engine)[0]), client_secret="", restrict_to_sso=False
    ).follow()
    assert not page.forms["provider-form"]["restrict_to_sso"].checked and not restricted(engine)
    assert "login-form" in sso.portal.browser("acme").get("/login").forms


def providers_of(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(identity_providers.c.id)))


def test_restricting_login_to_sso_ends_every_password_session_and_keeps_the_sso_ones(sso: Sso, engine: Engine):
    provider_id = sso.connect()
    sso.portal.add_practitioner("acme", "bob@acme.test")
    by_password = sso.portal.browser("acme")
    sso.portal.log_in(by_password, ANN)
    by_sso = sso.portal.browser("acme")
    sso.op.login_as("bob-sub", email="bob@acme.test")
    sso.first_login(by_sso, "bob@acme.test")
    assert by_password.get("/account").status_int == 200 and by_sso.get("/account").status_int == 200

    admin = sso.admin()
    save(admin, query=f"?provider={provider_id}", client_secret="", restrict_to_sso=True)

    assert "/login" in by_password.get("/account", status=303).location
    assert "/login" in admin.get("/account", status=303).location
    assert by_sso.get("/account").status_int == 200
    with engine.connect() as connection:
        methods = (
            connection.execute(text("SELECT login_method FROM web_sessions WHERE practitioner_id IS NOT NULL"))
            .scalars()
            .all()
        )
    assert methods == ["sso"]


def test_restrict_to_sso_needs_an_enabled_provider(sso: Sso, engine: Engine):
    page = save(sso.admin(), status=400, **provider_values(sso.op), enabled=False, restrict_to_sso=True)
    assert field_errors(page) == {"restrict_to_sso": "restricting login to Single Sign On needs an enabled provider"}
    assert page.forms["provider-form"]["restrict_to_sso"].checked
    assert count(engine, identity_providers) == 0 and not restricted(engine)


def test_disabling_the_only_provider_of_a_restricted_tenant_is_refused(sso: Sso, engine: Engine):
    save(sso.admin(), **provider_values(sso.op), restrict_to_sso=True)
    admin = sso.admin_through_provider()
    page = save(admin, status=400, enabled=False)
    assert "needs an enabled provider" in field_error(page, "restrict_to_sso")
    assert stored_provider(engine).enabled and restricted(engine)


# --- the audit trail ---------------------------------------------------------------------------


def test_every_save_is_audited_newest_first_with_who_and_what_but_never_the_secret(sso: Sso):
    provider_id = sso.connect()
    admin = sso.admin()
    save(admin, query=f"?provider={provider_id}", display_name="Contoso SSO", client_secret="")
    save(admin, query=f"?provider={provider_id}", client_secret="another-secret-entirely")
    rows = audit_rows(admin)
    assert [row["Event"] for row in rows] == ["settings changed"] * 3
    newest, renamed, added = (row["What happened"] for row in rows)
    assert "client secret replaced" in newest and "button text" not in newest
    assert "button text changed" in renamed and "client secret" not in renamed
    assert "provider added" in added and "client secret replaced" in added
    assert all(row["Who"] == OWNER for row in rows)
    page = admin.get(AUDIT).text
    assert CLIENT_SECRET not in page and "another-secret-entirely" not in page


def test_sso_logins_that_succeed_and_fail_appear_in_the_audit(sso: Sso):
    sso.connect()
    sso.first_login(sso.portal.browser("acme"), ANN)
    sso.log_in(sso.portal.browser("acme"), status=303)
    sso.op.fail_token_endpoint(500)
    sso.log_in(sso.portal.browser("acme"), status=502)
    rows = audit_rows(sso.admin())
    failed, succeeded = rows[0], rows[1]
    assert failed["Event"] == "sso login failed" and "the token endpoint answered HTTP 500" in failed["What happened"]
    assert failed["Who"] == "—" and succeeded["Event"] == "sso login succeeded"
    assert f"{ANN} signed in with Contoso ID" in succeeded["What happened"] and succeeded["Who"] == ANN


def test_a_display_name_with_markup_is_shown_as_text(sso: Sso):
    sso.connect(name="<b>Contoso</b>")
    for page in (sso.admin().get(AUDIT), sso.portal.browser("acme").get("/login")):
        assert "&lt;b&gt;Contoso&lt;/b&gt;" in page.text and "<b>Contoso</b>" not in page.text


# --- tenant isolation ----------------------------------------------------------------------------


def test_another_tenant_neither_sees_nor_opens_nor_overwrites_a_provider(sso: Sso, engine: Engine):
    provider_id = sso.connect("acme")
    sso.first_login(sso.portal.browser("acme"), ANN)
    before = stored_provider(engine)
    sso.portal.open_tenant("beta")
    beta = sso.admin("beta")
    page = beta.get(PATH)
    form = page.forms["provider-form"]
    assert all(form[name].value == "" for name in URL_FIELDS) and form["client_id"].value == ""
    assert sso.op.issuer not in page.text and "Contoso ID" not in page.text and provider_id not in page.text
    beta.get(f"{PATH}?provider={provider_id}", status=404)
    token = csrf_token(page)
    beta.post(
        f"{PATH}?provider={provider_id}",
        {"csrf_token": token, "action": "save", **provider_values(sso.op, display_name="Hijacked")},
        status=404,
    )
    assert stored_provider(engine) == before
    audit = beta.get(AUDIT)
    assert "Contoso ID" not in audit.text and ANN not in audit.text
    assert audit_rows(beta) == []


# --- malformed requests ---------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "forged-token"], ids=["missing", "empty", "wrong"])
def test_a_post_without_a_valid_csrf_token_is_refused_and_saves_nothing(sso: Sso, engine: Engine, token: str | None):
    admin = sso.admin()
    admin.get(PATH)
    fields = {"action": "save", **provider_values(sso.op)}
    if token is not None:
        fields["csrf_token"] = token
    page = admin.post(PATH, fields, status=400)
    assert "The form has expired" in page.text
    assert count(engine, identity_providers) == 0


@pytest.mark.parametrize(
    "provider",
    ["nope", "0" * 32, "x" * 300, "' OR '1'='1", "%C3%A9%E2%82%AC", "a/../b"],
    ids=["word", "id-shaped", "long", "quote", "unicode", "dots"],  # a NUL in the query is a 400 (test_any_input.py)
)
def test_an_unknown_provider_id_is_a_404_page_never_a_500(sso: Sso, provider: str):
    admin = sso.admin()
    page = admin.get(f"{PATH}?provider={provider}", status=404)
    assert "Page not found" in page.text
    token = csrf_token(admin.get(PATH))
    admin.post(
        f"{PATH}?provider={provider}", {"csrf_token": token, "action": "save", **provider_values(sso.op)}, status=404
    )


def test_an_unknown_action_is_refused_with_a_message(sso: Sso, engine: Engine):
    admin = sso.admin()
    token = csrf_token(admin.get(PATH))
    page = admin.post(PATH, {"csrf_token": token, "action": "delete", **provider_values(sso.op)}, status=400)
    assert "That action is not known" in page.text
    assert count(engine, identity_providers) == 0


def test_a_form_refused_for_an_unreadable_field_keeps_what_the_admin_typed(portal):
    portal.open_tenant("acme")
    browser = portal.browser("acme")
    portal.log_in(browser, "owner@acme.test")
    form = browser.get("/admin/authentication").forms["provider-form"]
    form["client_id"] = "kept-client-id"
    form["issuer"] = "https://login.contoso.test/\x00"
    page = form.submit("action", value="save", status=400)
    assert page.forms["provider-form"]["client_id"].value == "kept-client-id"
    assert "not allowed" in page.text
