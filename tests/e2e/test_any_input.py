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
from entrypoints.openid_provider.keys import signing_jwk
from entrypoints.openid_provider.logout import logout_token_claims, signed_logout_token
from entrypoints.web.forms import safe_next
from tests.e2e.conftest import BASE_DOMAIN, PASSWORD, Portal
from tests.e2e.sso import CLIENT_ID, Sso, op, provider_values, sso  # noqa: F401  (fixtures)
from tests.e2e.test_scim import PATCH_OP, USER, Scim, create_token
from tests.e2e.test_sso_logout import connect_with_logout, query_of, register_logout, signed_in

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


BOUNDARY = b"PortalProbe"
MULTIPART = "multipart/form-data; boundary=" + BOUNDARY.decode()
MULTIPART_END = b"--" + BOUNDARY + b"--\r\n"


def multipart_part(name: bytes, value: bytes, headers: bytes = b"") -> bytes:
    """One part of a multipart/form-data body (MULTIPART), with the part's headers as given."""
    disposition = b'Content-Disposition: form-data; name="' + name + b'"\r\n'
    return b"--" + BOUNDARY + b"\r\n" + disposition + headers + b"\r\n" + value + b"\r\n"


@pytest.mark.parametrize(
    "headers, value",
    [
        (b"Content-Transfer-Encoding: base64\r\n", b"/w=="),  # WebOb decodes it to \xff
        (b"Content-Transfer-Encoding: quoted-printable\r\n", b"=FF"),
        (b"Content-Transfer-Encoding: base64\r\n", b"QW5u"),  # Ann, but not as a browser sends it
        (b"Content-Type: text/plain; charset=utf-16\r\n", b"abc"),
        (b"Content-Type: text/plain; charset=no-such-charset\r\n", b"Ann"),
        (b"Content-Type: text/plain; charset=latin-1\r\n", b"Ann"),
    ],
)
def test_a_multipart_part_in_another_charset_or_transfer_encoding_is_refused_with_400_not_500(
    acme: Portal, engine: Engine, headers: bytes, value: bytes
):
    # WebOb decodes a part by its own charset and transfer encoding, after the strict UTF-8 check
    # of the raw bytes: an unknown charset or bytes that are not UTF-8 once decoded answered 500.
    ann = logged_in(acme, ANN)
    token = csrf_token(ann, "/account").encode()
    body = (
        multipart_part(b"csrf_token", token)
        + multipart_part(b"first_name", value, headers)
        + multipart_part(b"last_name", b"Smith")
        + MULTIPART_END
    )
    before = snapshot(engine)
    environ = dict(ann.extra_environ)
    page = ann.request("/account", method="POST", body=body, content_type=MULTIPART, environ=environ, status=400)
    assert "This request cannot be read" in page.text
    assert snapshot(engine) == before


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


@pytest.mark.parametrize("address", ["a\x00b", "\x00", "2001:db8::1\x00", "x\x00" * 40])
def test_a_client_address_with_a_nul_is_counted_by_its_digest_not_a_500(
    registration_open: Portal, engine: Engine, address: str
):
    # Whatever the server reports as REMOTE_ADDR (a proxy's header) keys the throttle counters;
    # PostgreSQL cannot store a NUL, so such an address answered 500 to a registration or a login.
    browser = registration_open.browser("acme", remote_addr=address)
    fields = {"email": "nina@acme.test", "first_name": "Nina", "last_name": "Novak"}
    assert "Check your mail" in post_form(engine, browser, "/register", fields).text
    assert post_form(engine, browser, "/login", {"email": ANN, "password": "wrong"}).status_int == 401


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


# === properties: what the probes above did not reach =============================================
# A file, a repeated field or raw bytes in any field of any form (either encoding); the provider
# form's logout settings and switches; the SSO button's purpose and a linking round trip; the
# return from a logout at the provider; signed logout tokens with any claims; a sign-in the
# provider starts at its own issuer, followed through; registrations from any client address
# (throttled); any Host header; any method on any route; SCIM Groups PATCH paths and members
# (real, another practice's, a group's), Groups searches, the discovery documents.

# A form field's value as a hostile client sends it: text or bytes, repeated, or a file upload.
UPLOAD = st.builds(lambda name, content: webtest.Upload(name, content), TYPED, st.binary(max_size=40))
SHAPED = st.one_of(FIELD, st.lists(FIELD, min_size=2, max_size=3), UPLOAD)


