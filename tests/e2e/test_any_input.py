"""No HTTP 500 for any input, and a refused request changes nothing — on both databases.

First the inputs that answered 500 before (each a regression test), then property-based tests
(Hypothesis) that throw arbitrary text, bytes, numbers and JSON shapes at every form, every
SCIM operation and the identity provider's claims. Each property holds for every example:
the answer is below 500, a redirect's Location is a valid header, and a refused request
(4xx) leaves the practice's state as it was.

The app, the database and the logged-in browsers are built once per test function; an example
only resets what it needs (the SCIM target user, say). Hypothesis keeps no example database.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, quote, unquote_to_bytes, urlencode, urlsplit

import pytest
import webob
import webtest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from adapters.db.schema import metadata
from domain.passwords.recovery import OwnerRecovery
from domain.practitioners.rights import ModuleRight
from domain.tenancy.onboarding import TenantOnboarding
from entrypoints.web.forms import safe_next
from tests.e2e.conftest import BASE_DOMAIN, PASSWORD, Portal
from tests.e2e.sso import Sso, op, provider_values, sso  # noqa: F401  (fixtures)
from tests.e2e.test_scim import PATCH_OP, USER, Scim, create_token

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
FORM = "application/x-www-form-urlencoded"
OWNER = "owner@acme.test"
ANN = "ann@acme.test"

FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,
    # The app, the database and the browsers are fixtures built once per test function, on
    # purpose: an example works on the state the earlier ones left, and resets what it needs.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- what the tests throw ------------------------------------------------------------------

# Anything a client can put in a form or a query: every character but surrogates (which have
# no UTF-8 form to send), NUL and control characters included; and raw bytes that are not UTF-8.
TYPED = st.text(st.characters(codec="utf-8"), max_size=40)
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\r\n",
        "Ann\nSmith",
        "Ann\tSmith",
        "\u2028",
        "\x1b[31m",
        "\x7f",
        "\x85",
        "ann@acme.test",
        "ANN@ACME.TEST",
        "ann@acme.test\r\nBcc: x@evil.test",
        "x,attacker@evil.test",
        "%FF",
        "%00",
        "\ufffd",
        "😀",
        "Ⅻ",
        "a" * 300,
        "/\u20ac",
        "/é",
        "//evil.example",
        "/\\evil.example",
        "http://evil.example/",
        "http://[::1",
        "https://[",
        "http://127.0.0.1:99999/",
        "https://exämple.test/",
        "javascript:alert(1)",
        "-1",
        "0",
        "1e400",
        "NaN",
        "Infinity",
        "99999999999999999999",
    ]
)
RAW = st.binary(min_size=1, max_size=20)
LATIN_1 = st.text(st.characters(max_codepoint=255), max_size=30)
FIELD = st.one_of(TYPED, NASTY, RAW)

# JSON, as a broken or hostile client sends it: lone surrogates and NUL (as JSON escapes),
# control characters, NaN and infinities (Python writes them as bare words), huge integers,
# floats and booleans where numbers or strings belong, nested to any shape.
JSON_CHARACTER = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from("\x00\n\r\t\x1b\u2028"))
JSON_TEXT = st.one_of(st.text(JSON_CHARACTER, max_size=20), NASTY)
JSON_NUMBER = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
)
JSON_SCALAR = st.one_of(st.none(), st.booleans(), JSON_NUMBER, JSON_TEXT)
JSON_VALUE = st.recursive(
    JSON_SCALAR,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(JSON_TEXT, children, max_size=3)),
    max_leaves=8,
)


def dumps(document: Any) -> bytes:
    """JSON as Python writes it: surrogates as \\ud800 escapes, NaN and Infinity as bare words."""
    return json.dumps(document).encode("ascii")


# --- what a refusal must leave alone ---------------------------------------------------------

# The practice's state. Left out on purpose: the throttle counters, the audit log and the
# browsers' sessions, which a refusal writes by design (a failed login is counted and logged).
STATE_TABLES = (
    "tenants",
    "practitioners",
    "password_reset_tokens",
    "identity_providers",
    "identity_links",
    "link_challenges",
    "scim_tokens",
    "mail_outbox",
    "scim_groups",
    "scim_group_members",
)
# Bookkeeping inside state rows: a wrong code is counted against its challenge, a presented
# SCIM token is marked used even when its request is refused.
BOOKKEEPING = {("link_challenges", "wrong_attempts"), ("scim_tokens", "last_used_at")}


def snapshot(engine: Engine) -> dict[str, list[str]]:
    state = {}
    with engine.connect() as connection:
        for name in STATE_TABLES:
            table = metadata.tables[name]
            columns = [c for c in table.columns if (name, c.name) not in BOOKKEEPING]
            state[name] = sorted(repr(tuple(row)) for row in connection.execute(select(*columns)))
    return state


VISIBLE_ASCII = re.compile(r"^[!-~]*$")


def answered(
    response: webtest.TestResponse, before: dict[str, list[str]], engine: Engine, provider_involved: bool = False
) -> webtest.TestResponse:
    """The properties every answer has, whatever was sent.

    Where the identity provider is asked (a code redeemed, a claim issued), it may refuse what it
    was sent: the portal then answers 502 with the page that says so, and changes nothing.
    """
    if provider_involved and response.status_int == 502:
        assert "The identity provider did not answer properly" in response.text
        assert snapshot(engine) == before
        return response
    assert response.status_int < 500, response.text[:2000]
    location = response.headers.get("Location")
    if location is not None:
        assert VISIBLE_ASCII.match(location), location
    if response.status_int >= 400:
        assert snapshot(engine) == before, f"a refused request ({response.status}) changed the state"
    return response


def send(browser: webtest.TestApp, method: str, path: str, body: bytes | None = None) -> Any:
    """The request as a browser sends it, cookies included, and the app's answer.

    Through WebTest where it can; a path that is not UTF-8 once decoded is sent with WebOb
    alone, as WebTest's cookie jar cannot even compute such a URL.
    """
    try:
        unquote_to_bytes(path.partition("?")[0]).decode("utf-8")
    except UnicodeDecodeError:
        environ = {**browser.extra_environ, "HTTP_COOKIE": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())}
        request = webob.Request.blank(path, environ, method=method, POST=body)
        if body is not None:
            request.content_type = FORM
        return request.get_response(browser.app)
    if method == "GET":
        return browser.get(path, expect_errors=True)
    return browser.post(path, body, content_type=FORM, expect_errors=True)


def csrf_token(browser: webtest.TestApp, path: str) -> str:
    page = browser.get(path)
    return page.html.find("input", attrs={"name": "csrf_token"})["value"]  # type: ignore[no-any-return]


def post_form(
    engine: Engine, browser: webtest.TestApp, path: str, fields: dict[str, Any], form_page: str | None = None
) -> webtest.TestResponse:
    """Posts the fields (text or raw bytes; a list for a repeated field) as a browser would, with the page's CSRF token."""
    pairs = [("csrf_token", csrf_token(browser, form_page or path))]
    for name, value in fields.items():
        pairs.extend((name, item) for item in (value if isinstance(value, list) else [value]))
    before = snapshot(engine)
    return answered(send(browser, "POST", path, urlencode(pairs).encode("ascii")), before, engine)