def post_shaped(
    engine: Engine, browser: webtest.TestApp, path: str, token: str, fields: dict[str, Any], multipart: bool
) -> webtest.TestResponse:
    """Posts the fields with the CSRF token, as multipart (files as files) or urlencoded (a file's content as the value)."""
    pairs: list[tuple[str, Any]] = [("csrf_token", token)]
    for name, value in fields.items():
        pairs.extend((name, item) for item in (value if isinstance(value, list) else [value]))
    before = snapshot(engine)
    if multipart:  # a field's name as UTF-8 (or the bytes given): WebTest would take ASCII only
        named = [(name.encode("utf-8") if isinstance(name, str) else name, value) for name, value in pairs]
        content_type, body = browser.encode_multipart(named, [])
        environ = dict(browser.extra_environ)  # the Host and client address; the cookies come from the jar
        response = browser.request(
            path, method="POST", body=body, content_type=content_type, environ=environ, expect_errors=True
        )
    else:
        plain = [(name, value.content if isinstance(value, webtest.Upload) else value) for name, value in pairs]
        response = send(browser, "POST", path, urlencode(plain).encode("ascii"))
    return answered(response, before, engine)


# Every form a browser posts: its path, the values of its buttons' ``action``, and its fields.
# The policy form's workflow is among the hostile fields only: a random pseudo-SSO would end the
# owner's session (and no hostile value is pseudo_sso). Logging out is probed on its own.
ALL_FORMS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("/login", (), ("email", "password", "next")),
    ("/password/forgot", (), ("email",)),
    ("/register", (), ("email", "first_name", "last_name")),
    ("/account", (), ("salutation", "first_name", "last_name", "phone", "job_title")),
    ("/account/language", (), ("language",)),
    ("/account/linked", ("unlink",), ("link_id",)),
    (
        "/admin/practitioners",
        ("add", "rights", "deactivate", "reactivate"),
        ("email", "first_name", "last_name", "password", "rights", "send_password_link", "practitioner_id", "q"),
    ),
    ("/admin/practitioners/<ann>", ("unlink", "email"), ("email", "link_id", "confirm_last_way_in")),
    (
        "/admin/authentication",
        ("save", "discover", "enable", "disable", "remove", "test"),
        (*PROVIDER_TEXT_FIELDS, "end_session_endpoint", "enabled", "logout_at_provider", "provider_id", "provider"),
    ),
    (
        "/admin/authentication/policy",
        ("save", "preview"),
        (*POLICY_FIELDS, "sample_claims", "self_registration", "roles_from_provider"),
    ),
    ("/admin/practice", (), ("default_language", "time_zone")),
    ("/admin/provisioning", ("create", "subject", "revoke"), ("name", "subject_provider_id", "token_id")),
    ("/admin/audit", (), ("audit_retention_days",)),
    ("/sso/link", (), ("email", "code")),
    ("/sso/none/start", (), ("next", "login_hint", "purpose")),
    ("/sso/initiate", (), ("iss", "login_hint", "target_link_uri")),
    ("/sso/backchannel-logout", (), ("logout_token",)),
)


@FUZZ
@given(data=st.data(), multipart=st.booleans())
def test_any_form_with_files_repeated_fields_or_bytes_answers_below_500(
    registration_open: Portal, owner: webtest.TestApp, engine: Engine, data: st.DataObject, multipart: bool
):
    token = csrf_token(owner, "/account")
    ann_id = practitioner_id(engine, ANN)
    for path, actions, names in ALL_FORMS:
        fields = data.draw(st.dictionaries(st.sampled_from(names), SHAPED, min_size=1, max_size=4), label=path)
        if actions:
            fields["action"] = data.draw(st.one_of(st.sampled_from(actions), SHAPED), label=f"{path} action")
        post_shaped(engine, owner, path.replace("<ann>", ann_id), token, fields, multipart)
    assert owner.get("/account").status_int == 200  # the owner's session outlived every form


# What a part of a multipart form may say of itself: charsets, transfer encodings, types, any bytes.
PART_HEADER = st.one_of(
    st.sampled_from(
        [
            b"Content-Transfer-Encoding: base64",
            b"Content-Transfer-Encoding: BASE64",
            b"Content-Transfer-Encoding: quoted-printable",
            b"Content-Transfer-Encoding: 8bit",
            b"Content-Type: text/plain; charset=utf-8",
            b"Content-Type: text/plain; charset=UTF8",
            b"Content-Type: text/plain; charset=utf-16",
            b"Content-Type: text/plain; charset=cp1252",
            b"Content-Type: application/octet-stream",
            b"Content-Type: multipart/mixed; boundary=inner",
        ]
    ),
    st.tuples(st.sampled_from([b"Content-Type: text/plain; charset=", b"Content-Transfer-Encoding: "]), RAW).map(
        b"".join
    ),
)
PART = st.tuples(
    st.sampled_from([b"first_name", b"last_name", b"language", b"logout_token", b"iss", b"email", b"password"]),
    st.one_of(RAW, TYPED.map(str.encode), st.sampled_from([b"/w==", b"=FF", b"AA==", b"QW5u", b"=00"])),
    st.lists(PART_HEADER, max_size=2),
    st.one_of(st.none(), st.binary(max_size=10)),  # a filename: the part is a file upload
)


@FUZZ
@given(parts=st.lists(PART, min_size=1, max_size=4))
def test_any_multipart_part_answers_below_500(ann: webtest.TestApp, engine: Engine, parts: list[Any]):
    token = csrf_token(ann, "/account").encode()
    body = multipart_part(b"csrf_token", token)
    for name, value, headers, filename in parts:
        if filename is not None:
            name += b'"; filename="' + filename.replace(b'"', b"")
        body += multipart_part(name, value, b"".join(header + b"\r\n" for header in headers))
    body += MULTIPART_END
    for path in ("/account", "/account/language", "/login", "/sso/initiate", "/sso/backchannel-logout"):
        before = snapshot(engine)
        environ = dict(ann.extra_environ)
        answered(
            ann.request(path, method="POST", body=body, content_type=MULTIPART, environ=environ, expect_errors=True),
            before,
            engine,
        )


@FUZZ
@given(fields=st.dictionaries(st.one_of(st.just("next"), FIELD), SHAPED, max_size=2), multipart=st.booleans())
def test_any_logout_answers_below_500(acme: Portal, engine: Engine, fields: dict[str, Any], multipart: bool):
    browser = logged_in(acme, ANN)
    answer = post_shaped(engine, browser, "/logout", csrf_token(browser, "/account"), fields, multipart)
    if answer.status_int < 400:  # logged out, whatever else was sent; a form that cannot be read is refused
        assert browser.get("/account", status="*").status_int != 200


@FUZZ
@given(
    end_session_endpoint=st.one_of(st.sampled_from(["real", ""]), FIELD, UPLOAD),
    switches=st.dictionaries(
        st.sampled_from(["logout_at_provider", "enabled", "send_login_hint", "acknowledge_relink"]),
        st.one_of(st.sampled_from(["on", "true", ""]), SHAPED),
        max_size=4,
    ),
    fuzzed=st.one_of(st.just({}), st.dictionaries(st.sampled_from(PROVIDER_TEXT_FIELDS), FIELD, max_size=2)),
    provider=st.one_of(st.sampled_from(["first", "new"]), FIELD),
    action=st.sampled_from(["save", "save", "discover"]),  # other actions: the provider form's probe above
)
def test_any_provider_logout_settings_and_switches_answer_below_500(
    sso: Sso,
    connected: tuple[webtest.TestApp, str],
    engine: Engine,
    end_session_endpoint: Any,
    switches: dict[str, Any],
    fuzzed: dict[str, Any],
    provider: Any,
    action: Any,
):
    admin, first = connected
    provider_id = first if provider == "first" else provider
    endpoint = sso.op.url("/end_session") if end_session_endpoint == "real" else end_session_endpoint
    fields = {
        **provider_values(sso.op),
        "token_endpoint_auth_method": "client_secret_basic",  # the form's default: a save can succeed
        **fuzzed,
        "end_session_endpoint": endpoint,
        **switches,
        "action": action,
        "provider": provider_id,
    }
    post_shaped(engine, admin, "/admin/authentication", csrf_token(admin, "/account"), fields, multipart=True)
    get(engine, admin, "/admin/authentication", {"provider": first})


@FUZZ
@given(
    purpose=st.one_of(st.just("link"), SHAPED),
    as_ann=st.booleans(),
    round_trip=st.booleans(),
    overrides=st.dictionaries(st.sampled_from(["state", "code", "iss", "error", "session_state"]), FIELD, max_size=2),
)
def test_any_sso_button_purpose_and_linking_round_trip_answer_below_500(
    sso: Sso,
    connected: tuple[webtest.TestApp, str],
    portal: Portal,
    engine: Engine,
    purpose: Any,
    as_ann: bool,
    round_trip: bool,
    overrides: dict[str, Any],
):
    browser = logged_in(portal, ANN) if as_ann else portal.browser()
    started = post_shaped(
        engine,
        browser,
        f"/sso/{connected[1]}/start",
        csrf_token(browser, "/account" if as_ann else "/login"),
        {"purpose": purpose},
        False,
    )
    if started.status_int != 303 or not started.headers["Location"].startswith(sso.op.url("/")):
        return
    if round_trip:  # the provider's genuine answer, with some parameters replaced
        callback = parse_qs(urlsplit(sso.at_provider(started.headers["Location"])).query)
        query: dict[str, Any] = {name: values[0] for name, values in callback.items()} | overrides
    else:
        query = overrides
    get(engine, browser, "/process_sso", query, provider_involved=True)