def get(
    engine: Engine,
    browser: webtest.TestApp,
    path: str,
    query: dict[str, Any] | None = None,
    provider_involved: bool = False,
) -> webtest.TestResponse:
    before = snapshot(engine)
    return answered(
        send(browser, "GET", path + ("?" + urlencode(query) if query else "")), before, engine, provider_involved
    )


def raw_path(value: str | bytes) -> str:
    """A path segment as sent on the wire: every byte percent-encoded."""
    return quote(value if isinstance(value, bytes) else value.encode("utf-8"), safe="")


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def acme(portal: Portal) -> Portal:
    portal.open_tenant("acme")
    portal.add_practitioner("acme", ANN)
    return portal


def logged_in(portal: Portal, email: str) -> webtest.TestApp:
    browser = portal.browser("acme")
    portal.log_in(browser, email, PASSWORD)
    return browser


@pytest.fixture
def owner(acme: Portal) -> webtest.TestApp:
    return logged_in(acme, OWNER)


@pytest.fixture
def ann(acme: Portal) -> webtest.TestApp:
    return logged_in(acme, ANN)


def practitioner_id(engine: Engine, email: str) -> str:
    with engine.connect() as connection:
        return connection.execute(text("SELECT id FROM practitioners WHERE email = :e"), {"e": email}).scalar_one()  # type: ignore[no-any-return]


# === the inputs that answered 500, or were kept as they came ==================================


@pytest.mark.parametrize(
    "target",
    [
        "/login?x=%FF",
        "/login?next=%FF",
        "/%FF",
        "/password/reset/%FF",
        "/recover/%FF",
        "/recover/%00",
        "/login?%FF=1",
        "/login?x=%ED%A0%80",
        "/login?x=%00",
        "/sso/%00/start",
        "/admin/authentication?provider=%00",
    ],
)
def test_an_address_that_is_not_utf8_text_is_refused_with_400_and_a_page_that_says_so(acme: Portal, target: str):
    page = acme.browser().get(target, status=400)
    assert "This request cannot be read" in page.text
    assert "address" in page.text


@pytest.mark.parametrize(
    "target", ["/scim/v2/Users/%FF", "/scim/v2/Users?filter=%FF", "/scim/v2/Users?filter=userName%20eq%20%22a%00%22"]
)
def test_a_scim_address_that_is_not_utf8_text_is_refused_as_a_scim_error(acme: Portal, target: str):
    answer = Scim(acme, "acme", create_token(acme, "acme")).get(target.removeprefix("/scim/v2"), status=400)
    assert answer.json["scimType"] == "invalidSyntax"


def test_a_form_that_is_not_utf8_is_refused_and_not_stored_with_replacement_characters(acme: Portal, engine: Engine):
    owner = logged_in(acme, OWNER)
    token = csrf_token(owner, "/admin/practitioners")
    body = f"csrf_token={token}&action=add&email=new%40acme.test&first_name=%FF%FE&last_name=Smith".encode()
    page = owner.post("/admin/practitioners", body, content_type=FORM, status=400)
    assert "The form is not valid UTF-8" in page.text
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT count(*) FROM practitioners WHERE email = 'new@acme.test'")).scalar() == 0
        )


def test_a_form_in_another_charset_is_refused_with_400(acme: Portal):
    answer = acme.browser().post("/login", b"email=a", content_type=FORM + "; charset=latin-1", status=400)
    assert "read as UTF-8" in answer.text


def test_a_form_field_with_a_nul_character_is_refused_beside_its_field(acme: Portal, engine: Engine):
    before = snapshot(engine)
    answer = post_form(
        engine,
        logged_in(acme, OWNER),
        "/admin/practitioners",
        {"action": "add", "email": "new@acme.test", "first_name": "A\x00n", "last_name": "Smith"},
    )
    assert answer.status_int == 400
    assert "this field contains a character that is not allowed" in answer.text
    assert snapshot(engine) == before


def test_a_cookie_that_is_not_utf8_is_refused_with_400_not_500(acme: Portal):
    # A quoted cookie value with octal escapes: WebOb unquotes it to bytes that are not UTF-8.
    browser = webtest.TestApp(
        acme.app, extra_environ={"HTTP_HOST": f"acme.{BASE_DOMAIN}", "HTTP_COOKIE": 'portal_session="\\377\\376"'}
    )
    answer = browser.get("/login", status=400)
    assert "cookie" in answer.text


@pytest.mark.parametrize("target", ["/\u20ac", "/é", "/a b", "/a\x7fb", "/\u2028", "//evil.example", "/\\evil.example"])
def test_a_next_that_cannot_be_a_location_header_falls_back_to_the_start_page(acme: Portal, target: str):
    owner = logged_in(acme, OWNER)
    assert owner.get("/login", {"next": target}, status=303).location == f"http://acme.{BASE_DOMAIN}/"
    form = acme.browser().get("/login", {"next": target}).forms["login-form"]
    form["email"], form["password"] = OWNER, PASSWORD
    assert form.submit(status=303).location == f"http://acme.{BASE_DOMAIN}/"