@pytest.fixture
def following_logout(sso: Sso) -> Sso:
    """The loopback provider connected with logout at the provider, and ann linked to it."""
    connect_with_logout(sso)
    register_logout(sso, "acme")
    signed_in(sso)
    return sso


@FUZZ
@given(
    state=st.one_of(st.just("real"), FIELD, st.lists(st.one_of(st.just("real"), FIELD), min_size=2, max_size=2)),
    extra=st.dictionaries(st.one_of(TYPED, NASTY), FIELD, max_size=2),
    logout_fields=st.dictionaries(st.sampled_from(["next", "state", "id_token_hint"]), SHAPED, max_size=2),
    stranger=st.booleans(),
)
def test_any_return_from_a_logout_at_the_provider_answers_below_500(
    following_logout: Sso,
    engine: Engine,
    state: Any,
    extra: dict[str, Any],
    logout_fields: dict[str, Any],
    stranger: bool,
):
    sso = following_logout
    browser, _ = signed_in(sso)
    token = csrf_token(browser, "/account")
    sent = post_shaped(engine, browser, "/logout", token, logout_fields, multipart=True)
    real = query_of(sent.headers.get("Location", "")).get("state", "none")  # none: the form was unreadable
    states = [real if item == "real" else item for item in (state if isinstance(state, list) else [state])]
    returning = sso.portal.browser("acme") if stranger else browser
    query = [("state", item) for item in states] + list(extra.items())
    before = snapshot(engine)
    answered(send(returning, "GET", "/sso/logged-out?" + urlencode(query)), before, engine)


LOGOUT_CLAIMS = ("iss", "aud", "iat", "exp", "jti", "events", "nonce", "sub", "sid")


@FUZZ
@given(
    fuzzed=st.dictionaries(st.sampled_from(LOGOUT_CLAIMS), JSON_VALUE, max_size=3),
    omitted=st.lists(st.sampled_from(LOGOUT_CLAIMS), max_size=2),
    names=st.sampled_from(["sid", "sub", "both"]),
    shape=st.sampled_from(["plain", "repeated", "file", "huge"]),
)
def test_any_signed_logout_token_is_answered_below_500_in_json(
    following_logout: Sso, engine: Engine, fuzzed: dict[str, Any], omitted: list[str], names: str, shape: str
):
    """Tokens the provider's own key signs, with any claim values: the claim rules must refuse what
    they cannot read with a JSON error, never a 500 (a verified signature is no promise of sense)."""
    sso = following_logout
    _, sid = signed_in(sso)
    claims = logout_token_claims(
        sso.op.issuer, CLIENT_ID, "ann-sub" if names != "sid" else None, sid if names != "sub" else None
    )
    claims = {name: value for name, value in (claims | fuzzed).items() if name not in omitted}
    token = signed_logout_token(claims, signing_jwk(0))
    value: Any = {
        "plain": token,
        "repeated": [token, token],
        "file": webtest.Upload("token.jwt", token.encode()),
        "huge": token + "A" * 20_000,
    }[shape]
    server = sso.portal.browser("acme")
    response = post_shaped(engine, server, "/sso/backchannel-logout", "", {"logout_token": value}, shape == "file")
    if response.status_int != 200:
        assert response.status_int == 400 and response.json["error"] == "invalid_request"


@pytest.fixture
def launching(sso: Sso) -> Sso:
    """The loopback provider connected, set to be sent the login hint, and ann linked to it."""
    connect_with_logout(sso, send_login_hint=True)
    signed_in(sso)
    return sso


@FUZZ
@given(
    # the issuer, or hostile values in its place or beside it (a repeated parameter)
    iss=st.one_of(st.just(["real"]), st.lists(st.one_of(st.just("real"), FIELD), min_size=1, max_size=2)),
    login_hint=st.one_of(st.just(ANN), FIELD),
    target_link_uri=st.one_of(
        st.sampled_from(["/account", f"http://acme.{BASE_DOMAIN}/account?x=%C3%BC", f"http://acme.{BASE_DOMAIN}"]),
        FIELD,
    ),
    as_ann=st.booleans(),
    posted=st.booleans(),
)
def test_any_sign_in_the_provider_starts_at_its_issuer_is_followed_below_500(
    launching: Sso,
    portal: Portal,
    engine: Engine,
    iss: list[Any],
    login_hint: Any,
    target_link_uri: Any,
    as_ann: bool,
    posted: bool,
):
    """As the probe above, at the connected provider's own issuer, and each redirect followed: the
    POST's to the GET, the GET's to the provider and the provider's back to the callback."""
    sso = launching
    browser = logged_in(portal, ANN) if as_ann else portal.browser()
    issuers = [sso.op.issuer if item == "real" else item for item in iss]
    query = [("iss", item) for item in issuers] + [("login_hint", login_hint), ("target_link_uri", target_link_uri)]
    before = snapshot(engine)
    if posted:
        answer = answered(send(browser, "POST", "/sso/initiate", urlencode(query).encode("ascii")), before, engine)
        if answer.status_int != 303:
            return
        target = urlsplit(answer.headers["Location"])
        answer = answered(send(browser, "GET", f"{target.path}?{target.query}"), before, engine)
    else:
        answer = answered(send(browser, "GET", "/sso/initiate?" + urlencode(query)), before, engine)
    if answer.status_int == 303 and answer.headers["Location"].startswith(sso.op.url("/authorization")):
        answered(browser.get(sso.at_provider(answer.headers["Location"]), expect_errors=True), before, engine, True)


EXHAUSTED = "2001:db8:7:7::1"  # a client network that registered its 20 in this hour


@pytest.fixture
def registration_throttled(registration_open: Portal, engine: Engine) -> Portal:
    for n in range(20):
        browser = registration_open.browser("acme", remote_addr=f"2001:db8:7:7::{n + 2:x}")
        fields = {"email": f"early{n}@acme.test", "first_name": "E", "last_name": "R"}
        assert "Check your mail" in post_form(engine, browser, "/register", fields).text
    return registration_open


@FUZZ
@given(
    address=st.one_of(
        st.sampled_from([EXHAUSTED, "2001:db8:7:7:ffff::1", "::ffff:203.0.113.7", "", "unknown", "a\x00b"]),
        st.ip_addresses().map(str),
        LATIN_1,
        st.text(st.characters(max_codepoint=255), min_size=65, max_size=300),
    ),
    email=st.one_of(st.integers(min_value=0, max_value=50).map(lambda n: f"nina{n}@acme.test"), FIELD),
    name=st.one_of(st.just("Nina"), FIELD),
)
def test_any_registration_from_any_client_address_answers_below_500_and_is_throttled(
    registration_throttled: Portal, engine: Engine, address: str, email: Any, name: Any
):
    """/register counts valid forms per client network: 429 once one sent 20 in the hour. A client
    address is whatever the server reports (a proxy's header): odd text is counted, never a 500."""
    browser = registration_throttled.browser("acme", remote_addr=address)
    answer = post_form(engine, browser, "/register", {"email": email, "first_name": name, "last_name": "Novak"})
    assert answer.status_int in (200, 400, 429), answer.status
    if answer.status_int == 429:
        assert "Too many registrations" in answer.text
    elif answer.status_int == 200 and address.startswith("2001:db8:7:7:"):
        assert "Check your mail" not in answer.text  # the exhausted network registers no more


HOSTS = st.one_of(
    LATIN_1,
    LATIN_1.map(lambda label: f"{label}.{BASE_DOMAIN}"),
    st.tuples(st.sampled_from(["acme", "ACME", "beta", "www", "xn--acme", "ac\x00me", ""]), LATIN_1).map(
        lambda t: f"{t[0]}.{BASE_DOMAIN}:{t[1]}"
    ),
    st.sampled_from(
        [
            f"acme.{BASE_DOMAIN}.",
            f"acme.{BASE_DOMAIN}..",
            f"acme..{BASE_DOMAIN}",
            f".acme.{BASE_DOMAIN}",
            f"acme.{BASE_DOMAIN}:0",
            f"acme.{BASE_DOMAIN}:65536",
            f"acme.{BASE_DOMAIN}:-1",
            f"acme.{BASE_DOMAIN}:８０",
            f"acme.{BASE_DOMAIN} ",
            f"acme.{BASE_DOMAIN},evil.example",
            f"user@acme.{BASE_DOMAIN}",
            f"[acme.{BASE_DOMAIN}]",
            "[::1]:80",
            "[::1",
            BASE_DOMAIN,
            "a" * 300 + f".{BASE_DOMAIN}",
            f"ａｃｍｅ.{BASE_DOMAIN}",
            f"acme.{BASE_DOMAIN}\r\nX: y",
        ]
    ),
)


@FUZZ
@given(host=HOSTS)
def test_any_host_header_answers_below_500(acme: Portal, engine: Engine, host: str):
    browser = webtest.TestApp(acme.app, extra_environ={"HTTP_HOST": host, "REMOTE_ADDR": "192.0.2.10"})
    get(engine, browser, "/login")
    get(engine, browser, "/")
    for path in ("/login", "/sso/backchannel-logout", "/sso/initiate"):
        before = snapshot(engine)
        answered(send(browser, "POST", path, b"logout_token=x&email=a&iss=x"), before, engine)
    before = snapshot(engine)
    answered(browser.get("/scim/v2/Users", headers={"Authorization": "Bearer x"}, expect_errors=True), before, engine)