def test_a_percent_encoded_next_is_kept(acme: Portal):
    owner = logged_in(acme, OWNER)
    assert owner.get("/login", {"next": "/admin/practitioners?q=M%C3%BCller"}, status=303).location.endswith(
        "/admin/practitioners?q=M%C3%BCller"
    )


@pytest.mark.parametrize("attribute", ["count", "startIndex"])
@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1e400", "1.5", "true", '"ten"', "[]"])
def test_a_scim_search_with_a_number_that_is_not_an_integer_is_refused_with_400(
    acme: Portal, attribute: str, number: str
):
    scim = Scim(acme, "acme", create_token(acme, "acme"))
    body = f'{{"schemas": ["{SEARCH}"], "{attribute}": {number}}}'
    answer = scim.post("/Users/.search", body, status=400)
    assert answer.json["scimType"] in ("invalidValue", "invalidSyntax")
    assert attribute in answer.json["detail"]


@pytest.mark.parametrize("number", ["99999999999999999999999999", "-99999999999999999999999999"])
def test_a_huge_scim_integer_is_clamped_not_a_500(acme: Portal, number: str):
    scim = Scim(acme, "acme", create_token(acme, "acme"))
    scim.post("/Users/.search", f'{{"schemas": ["{SEARCH}"], "count": {number}, "startIndex": {number}}}', status=200)
    scim.get(f"/Users?count={number}&startIndex={number}", status=200)


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\u0000"])
@pytest.mark.parametrize(
    "template",
    [
        '{{"schemas": ["' + USER + '"], "userName": "ann{e}@acme.test"}}',
        '{{"schemas": ["' + USER + '"], "userName": "x@acme.test", "name": {{"givenName": "A{e}"}}}}',
        '{{"schemas": ["' + USER + '"], "userName": "x@acme.test", "title": "{e}"}}',
        '{{"schemas": ["' + USER + '"], "userName": "x@acme.test", "externalId": "{e}"}}',
        '{{"schemas": ["' + USER + '"], "userName": "x@acme.test", "{e}": "x"}}',
        '{{"schemas": ["' + USER + '"], "userName": "x@acme.test", "emails": [{{"value": "x{e}@acme.test"}}]}}',
    ],
)
def test_a_scim_string_with_a_nul_or_lone_surrogate_is_refused_and_never_stored(
    acme: Portal, engine: Engine, escape: str, template: str
):
    scim = Scim(acme, "acme", create_token(acme, "acme"))
    before = snapshot(engine)
    answer = scim.post("/Users", template.format(e=escape), status=400)
    assert answer.json["scimType"] == "invalidValue"
    assert "cannot be stored" in answer.json["detail"]
    assert snapshot(engine) == before


@pytest.mark.parametrize("escape", ["\\\\ud800", "\\\\u0000"])
def test_a_scim_filter_comparing_with_a_nul_or_lone_surrogate_is_refused(acme: Portal, escape: str):
    scim = Scim(acme, "acme", create_token(acme, "acme"))
    body = f'{{"schemas": ["{SEARCH}"], "filter": "userName eq \\"a{escape}\\""}}'
    assert scim.post("/Users/.search", body, status=400).json["scimType"] == "invalidFilter"
    assert scim.search(f'userName eq "a{escape[1:]}"', status=400).json["scimType"] == "invalidFilter"


def test_a_scim_user_name_or_external_id_must_be_one_line(acme: Portal):
    scim = Scim(acme, "acme", create_token(acme, "acme"))
    assert (
        "one line" in scim.post("/Users", {"schemas": [USER], "userName": "ann\n@acme.test"}, status=400).json["detail"]
    )
    assert (
        "one line"
        in scim.post("/Users", {"schemas": [USER], "userName": "x@acme.test", "externalId": "a\x1bb"}, status=400).json[
            "detail"
        ]
    )


@pytest.mark.parametrize(
    "name", ["Contoso\r\nBcc: x@evil.test", "Contoso\nID", "Contoso\x1b", "Contoso\u2028ID", "Con\ttoso"]
)
def test_a_provider_button_text_with_a_line_break_or_control_character_is_refused(sso: Sso, engine: Engine, name: str):
    form = sso.admin().get("/admin/authentication").forms["provider-form"]
    for field, value in provider_values(sso.op, display_name=name).items():
        form[field] = value
    page = form.submit("action", value="save", status=400)
    assert "the button text must be one line, without line breaks, tabs or other control characters" in page.text
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM identity_providers")).scalar() == 0


@pytest.mark.parametrize(
    "url", ["http://[::1", "https://[/token", "https://exämple.test/token", "https://login.test/\x01"]
)
def test_an_edited_provider_url_that_is_not_a_url_is_refused_beside_its_field(sso: Sso, engine: Engine, url: str):
    provider_id = sso.connect()
    form = sso.admin().get(f"/admin/authentication?provider={provider_id}").forms["provider-form"]
    form["token_endpoint"] = url
    page = form.submit("action", value="save", status=400)
    assert "URL" in page.text
    with engine.connect() as connection:
        assert connection.execute(text("SELECT token_endpoint FROM identity_providers")).scalar() == sso.op.url(
            "/token"
        )


@pytest.fixture
def registering(sso: Sso) -> Sso:
    """Acme registers newcomers from the token's data, and links by verified email."""
    browser = sso.admin()
    form = browser.get("/admin/authentication/policy").forms["policy-form"]
    form["unknown_identity"] = "register"
    form.submit("action", value="save", status=303)
    sso.connect()
    return sso


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "a\x00b"},
        {"sub": "line\nbreak"},
        {"given_name": "\ud800"},
        {"given_name": "A\x00n"},
        {"family_name": "S\x1bmith"},
        {"email": "new\x00@acme.test"},
        {"nickname": "\udfff"},
        {"website": "\x00"},
    ],
)
def test_a_claim_that_is_not_storable_text_ends_sign_in_with_a_clear_400(
    registering: Sso, portal: Portal, engine: Engine, claims: dict[str, Any]
):
    sent = {
        "sub": "newcomer",
        "email": "new@acme.test",
        "email_verified": True,
        "given_name": "New",
        "family_name": "Comer",
        **claims,
    }
    registering.op.login_as(**sent)
    before = snapshot(engine)
    page = registering.log_in(portal.browser(), status=400)
    assert "Single Sign On did not work" in page.text
    assert "claim" in page.text
    assert snapshot(engine) == before