ROUTES = (
    "/",
    "/login",
    "/logout",
    "/register",
    "/language",
    "/password/forgot",
    "/password/reset/x",
    "/recover/x",
    "/email/confirm/x",
    "/account",
    "/account/language",
    "/account/linked",
    "/admin/practitioners",
    "/admin/practitioners/x",
    "/admin/authentication",
    "/admin/authentication/policy",
    "/admin/practice",
    "/admin/provisioning",
    "/admin/audit",
    "/admin/audit.csv",
    "/sso/x/start",
    "/process_sso",
    "/sso/link",
    "/sso/logged-out",
    "/sso/backchannel-logout",
    "/sso/initiate",
    "/scim/v2/Users",
    "/scim/v2/Users/.search",
    "/scim/v2/Users/x",
    "/scim/v2/Groups",
    "/scim/v2/Groups/.search",
    "/scim/v2/Groups/x",
    "/scim/v2/ServiceProviderConfig",
    "/scim/v2/Schemas",
    "/scim/v2/Schemas/x",
    "/scim/v2/ResourceTypes",
    "/scim/v2/ResourceTypes/x",
)


@FUZZ
@given(
    method=st.one_of(
        st.sampled_from(["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "CONNECT", "PROPFIND", "get"]),
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=12),
    ),
    body=st.one_of(st.none(), RAW, JSON_VALUE.map(dumps)),
)
def test_any_method_on_any_route_answers_below_500(
    owner: webtest.TestApp, scim_target: ScimTarget, engine: Engine, method: str, body: bytes | None
):
    before = snapshot(engine)  # no route changes anything for these methods: one snapshot serves them all
    for path in ROUTES:
        request = webob.Request.blank(path, dict(owner.extra_environ), method=method)
        request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in owner.cookies.items())
        if path.startswith("/scim/"):
            request.headers.update(scim_target.scim.headers())
        if body is not None:
            request.body = body
            request.content_type = "application/scim+json" if path.startswith("/scim/") else FORM
        answer = request.get_response(owner.app)
        assert answer.status_int < 500, (method, path, answer.status, answer.text[:500])
    assert snapshot(engine) == before


# --- SCIM: groups with real members, another practice's ids, searches, discovery ---

# Placeholders the bodies and paths may hold, replaced by real ids once the fixtures made them.
IDS = ("<target>", "<ann>", "<owner>", "<group>", "<foreign>", "<foreign-group>")
MEMBER = st.fixed_dictionaries(
    {"value": st.one_of(st.sampled_from(IDS), JSON_SCALAR)},
    optional={
        "type": st.one_of(st.sampled_from(["User", "user", "Group"]), JSON_SCALAR),
        "display": JSON_TEXT,
        "$ref": st.one_of(
            st.sampled_from(IDS).map(lambda i: f"http://acme.{BASE_DOMAIN}/scim/v2/Users/{i}"), JSON_TEXT
        ),
    },
)
MEMBERS = st.one_of(st.lists(MEMBER, max_size=3), MEMBER)
MORE_GROUP_PATCH_PATHS = (
    "Members",
    f"{GROUP}:members",
    f"{GROUP}:displayName",
    f"{GROUP}:externalId",
    "members.value",
    "members.display",
    "displayName.value",
    "externalId.x",
    'members[value eq "<target>"]',
    'members[value eq "<ann>"]',
    'members[value eq "<foreign>"]',
    'members[value eq "<group>"]',
    'Members[Value EQ "<target>"]',
    'members[value eq "<target>"',
    "members[]",
    "members[value pr]",
    'members[type eq "User"]',
    'members[value eq "<target>" or value eq "<ann>"]',
    'members[value eq "<target>" and value eq "<ann>"]',
    'members[value eq "<target>"].display',
    "members[value eq 1]",
    'members[not (value eq "<target>")]',
    "displayName[",
    "meta",
    "meta.version",
    "schemas",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    " members ",
    "",
)


def placed(document: Any, ids: dict[str, str]) -> Any:
    """The document with each placeholder replaced by its id, wherever it stands."""
    if isinstance(document, str):
        for placeholder, value in ids.items():
            document = document.replace(placeholder, value)
        return document
    if isinstance(document, list):
        return [placed(item, ids) for item in document]
    if isinstance(document, dict):
        return {placed(key, ids): placed(value, ids) for key, value in document.items()}
    return document