def test_a_claim_preview_with_unstorable_or_non_finite_values_is_refused_on_the_form(owner: webtest.TestApp):
    for sample, words in (
        ('{"given_name": "\\ud800"}', "cannot be stored"),
        ('{"given_name": NaN}', "not a finite number"),
        ('{"given_name": "A\\u0001n"}', "control characters"),
        ("[" * 19000, "JSON object"),
    ):
        form = owner.get("/admin/authentication/policy").forms["policy-form"]
        form["sample_claims"] = sample
        assert words in form.submit("action", value="preview", status=400).text


def test_a_value_map_with_a_control_character_is_refused(owner: webtest.TestApp):
    form = owner.get("/admin/authentication/policy").forms["policy-form"]
    form["claim-salutation"] = "salutation"
    form["value_map-salutation"] = "Herr = male\nFrau = fe\x01male"
    assert "control character" in form.submit("action", value="save", status=400).text


@pytest.mark.parametrize(
    "field,value",
    [("first_name", "Ann\nMarie"), ("last_name", "Smith\x1b"), ("job_title", "Boss\u2028"), ("phone", "123\t456")],
)
def test_a_name_or_other_one_line_field_with_a_control_character_is_refused_in_the_users_words(
    acme: Portal, engine: Engine, field: str, value: str
):
    ann = logged_in(acme, ANN)
    form = ann.get("/account").forms["account-form"]
    form[field] = value
    page = form.submit(status=400)
    assert f"{field.replace('_', ' ')} must be one line" in page.text


# === properties: every form ===================================================================


@settings(max_examples=300, deadline=None, database=None)
@given(st.one_of(st.text(st.characters(codec="utf-8")), NASTY, st.text("/\\?#:@%.aé€\x00\r\n \t", max_size=12)))
def test_a_return_target_is_a_same_origin_path_that_a_location_header_can_carry(target: str):
    chosen = safe_next(target)
    assert chosen == "/" or chosen == target
    assert chosen.startswith("/") and not chosen.startswith("//") and VISIBLE_ASCII.match(chosen)
    assert "\\" not in chosen and not urlsplit(chosen).netloc


ACTIONS_PRACTITIONERS = st.one_of(st.sampled_from(["add", "rights", "deactivate", "reactivate"]), FIELD)


@FUZZ
@given(email=FIELD, password=FIELD, next_=FIELD)
def test_any_login_form_answers_below_500(acme: Portal, engine: Engine, email: Any, password: Any, next_: Any):
    browser = acme.browser()
    post_form(engine, browser, "/login", {"email": email, "password": password, "next": next_})
    get(engine, browser, "/login", {"next": next_})


@FUZZ
@given(next_=FIELD)
def test_any_next_gives_a_valid_location_to_a_logged_in_practitioner(
    owner: webtest.TestApp, engine: Engine, next_: Any
):
    get(engine, owner, "/login", {"next": next_})


@FUZZ
@given(lang=FIELD, next_=FIELD, accept_language=LATIN_1, cookie=LATIN_1)
def test_any_language_choice_or_accept_language_answers_below_500(
    acme: Portal, engine: Engine, lang: Any, next_: Any, accept_language: str, cookie: str
):
    browser = acme.browser()
    get(engine, browser, "/language", {"lang": lang, "next": next_})
    browser.extra_environ["HTTP_ACCEPT_LANGUAGE"] = accept_language
    browser.extra_environ["HTTP_COOKIE"] = f"lang={cookie}"
    page = get(engine, browser, "/login")
    assert page.status_int == 400 or page.html.find("html")["lang"] in {"en", "de", "nl"}


@pytest.fixture
def registration_open(owner: webtest.TestApp, acme: Portal) -> Portal:
    form = owner.get("/admin/authentication/policy").forms["policy-form"]
    form["self_registration"] = True
    form.submit("action", value="save", status=303)
    return acme


@FUZZ
@given(email=FIELD, first_name=FIELD, last_name=FIELD)
def test_any_registration_answers_below_500(
    registration_open: Portal, engine: Engine, email: Any, first_name: Any, last_name: Any
):
    post_form(
        engine,
        registration_open.browser(),
        "/register",
        {"email": email, "first_name": first_name, "last_name": last_name},
    )


@FUZZ
@given(email=FIELD)
def test_any_password_forgot_form_answers_below_500(acme: Portal, engine: Engine, email: Any):
    post_form(engine, acme.browser(), "/password/forgot", {"email": email})


@pytest.fixture
def reset_link(acme: Portal) -> str:
    form = acme.browser().get("/password/forgot").forms[0]
    form["email"] = ANN
    form.submit(status=200)
    return "/" + acme.mails()[-1].link().split("/", 3)[3]


@FUZZ
@given(password=FIELD, confirmation=FIELD, token=FIELD)
def test_any_password_reset_form_answers_below_500(
    acme: Portal, engine: Engine, reset_link: str, password: Any, confirmation: Any, token: Any
):
    browser = acme.browser()
    post_form(
        engine,
        browser,
        reset_link,
        {"password": password, "password_confirm": confirmation},
        form_page="/password/forgot",
    )
    post_form(
        engine,
        browser,
        "/password/reset/" + raw_path(token),
        {"password": password, "password_confirm": password},
        form_page="/password/forgot",
    )
    get(engine, browser, "/password/reset/" + raw_path(token))


@pytest.fixture
def recovery_links(acme: Portal) -> dict[str, str]:
    """The owners' recovery links: acme's owner has a password, beta's has none (the form asks for one)."""
    acme.open_tenant("beta")
    links = {}
    for slug in ("acme", "beta"):
        with acme.unit_of_work() as request:
            onboarding = request.find_service(TenantOnboarding)
            tenant = onboarding.tenant(slug)
            if slug == "beta":
                onboarding.owner_of(tenant).password_hash = None
            request.find_service(OwnerRecovery).send_link(tenant)
        links[slug] = "/" + acme.mails()[-1].link().split("/", 3)[3]
    return links


@FUZZ
@given(password=FIELD, confirmation=FIELD, token=FIELD)
def test_any_recovery_form_answers_below_500(
    acme: Portal, engine: Engine, recovery_links: dict[str, str], password: Any, confirmation: Any, token: Any
):
    fields = {"password": password, "password_confirm": confirmation}
    for slug, link in recovery_links.items():
        post_form(engine, acme.browser(slug), link, fields, form_page="/login")
    post_form(engine, acme.browser(), "/recover/" + raw_path(token), fields, form_page="/login")
    get(engine, acme.browser(), "/recover/" + raw_path(token))


@pytest.fixture
def waiting_for_code(sso: Sso, portal: Portal) -> webtest.TestApp:
    """A browser that signed in with an unknown identity and is asked for the one-time password."""
    sso.connect()
    sso.op.login_as("unknown-sub", email="someone@home.example", given_name="Some", family_name="One")
    browser = portal.browser()
    assert sso.log_in(browser, status=303).location.endswith("/sso/link")
    return browser


@FUZZ
@given(email=FIELD, code=FIELD)
def test_any_link_email_and_code_answer_below_500(
    waiting_for_code: webtest.TestApp, engine: Engine, email: Any, code: Any
):
    post_form(engine, waiting_for_code, "/sso/link", {"email": email}, form_page="/login")
    post_form(engine, waiting_for_code, "/sso/link", {"code": code}, form_page="/login")


@FUZZ
@given(
    values=st.fixed_dictionaries(
        {name: FIELD for name in ("salutation", "first_name", "last_name", "phone", "job_title")}
    )
)
def test_any_account_form_answers_below_500(ann: webtest.TestApp, engine: Engine, values: dict[str, Any]):
    post_form(engine, ann, "/account", values)


@FUZZ
@given(action=st.one_of(st.just("unlink"), FIELD), link_id=FIELD)
def test_any_linked_accounts_form_answers_below_500(ann: webtest.TestApp, engine: Engine, action: Any, link_id: Any):
    post_form(engine, ann, "/account/linked", {"action": action, "link_id": link_id})


@FUZZ
@given(
    action=ACTIONS_PRACTITIONERS,
    values=st.fixed_dictionaries(
        {name: FIELD for name in ("email", "first_name", "last_name", "password", "q", "page")}
    ),
    target=st.one_of(st.just("ann"), FIELD),
    rights=st.lists(st.one_of(st.sampled_from([r.value for r in ModuleRight]), FIELD), max_size=3),
    send_link=st.one_of(st.just("on"), FIELD),
)
def test_any_practitioners_admin_form_answers_below_500(
    owner: webtest.TestApp,
    engine: Engine,
    action: Any,
    values: dict[str, Any],
    target: Any,
    rights: list[Any],
    send_link: Any,
):
    fields = {
        "action": action,
        **values,
        "rights": rights,
        "send_password_link": send_link,
        "practitioner_id": practitioner_id(engine, ANN) if target == "ann" else target,
    }
    post_form(engine, owner, "/admin/practitioners", fields)
    get(engine, owner, "/admin/practitioners", {"q": values["q"], "page": values["page"]})


@FUZZ
@given(
    action=st.one_of(st.sampled_from(["unlink", "email"]), FIELD),
    email=FIELD,
    link_id=FIELD,
    confirm=st.one_of(st.just("yes"), FIELD),
    target=st.one_of(st.just("ann"), FIELD),
)
def test_any_practitioner_page_form_answers_below_500(
    owner: webtest.TestApp, engine: Engine, action: Any, email: Any, link_id: Any, confirm: Any, target: Any
):
    path = "/admin/practitioners/" + (practitioner_id(engine, ANN) if target == "ann" else raw_path(target))
    fields = {"action": action, "email": email, "link_id": link_id, "confirm_last_way_in": confirm}
    post_form(engine, owner, path, fields, form_page="/admin/practitioners")
    get(engine, owner, path)


@pytest.fixture
def email_link(owner: webtest.TestApp, engine: Engine, acme: Portal) -> str:
    """A link that confirms a new email for Ann, as the admin's form mails it."""
    form = owner.get(f"/admin/practitioners/{practitioner_id(engine, ANN)}").forms["email-form"]
    form["email"] = "ann.new@home.example"
    form.submit(status=303)
    return "/" + acme.mails()[-1].link().split("/", 3)[3]


@FUZZ
@given(token=FIELD, extra=FIELD)
def test_any_email_confirmation_answers_below_500(
    acme: Portal, engine: Engine, email_link: str, token: Any, extra: Any
):
    browser = acme.browser()
    get(engine, browser, email_link)
    post_form(engine, browser, "/email/confirm/" + raw_path(token), {"email": extra}, form_page="/login")
    get(engine, browser, "/email/confirm/" + raw_path(token))


@pytest.fixture
def connected(sso: Sso) -> tuple[webtest.TestApp, str]:
    """The loopback provider, connected to acme: the owner's browser and the provider's id."""
    return sso.admin(), sso.connect()


PROVIDER_TEXT_FIELDS = (
    "display_name",
    "client_id",
    "client_secret",
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
    "token_endpoint_auth_method",
    "protocol",
    "subject_field",
    "email_field",
    "given_name_field",
    "family_name_field",
    "extra_scopes",
    "domain_hint",
    "send_login_hint",
)


@FUZZ
@given(
    action=st.one_of(st.sampled_from(["save", "discover", "enable", "disable", "remove", "test"]), FIELD),
    fuzzed=st.dictionaries(st.sampled_from(PROVIDER_TEXT_FIELDS), FIELD, min_size=1, max_size=4),
    provider=st.one_of(st.just("first"), FIELD),
)
def test_any_provider_form_answers_below_500(
    sso: Sso, connected: tuple[webtest.TestApp, str], engine: Engine, action: Any, fuzzed: dict[str, Any], provider: Any
):
    admin, first = connected
    provider_id = first if provider == "first" else provider
    fields = {**provider_values(sso.op), **fuzzed, "action": action, "provider_id": provider_id}
    post_form(engine, admin, "/admin/authentication", fields)
    get(engine, admin, "/admin/authentication", {"provider": provider_id})