@pytest.fixture
def placeholders(acme: Portal, engine: Engine, group_target: ScimGroupTarget) -> dict[str, str]:
    """Ids of acme's people and group, and of another practice's, to send where the probes may.
    Group names give rights here (roles from the provider): a member change can change rights."""
    owner = logged_in(acme, OWNER)
    form = owner.get("/admin/authentication/policy").forms["policy-form"]
    form["roles_claim"], form["roles_from_provider"] = "roles", True
    form["role_value-0"], form["role_right-0"] = "Target", "practitioners"
    form["role_value-1"], form["role_right-1"] = "Nurses", "authentication"
    form.submit("action", value="save", status=303)
    acme.open_tenant("beta")
    beta = Scim(acme, "beta", create_token(acme, "beta"))
    foreign = beta.create("ada@beta.test")["id"]
    foreign_group = beta.post("/Groups", {"schemas": [GROUP], "displayName": "Beta", "members": [{"value": foreign}]})
    return {
        "<target>": group_target.users.ensure(),
        "<ann>": practitioner_id(engine, ANN),
        "<owner>": practitioner_id(engine, OWNER),
        "<group>": group_target.ensure(),
        "<foreign>": foreign,
        "<foreign-group>": foreign_group.json["id"],
    }


def more_group_patch_body() -> st.SearchStrategy[Any]:
    value = st.one_of(
        MEMBERS,
        JSON_SCALAR,
        st.fixed_dictionaries(
            {}, optional={"id": st.sampled_from(IDS), "displayName": JSON_TEXT, "members": MEMBERS, "Members": MEMBERS}
        ),
    )
    op = st.sampled_from(["Add", "add", "replace", "Replace", "remove", "Remove"])
    operation = st.one_of(
        st.fixed_dictionaries({"op": op, "path": st.sampled_from(MORE_GROUP_PATCH_PATHS), "value": value}),
        st.fixed_dictionaries({"op": op}, optional={"path": st.sampled_from(MORE_GROUP_PATCH_PATHS), "value": value}),
    )
    return st.lists(operation, min_size=1, max_size=3).map(lambda ops: {"schemas": [PATCH_OP], "Operations": ops})


IF_MATCH = st.one_of(
    st.none(), st.just("*"), st.just("current"), st.text(st.characters(max_codepoint=255), max_size=10)
)


@FUZZ
@given(
    body=more_group_patch_body(),
    if_match=IF_MATCH,
    group=st.sampled_from(["<group>", "<group>", "<foreign-group>", "<target>"]),
    attributes=st.one_of(st.sampled_from([None, "members,displayName"]), FIELD),
)
def test_any_scim_group_patch_with_real_or_foreign_members_answers_below_500(
    group_target: ScimGroupTarget,
    placeholders: dict[str, str],
    engine: Engine,
    body: Any,
    if_match: str | None,
    group: str,
    attributes: Any,
):
    scim = group_target.users.scim
    ids = {**placeholders, "<group>": group_target.ensure(), "<target>": group_target.users.ensure()}
    path = f"/Groups/{ids[group]}" + ("?" + urlencode({"attributes": attributes}) if attributes is not None else "")
    if if_match == "current":
        if_match = scim.get(f"/Groups/{ids['<group>']}").headers["ETag"]
    headers = {"If-Match": if_match} if if_match is not None else {}
    answer = scim_call(engine, scim, "PATCH", path, placed(body, ids), **headers)
    if group == "<foreign-group>" or group == "<target>":  # another practice's group, or a user's id: no such group
        assert answer.status_int == 404 or answer.json["scimType"] == "invalidSyntax"  # (or an unreadable query)


def member_values(members: Any) -> list[Any]:
    entries = members if isinstance(members, list) else [members]
    return [entry.get("value") for entry in entries if isinstance(entry, dict)]


@FUZZ
@given(
    body=st.one_of(
        st.fixed_dictionaries(
            {"schemas": st.just([GROUP]), "displayName": st.one_of(st.sampled_from(["Target", "Nurses"]), JSON_TEXT)},
            optional={"externalId": JSON_TEXT, "id": st.sampled_from(IDS)},
        ),
        group_body(),
    ),
    members=st.one_of(st.none(), MEMBERS),
    method=st.sampled_from(["POST", "PUT"]),
    if_match=IF_MATCH,
)
def test_any_scim_group_body_with_real_or_foreign_members_answers_below_500(
    group_target: ScimGroupTarget,
    placeholders: dict[str, str],
    engine: Engine,
    body: Any,
    members: Any,
    method: str,
    if_match: str | None,
):
    scim = group_target.users.scim
    ids = {**placeholders, "<group>": group_target.ensure(), "<target>": group_target.users.ensure()}
    if members is not None and isinstance(body, dict):
        body = {**body, "members": members}
    if if_match == "current":
        if_match = scim.get(f"/Groups/{ids['<group>']}").headers["ETag"]
    headers = {"If-Match": if_match} if if_match is not None and method == "PUT" else {}
    path = "/Groups" if method == "POST" else f"/Groups/{ids['<group>']}"
    answer = scim_call(engine, scim, method, path, placed(body, ids), **headers)
    foreign = {ids["<foreign>"], ids["<foreign-group>"]}
    if isinstance(body, dict) and foreign & {
        placed(value, ids) for value in member_values(members) if isinstance(value, str)
    }:
        assert answer.status_int >= 400  # another practice's people are nobody here