POLICY_FIELDS = (
    "workflow",
    "unknown_identity",
    "registration_url",
    "roles_claim",
    "roles_from_provider",
    "role_value-0",
    "role_right-0",
    "role_value-49",
    "role_right-49",
    *(
        f"{kind}-{field}"
        for kind in ("claim", "value_map")
        for field in ("first_name", "last_name", "email", "salutation", "phone", "job_title")
    ),
)


@FUZZ
@given(
    action=st.one_of(st.sampled_from(["save", "preview"]), FIELD),
    fuzzed=st.dictionaries(st.sampled_from(POLICY_FIELDS), FIELD, max_size=4),
    sample=st.one_of(JSON_VALUE.map(lambda document: dumps(document).decode()), FIELD),
)
def test_any_policy_form_and_claim_preview_answer_below_500(
    owner: webtest.TestApp, engine: Engine, action: Any, fuzzed: dict[str, Any], sample: Any
):
    # The saved policy stays standard: a random pseudo-SSO would end the owner's password session.
    fields = {
        "workflow": "standard",
        "unknown_identity": "confirm_by_otp",
        "claim-first_name": "given_name",
        "claim-last_name": "family_name",
        "claim-email": "email",
        **fuzzed,
        "sample_claims": sample,
        "action": action,
    }
    if fields["workflow"] == "pseudo_sso":
        fields["workflow"] = "standard"
    post_form(engine, owner, "/admin/authentication/policy", fields)


@FUZZ
@given(
    action=st.one_of(st.sampled_from(["create", "subject", "revoke"]), FIELD),
    name=FIELD,
    subject_provider_id=FIELD,
    token_id=FIELD,
)
def test_any_provisioning_form_answers_below_500(
    owner: webtest.TestApp, engine: Engine, action: Any, name: Any, subject_provider_id: Any, token_id: Any
):
    post_form(
        engine,
        owner,
        "/admin/provisioning",
        {"action": action, "name": name, "subject_provider_id": subject_provider_id, "token_id": token_id},
    )


@FUZZ
@given(
    query=st.fixed_dictionaries(
        {},
        optional={name: st.one_of(FIELD, st.just("2026-01-31")) for name in ("kind", "person", "from", "to", "before")},
    ),
    days=st.one_of(FIELD, st.integers(min_value=-(10**9), max_value=10**9).map(str)),
)
def test_any_audit_filter_download_and_retention_answer_below_500(
    owner: webtest.TestApp, engine: Engine, query: dict[str, Any], days: Any
):
    get(engine, owner, "/admin/audit", query)
    get(engine, owner, "/admin/audit.csv", query)
    post_form(engine, owner, "/admin/audit", {"audit_retention_days": days})


@FUZZ
@given(agent=LATIN_1, password=st.sampled_from([PASSWORD, "wrong"]))
def test_any_user_agent_of_a_login_is_recorded_without_a_500(acme: Portal, engine: Engine, agent: str, password: str):
    browser = acme.browser()
    browser.extra_environ["HTTP_USER_AGENT"] = agent
    post_form(engine, browser, "/login", {"email": ANN, "password": password})


@FUZZ
@given(
    callback=st.fixed_dictionaries(
        {}, optional={name: FIELD for name in ("state", "code", "error", "error_description", "iss")}
    ),
    real_state=st.booleans(),
    provider=st.one_of(st.just("first"), FIELD),
    next_=FIELD,
    login_hint=FIELD,
)
def test_any_sso_start_and_callback_answer_below_500(
    sso: Sso,
    connected: tuple[webtest.TestApp, str],
    portal: Portal,
    engine: Engine,
    callback: dict[str, Any],
    real_state: bool,
    provider: Any,
    next_: Any,
    login_hint: Any,
):
    browser = portal.browser()
    provider_id = connected[1] if provider == "first" else provider
    started = post_form(
        engine,
        browser,
        "/sso/" + raw_path(provider_id) + "/start",
        {"next": next_, "login_hint": login_hint},
        form_page="/login",
    )
    if real_state and started.status_int == 303:
        callback["state"] = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    get(engine, browser, "/process_sso", callback, provider_involved=True)


@FUZZ
@given(path=st.lists(FIELD, min_size=1, max_size=3), query=st.dictionaries(st.one_of(TYPED, NASTY), FIELD, max_size=3))
def test_any_address_answers_below_500(owner: webtest.TestApp, engine: Engine, path: list[Any], query: dict[str, Any]):
    for prefix in ("", "/admin", "/sso", "/password/reset", "/scim/v2/Users"):
        get(engine, owner, prefix + "/" + "/".join(raw_path(segment) for segment in path), query)


@FUZZ
@given(
    # Header values as WSGI hands them over: any byte, as a latin-1 character. A quoted cookie
    # value is unquoted by WebOb, octal escapes included, to bytes that need not be UTF-8.
    cookie=st.one_of(
        LATIN_1, LATIN_1.map(lambda value: '"' + value + '"'), st.sampled_from(['"\\377\\376"', '"\\000"', '"\\"'])
    ),
    if_match=LATIN_1,
    authorization=st.one_of(LATIN_1, LATIN_1.map(lambda value: "Bearer " + value)),
)
def test_any_header_value_answers_below_500(
    acme: Portal, engine: Engine, cookie: str, if_match: str, authorization: str
):
    environ = {
        "HTTP_HOST": f"acme.{BASE_DOMAIN}",
        "HTTP_COOKIE": "portal_session=" + cookie,
        "HTTP_IF_MATCH": if_match,
        "HTTP_AUTHORIZATION": authorization,
    }
    browser = webtest.TestApp(acme.app, extra_environ=environ)
    for path in ("/login", "/account", "/scim/v2/Users"):
        get(engine, browser, path)


# === properties: every SCIM operation =========================================================

USER_ATTRIBUTES = (
    "userName",
    "name",
    "emails",
    "active",
    "externalId",
    "title",
    "phoneNumbers",
    "displayName",
    "id",
    "schemas",
)
PATCH_PATHS = (
    "userName",
    "active",
    "externalId",
    "title",
    "name",
    "name.givenName",
    "name.familyName",
    "emails",
    'emails[type eq "work"].value',
    "emails.value",
    "phoneNumbers",
    'phoneNumbers[type eq "work"].value',
    "displayName",
)


def user_body() -> st.SearchStrategy[Any]:
    """A User as a client sends it, with any JSON in any attribute, or any JSON at all."""
    valid = {"schemas": [USER], "userName": "ada@acme.test", "name": {"givenName": "Ada", "familyName": "Lovelace"}}
    return st.one_of(
        st.dictionaries(st.sampled_from(USER_ATTRIBUTES), JSON_VALUE, max_size=4).map(
            lambda fuzzed: {**valid, **fuzzed}
        ),
        JSON_VALUE,
    )


def patch_body() -> st.SearchStrategy[Any]:
    operation = st.fixed_dictionaries(
        {"op": st.one_of(st.sampled_from(["add", "replace", "remove", "Replace"]), JSON_VALUE)},
        optional={"path": st.one_of(st.sampled_from(PATCH_PATHS), JSON_TEXT), "value": JSON_VALUE},
    )
    return st.one_of(
        st.lists(operation, min_size=1, max_size=3).map(
            lambda operations: {"schemas": [PATCH_OP], "Operations": operations}
        ),
        JSON_VALUE,
    )


def search_body() -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {"schemas": st.just([SEARCH])},
        optional={name: JSON_VALUE for name in ("filter", "startIndex", "count", "attributes", "excludedAttributes")},
    )


FILTERS = st.one_of(
    JSON_TEXT,
    st.tuples(
        st.sampled_from(["userName", "externalId", "emails.value", "active", "name.givenName"]),
        st.sampled_from(["eq", "co", "ne", "pr", "EQ"]),
        JSON_SCALAR,
    ).map(lambda t: f"{t[0]} {t[1]} {json.dumps(t[2])}"),
)


class ScimTarget:
    """The user the operations work on; created again when an earlier example deleted it."""

    def __init__(self, scim: Scim) -> None:
        self.scim = scim
        self.id = ""

    def ensure(self) -> str:
        if not self.id or self.scim.get(f"/Users/{self.id}", status="*").status_int == 404:
            answer = self.scim.post("/Users", {"schemas": [USER], "userName": "target@acme.test"}, status="*")
            if answer.status_int == 409:  # a PUT renamed another user to it: find it
                found = self.scim.search('userName eq "target@acme.test"').json["Resources"]
                self.id = found[0]["id"]
            else:
                self.id = answer.json["id"]
        return self.id


@pytest.fixture
def scim_target(acme: Portal) -> ScimTarget:
    return ScimTarget(Scim(acme, "acme", create_token(acme, "acme")))


def scim_call(
    engine: Engine, scim: Scim, method: str, path: str, body: Any = None, **headers: str
) -> webtest.TestResponse:
    before = snapshot(engine)
    payload = dumps(body) if body is not None else None
    response = scim.request(method, path, payload, **headers)
    answered(response, before, engine)
    if response.status_int >= 400:
        assert response.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    return response


@FUZZ
@given(body=user_body())
def test_any_scim_create_answers_below_500(scim_target: ScimTarget, engine: Engine, body: Any):
    scim_call(engine, scim_target.scim, "POST", "/Users", body)


@FUZZ
@given(
    body=user_body(),
    if_match=st.one_of(st.none(), st.just("*"), st.text(st.characters(max_codepoint=255), max_size=10)),
)
def test_any_scim_replace_answers_below_500(scim_target: ScimTarget, engine: Engine, body: Any, if_match: str | None):
    headers = {"If-Match": if_match} if if_match is not None else {}
    scim_call(engine, scim_target.scim, "PUT", f"/Users/{scim_target.ensure()}", body, **headers)


@FUZZ
@given(body=patch_body())
def test_any_scim_patch_answers_below_500(scim_target: ScimTarget, engine: Engine, body: Any):
    scim_call(engine, scim_target.scim, "PATCH", f"/Users/{scim_target.ensure()}", body)


@FUZZ
@given(
    user_id=st.one_of(st.just("target"), FIELD),
    if_match=st.one_of(st.none(), st.just("*"), st.text(st.characters(max_codepoint=255), max_size=10)),
)
def test_any_scim_delete_and_get_answer_below_500(
    scim_target: ScimTarget, engine: Engine, user_id: Any, if_match: str | None
):
    path = "/Users/" + (scim_target.ensure() if user_id == "target" else raw_path(user_id))
    scim_call(engine, scim_target.scim, "GET", path)
    scim_call(engine, scim_target.scim, "DELETE", path, **({"If-Match": if_match} if if_match is not None else {}))


@FUZZ
@given(body=st.one_of(search_body(), JSON_VALUE))
def test_any_scim_search_request_answers_below_500(scim_target: ScimTarget, engine: Engine, body: Any):
    scim_target.ensure()
    scim_call(engine, scim_target.scim, "POST", "/Users/.search", body)


@FUZZ
@given(
    query=st.fixed_dictionaries(
        {},
        optional={
            "filter": st.one_of(FILTERS, FIELD),
            "startIndex": st.one_of(JSON_NUMBER.map(str), FIELD),
            "count": st.one_of(JSON_NUMBER.map(str), FIELD),
            "attributes": FIELD,
            "excludedAttributes": FIELD,
        },
    )
)
def test_any_scim_list_query_answers_below_500(scim_target: ScimTarget, engine: Engine, query: dict[str, Any]):
    scim_target.ensure()
    before = snapshot(engine)
    answer = scim_target.scim.app.get(
        "/scim/v2/Users?" + urlencode(query), headers=scim_target.scim.headers(), expect_errors=True
    )
    answered(answer, before, engine)


# --- SCIM Groups ---

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
GROUP_PATCH_PATHS = ("members", 'members[value eq "x"]', "displayName", "externalId", "members[", "id")