@FUZZ
@given(
    body=st.one_of(search_body(), JSON_VALUE),
    user=st.sampled_from(["<target>", "<foreign>", "<ann>"]),
    if_match=IF_MATCH,
    attributes=st.dictionaries(st.sampled_from(["attributes", "excludedAttributes"]), FIELD, max_size=2),
)
def test_any_scim_groups_search_and_a_foreign_id_answer_below_500(
    group_target: ScimGroupTarget,
    placeholders: dict[str, str],
    engine: Engine,
    body: Any,
    user: str,
    if_match: str | None,
    attributes: dict[str, Any],
):
    scim = group_target.users.scim
    ids = {**placeholders, "<group>": group_target.ensure(), "<target>": group_target.users.ensure()}
    scim_call(engine, scim, "POST", "/Groups/.search", placed(body, ids))
    query = "?" + urlencode(attributes) if attributes else ""
    scim_call(engine, scim, "GET", f"/Users/{ids[user]}{query}")
    for method in ("PUT", "PATCH", "DELETE"):
        answer = scim_call(
            engine,
            scim,
            method,
            f"/Users/{ids['<foreign>']}{query}",
            {"schemas": [USER], "userName": "x@acme.test"} if method == "PUT" else None,
            **({"If-Match": if_match} if if_match not in (None, "current") else {}),
        )
        assert answer.status_int in (400, 404)  # another practice's user is nobody here
    scim_call(engine, scim, "DELETE", f"/Groups/{ids['<foreign-group>']}")


MORE_USER_ATTRIBUTES = ("preferredLanguage", "groups", "meta", "locale", "nickName", "active", "roles")
MORE_PATCH_PATHS = (
    "preferredLanguage",
    "groups",
    "meta",
    "meta.lastModified",
    f"{USER}:userName",
    f"{USER}:preferredLanguage",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    'emails[type eq "work" and primary eq true].value',
    'emails[value eq "target@acme.test"]',
    "emails[primary eq true]",
    "emails[",
    "active[value eq true]",
    "active.value",
    "name[",
    "id",
)


@FUZZ
@given(
    fuzzed=st.dictionaries(
        st.sampled_from(MORE_USER_ATTRIBUTES),
        st.one_of(JSON_VALUE, st.sampled_from(["de", "de-AT", "fr", "True", "False", "\ud800", "a\x00"])),
        max_size=3,
    ),
    operations=st.lists(
        st.fixed_dictionaries(
            {"op": st.sampled_from(["add", "replace", "remove", "Replace"])},
            optional={
                "path": st.one_of(st.sampled_from(MORE_PATCH_PATHS), JSON_TEXT),
                "value": st.one_of(JSON_VALUE, st.sampled_from(["de", "True", "False", "x@acme.test"])),
            },
        ),
        min_size=1,
        max_size=3,
    ),
    if_match=IF_MATCH,
)
def test_any_scim_user_language_groups_and_extension_answer_below_500(
    scim_target: ScimTarget, engine: Engine, fuzzed: dict[str, Any], operations: list[Any], if_match: str | None
):
    scim = scim_target.scim
    user = scim_target.ensure()
    if if_match == "current":
        if_match = scim.get(f"/Users/{user}").headers["ETag"]
    headers = {"If-Match": if_match} if if_match is not None else {}
    body = {"schemas": [USER], "userName": "target@acme.test", **fuzzed}
    scim_call(engine, scim, "PUT", f"/Users/{user}", body, **headers)
    scim_call(
        engine, scim, "PATCH", f"/Users/{scim_target.ensure()}", {"schemas": [PATCH_OP], "Operations": operations}
    )
    scim_call(engine, scim, "POST", "/Users", {**body, "userName": "other@acme.test"})


@FUZZ
@given(name=FIELD, collection=st.sampled_from(["Schemas", "ResourceTypes", "ServiceProviderConfig"]), query=FIELD)
def test_any_scim_discovery_request_answers_below_500(
    scim_target: ScimTarget, engine: Engine, name: Any, collection: str, query: Any
):
    scim = scim_target.scim
    for path in (f"/{collection}", f"/{collection}/{raw_path(name)}", f"/{collection}?filter={raw_path(query)}"):
        before = snapshot(engine)
        answered(scim.app.get("/scim/v2" + path, headers=scim.headers(), expect_errors=True), before, engine)