class ScimGroupTarget:
    """A group holding the target user, on which the operations work; made again when deleted."""

    def __init__(self, users: ScimTarget) -> None:
        self.users = users
        self.id = ""

    def ensure(self) -> str:
        scim = self.users.scim
        if not self.id or scim.get(f"/Groups/{self.id}", status="*").status_int == 404:
            for old in scim.get("/Groups").json["Resources"]:  # a renamed one may hold the name
                scim.delete(f"/Groups/{old['id']}", status="*")
            body = {"schemas": [GROUP], "displayName": "Target", "members": [{"value": self.users.ensure()}]}
            self.id = scim.post("/Groups", body).json["id"]
        return self.id


def group_body() -> st.SearchStrategy[Any]:
    valid = {"schemas": [GROUP], "displayName": "Nurses"}
    attributes = st.sampled_from(("displayName", "externalId", "members", "id", "schemas"))
    members = st.lists(st.fixed_dictionaries({}, optional={"value": JSON_VALUE, "type": JSON_VALUE}), max_size=3)
    fuzzed = st.dictionaries(attributes, st.one_of(JSON_VALUE, members), max_size=3)
    return st.one_of(fuzzed.map(lambda f: {**valid, **f}), JSON_VALUE)


def group_patch_body() -> st.SearchStrategy[Any]:
    operation = st.fixed_dictionaries(
        {"op": st.one_of(st.sampled_from(["Add", "replace", "Remove"]), JSON_VALUE)},
        optional={"path": st.one_of(st.sampled_from(GROUP_PATCH_PATHS), JSON_TEXT), "value": JSON_VALUE},
    )
    return st.one_of(
        st.lists(operation, min_size=1, max_size=3).map(lambda ops: {"schemas": [PATCH_OP], "Operations": ops}),
        JSON_VALUE,
    )


@pytest.fixture
def group_target(scim_target: ScimTarget) -> ScimGroupTarget:
    return ScimGroupTarget(scim_target)


@FUZZ
@given(body=group_body())
def test_any_scim_group_create_answers_below_500(group_target: ScimGroupTarget, engine: Engine, body: Any):
    group_target.ensure()
    scim_call(engine, group_target.users.scim, "POST", "/Groups", body)


@FUZZ
@given(
    body=group_body(),
    if_match=st.one_of(st.none(), st.just("*"), st.text(st.characters(max_codepoint=255), max_size=10)),
)
def test_any_scim_group_replace_answers_below_500(
    group_target: ScimGroupTarget, engine: Engine, body: Any, if_match: str | None
):
    headers = {"If-Match": if_match} if if_match is not None else {}
    scim_call(engine, group_target.users.scim, "PUT", f"/Groups/{group_target.ensure()}", body, **headers)


@FUZZ
@given(body=group_patch_body())
def test_any_scim_group_patch_answers_below_500(group_target: ScimGroupTarget, engine: Engine, body: Any):
    scim_call(engine, group_target.users.scim, "PATCH", f"/Groups/{group_target.ensure()}", body)


@FUZZ
@given(
    query=st.fixed_dictionaries(
        {},
        optional={
            "filter": st.one_of(FILTERS, FIELD, st.just('displayName eq "Target"')),
            "startIndex": st.one_of(JSON_NUMBER.map(str), FIELD),
            "count": st.one_of(JSON_NUMBER.map(str), FIELD),
            "excludedAttributes": FIELD,
        },
    ),
    group_id=st.one_of(st.just("target"), FIELD),
)
def test_any_scim_group_list_get_and_delete_answer_below_500(
    group_target: ScimGroupTarget, engine: Engine, query: dict[str, Any], group_id: Any
):
    scim = group_target.users.scim
    path = "/Groups/" + (group_target.ensure() if group_id == "target" else raw_path(group_id))
    before = snapshot(engine)
    answered(
        scim.app.get("/scim/v2/Groups?" + urlencode(query), headers=scim.headers(), expect_errors=True), before, engine
    )
    scim_call(engine, scim, "GET", path)
    scim_call(engine, scim, "DELETE", path)


@FUZZ
@given(
    claims=st.fixed_dictionaries(
        {},
        optional={
            name: JSON_VALUE
            for name in ("given_name", "family_name", "email", "email_verified", "phone_number", "nickname")
        },
    ),
    sub=st.one_of(TYPED, NASTY),
)
def test_any_claims_from_the_provider_end_below_500(
    registering: Sso, portal: Portal, engine: Engine, claims: dict[str, Any], sub: str
):
    registering.op.login_as(sub or "empty", **claims)
    before = snapshot(engine)
    # The loopback provider itself cannot issue some of these claims: it may refuse (502).
    answered(registering.log_in(portal.browser()), before, engine, provider_involved=True)


# --- what an identity provider sends: logout tokens, and sign-ins it starts (issue 13) ----------

BASE64URL = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=60)
JWT_SHAPED = st.builds(lambda *parts: ".".join(parts), BASE64URL, BASE64URL, BASE64URL)


@pytest.fixture
def provider_connected(sso: Sso) -> webtest.TestApp:
    """Acme with the loopback provider connected; a browser that is nobody (as a server posting)."""
    sso.connect()
    return sso.portal.browser("acme")


@FUZZ
@given(token=st.one_of(FIELD, JWT_SHAPED), extra=FIELD)
def test_any_logout_token_is_answered_below_500_and_refused_in_json(
    provider_connected: webtest.TestApp, engine: Engine, token: Any, extra: Any
):
    body = urlencode([("logout_token", token), ("logout_token_extra", extra)]).encode("ascii")
    before = snapshot(engine)
    response = answered(send(provider_connected, "POST", "/sso/backchannel-logout", body), before, engine)
    assert response.status_int == 400 and response.json["error"] == "invalid_request"


@FUZZ
@given(iss=FIELD, login_hint=FIELD, target_link_uri=FIELD)
def test_any_sign_in_the_provider_starts_answers_below_500(
    provider_connected: webtest.TestApp, engine: Engine, iss: Any, login_hint: Any, target_link_uri: Any
):
    fields = {"iss": iss, "login_hint": login_hint, "target_link_uri": target_link_uri}
    before = snapshot(engine)
    body = urlencode(list(fields.items())).encode("ascii")
    answered(send(provider_connected, "POST", "/sso/initiate", body), before, engine)
    get(engine, provider_connected, "/sso/initiate", fields)
