"""The login policy (/admin/authentication/policy) and the matching order it drives, end to end.

The page: who may open it, saving every field, validation of the claim mappings on save,
the preview against sample claims, CSRF, the audit trail and tenant isolation. Then the
matching order through the real loopback provider: registration on first login, linking by
verified email, no linking by an unverified email, the pre-hijacking defence, pseudo-SSO
mirroring and two tenants with different policies. Every form is the page's real
``policy-form``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import webtest
from sqlalchemy import Engine, func, select

from adapters.db.schema import identity_links, practitioners, tenants
from domain.practitioners.rights import ModuleRight
from tests.e2e.conftest import PASSWORD, Portal
from tests.e2e.sso import Sso, audit_rows, audited, op, sso  # noqa: F401  (fixtures)

PATH = "/admin/authentication/policy"
OWNER = "owner@acme.test"
ANN = "ann@acme.test"
FIELDS = ("first_name", "last_name", "email", "salutation", "phone", "job_title")
DEFAULT_CLAIMS = {"first_name": "given_name", "last_name": "family_name", "email": "email"}


# --- helpers -------------------------------------------------------------------------------


def logged_in(portal: Portal, email: str, slug: str = "acme") -> webtest.TestApp:
    browser = portal.browser(slug)
    portal.log_in(browser, email, PASSWORD)
    return browser


def filled(page: webtest.TestResponse, **values: str | bool) -> webtest.Form:
    """The policy form with these values; ``claim_<field>`` and ``value_map_<field>`` name the table's inputs."""
    form = page.forms["policy-form"]
    for name, value in values.items():
        form[re.sub(r"^(claim|value_map)_", r"\1-", name)] = value
    return form


def save(browser: webtest.TestApp, status: int = 303, **values: str | bool) -> webtest.TestResponse:
    """Opens the policy page, fills the form and presses Save."""
    return filled(browser.get(PATH), **values).submit("action", value="save", status=status)


def preview(browser: webtest.TestApp, claims: Any, status: int = 200, **values: str | bool) -> webtest.TestResponse:
    sample = claims if isinstance(claims, str) else json.dumps(claims)
    return filled(browser.get(PATH), sample_claims=sample, **values).submit("action", value="preview", status=status)


def preview_values(page: webtest.TestResponse) -> dict[str, tuple[str, str]]:
    """The preview table: profile field -> (claim, value), as shown."""
    table = page.html.find(id="preview")
    rows = {}
    for tr in table.tbody.find_all("tr"):
        field, claim, value = (td.get_text(" ", strip=True) for td in tr.find_all("td"))
        rows[field] = (claim, value)
    return rows


def field_error(page: webtest.TestResponse, key: str) -> str | None:
    """The error shown beside a field (``workflow``, ``mapping-email``, ``value_map-salutation``...)."""
    tag = page.html.find(id=f"{key}-error")
    return tag.get_text(" ", strip=True) if tag is not None else None


def field_errors(page: webtest.TestResponse) -> dict[str, str]:
    form = page.html.find(id="policy-form")
    return {tag["id"][: -len("-error")]: tag.get_text(" ", strip=True) for tag in form.find_all(class_="field-error")}


def csrf_token(page: webtest.TestResponse) -> str:
    return page.html.find("input", attrs={"name": "csrf_token"})["value"]


def policy_row(engine: Engine, slug: str = "acme") -> dict[str, Any]:
    """The tenant's row as stored, every column."""
    with engine.connect() as connection:
        return dict(connection.execute(select(tenants).where(tenants.c.slug == slug)).one()._mapping)


def mappings(engine: Engine, slug: str = "acme") -> dict[str, tuple[str, tuple[tuple[str, str], ...]]]:
    return {m.field.value: (m.claim, m.value_map) for m in policy_row(engine, slug)["claim_mappings"]}


def practitioner(engine: Engine, email: str, slug: str = "acme") -> Any:
    with engine.connect() as connection:
        return connection.execute(
            select(practitioners)
            .join(tenants, tenants.c.id == practitioners.c.tenant_id)
            .where(tenants.c.slug == slug, practitioners.c.email == email)
        ).one_or_none()


def count(engine: Engine, table: Any, slug: str | None = None) -> int:
    query = select(func.count()).select_from(table)
    if slug is not None:
        query = query.join(tenants, tenants.c.id == table.c.tenant_id).where(tenants.c.slug == slug)
    with engine.connect() as connection:
        return connection.scalar(query)


def links_of(engine: Engine, email: str, slug: str = "acme") -> list[Any]:
    with engine.connect() as connection:
        return connection.execute(
            select(identity_links)
            .join(practitioners, practitioners.c.id == identity_links.c.practitioner_id)
            .join(tenants, tenants.c.id == practitioners.c.tenant_id)
            .where(tenants.c.slug == slug, practitioners.c.email == email)
        ).all()


def home_name(browser: webtest.TestApp) -> str:
    return re.search(r"<h1>Welcome, ([^<]*)</h1>", browser.get("/").text).group(1)


def logged_out(browser: webtest.TestApp) -> bool:
    return browser.get("/", status="*").status_int == 303


def password_works(portal: Portal, email: str, slug: str = "acme") -> bool:
    return portal.log_in(portal.browser(slug), email, PASSWORD, status="*").status_int == 303


@pytest.fixture
def acme(portal: Portal) -> Portal:
    """Acme with its owner, a practitioner with the Authentication right and two without."""
    portal.open_tenant("acme")
    portal.add_practitioner("acme", "security@acme.test", rights=frozenset({ModuleRight.AUTHENTICATION}))
    portal.add_practitioner("acme", "clerk@acme.test", rights=frozenset({ModuleRight.PRACTITIONERS}))
    portal.add_practitioner("acme", "plain@acme.test")
    return portal


@pytest.fixture
def owner(acme: Portal) -> webtest.TestApp:
    return logged_in(acme, OWNER)


# --- who may open the page -----------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_log_in(acme: Portal):
    redirect = acme.browser("acme").get(PATH, status=303)
    assert redirect.location.endswith("/login?next=" + PATH.replace("/", "%2F"))


@pytest.mark.parametrize("email", ["plain@acme.test", "clerk@acme.test"])
def test_a_practitioner_without_the_authentication_right_is_refused(acme: Portal, email: str):
    assert "Not allowed" in logged_in(acme, email).get(PATH, status=403).text


@pytest.mark.parametrize("email", [OWNER, "security@acme.test"])
def test_the_owner_and_a_holder_of_the_authentication_right_may_open_the_page(acme: Portal, email: str):
    page = logged_in(acme, email).get(PATH, status=200)
    assert "policy-form" in page.forms


@pytest.mark.parametrize("email", ["plain@acme.test", "clerk@acme.test"])
def test_a_practitioner_without_the_right_cannot_save_the_policy(acme: Portal, engine: Engine, email: str):
    before = policy_row(engine)
    browser = logged_in(acme, email)
    token = csrf_token(browser.get("/"))
    fields = {
        "csrf_token": token,
        "action": "save",
        "workflow": "standard",
        "unknown_identity": "register",
        "self_registration": "on",
        **{f"claim-{f}": c for f, c in DEFAULT_CLAIMS.items()},
    }
    browser.post(PATH, fields, status=403)
    assert policy_row(engine) == before


def test_a_holder_of_the_authentication_right_can_save_the_policy(acme: Portal, engine: Engine):
    save(logged_in(acme, "security@acme.test"), unknown_identity="register")
    assert policy_row(engine)["unknown_identity"].value == "register"


# --- the page ------------------------------------------------------------------------------------


def test_a_new_practice_shows_the_defaults(owner: webtest.TestApp):
    page = owner.get(PATH)
    form = page.forms["policy-form"]
    assert form["workflow"].value == "standard"
    assert form["unknown_identity"].value == "confirm_by_otp"
    assert not form["self_registration"].checked
    assert {f: form[f"claim-{f}"].value for f in FIELDS} == {**dict.fromkeys(FIELDS, ""), **DEFAULT_CLAIMS}
    assert all(form[f"value_map-{f}"].value == "" for f in FIELDS)
    assert field_errors(page) == {}


def test_the_page_explains_each_option_and_warns_that_email_linking_trusts_the_provider(owner: webtest.TestApp):
    page = owner.get(PATH)
    warning = page.html.find(id="trust-warning").get_text(" ", strip=True)
    assert "email_verified" in warning and "Link by verified email" in warning and "Register newcomers" in warning
    for text in (
        "code sent to it",
        "says the email is verified",
        "gets a new account here",
        "overwrites the mapped fields",
    ):
        assert text in page.text
    assert page.html.find("a", href="/admin/authentication") is not None


@pytest.mark.parametrize("unknown_identity", ["link_verified_email", "register", "confirm_by_otp"])
def test_each_way_of_handling_an_unknown_identity_is_saved_and_shown(
    owner: webtest.TestApp, engine: Engine, unknown_identity: str
):
    if unknown_identity == "confirm_by_otp":
        save(owner, unknown_identity="register")
    done = save(owner, unknown_identity=unknown_identity).follow()
    assert "The login policy is saved" in done.text
    assert policy_row(engine)["unknown_identity"].value == unknown_identity
    assert done.forms["policy-form"]["unknown_identity"].value == unknown_identity


def test_self_registration_is_saved_shown_and_can_be_switched_off(owner: webtest.TestApp, engine: Engine):
    assert save(owner, self_registration=True).follow().forms["policy-form"]["self_registration"].checked
    assert policy_row(engine)["self_registration"] is True
    assert not save(owner, self_registration=False).follow().forms["policy-form"]["self_registration"].checked
    assert policy_row(engine)["self_registration"] is False


def test_the_workflow_is_saved_and_shown_once_a_provider_is_enabled(sso: Sso, engine: Engine):
    sso.connect()
    save(sso.admin(), workflow="pseudo_sso")
    assert policy_row(engine)["workflow"].value == "pseudo_sso"
    admin = sso.admin_through_provider()  # pseudo-SSO ended the password sessions, the admin's too
    assert admin.get(PATH).forms["policy-form"]["workflow"].value == "pseudo_sso"
    save(admin, workflow="standard")
    assert policy_row(engine)["workflow"].value == "standard"


def test_claim_mappings_with_value_maps_are_saved_and_shown_again(owner: webtest.TestApp, engine: Engine):
    done = save(
        owner,
        claim_first_name="firstName",
        claim_salutation="salutation",
        value_map_salutation="Herr = male\nFrau = female\n\n Divers = diverse ",
        claim_phone="phone_number",
        claim_job_title="extension_jobTitle",
    ).follow()
    assert mappings(engine) == {
        "first_name": ("firstName", ()),
        "last_name": ("family_name", ()),
        "email": ("email", ()),
        "salutation": ("salutation", (("Herr", "male"), ("Frau", "female"), ("Divers", "diverse"))),
        "phone": ("phone_number", ()),
        "job_title": ("extension_jobTitle", ()),
    }
    form = done.forms["policy-form"]
    assert form["claim-salutation"].value == "salutation"
    assert form["value_map-salutation"].value == "Herr = male\nFrau = female\nDivers = diverse"
    assert form["claim-job_title"].value == "extension_jobTitle"


def test_an_emptied_claim_removes_its_mapping(owner: webtest.TestApp, engine: Engine):
    save(owner, claim_phone="phone_number", claim_salutation="gender", value_map_salutation="m = male")
    save(owner, claim_phone="", claim_salutation="", value_map_salutation="")
    assert set(mappings(engine)) == {"first_name", "last_name", "email"}
    form = owner.get(PATH).forms["policy-form"]
    assert form["claim-phone"].value == "" and form["value_map-salutation"].value == ""


@pytest.mark.parametrize("provider", ["none", "disabled"])
def test_pseudo_sso_is_refused_without_an_enabled_provider(sso: Sso, engine: Engine, provider: str):
    if provider == "disabled":
        provider_id = sso.connect()
        form = sso.admin().get(f"/admin/authentication?provider={provider_id}").forms["provider-form"]
        form["enabled"] = False
        form.submit("action", value="save", status=303)
    before = policy_row(engine)
    page = save(sso.admin(), status=400, workflow="pseudo_sso", unknown_identity="register")
    assert "pseudo-SSO needs an enabled Single Sign On provider" in field_error(page, "workflow")
    assert "Nothing was saved" in page.text
    assert policy_row(engine) == before


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"claim_first_name": "given name"}, "mapping-first_name", "a claim name has 1 to 100 letters"),
        ({"claim_last_name": "x" * 101}, "mapping-last_name", "a claim name has 1 to 100 letters"),
        ({"claim_phone": "<script>"}, "mapping-phone", "a claim name has 1 to 100 letters"),
        ({"claim_job_title": "x" * 201}, "claim-job_title", "at most 200 characters"),
        (
            {"claim_salutation": "salutation", "value_map_salutation": "Herr"},
            "value_map-salutation",
            "claim value = field value",
        ),
        (
            {"claim_salutation": "salutation", "value_map_salutation": "= male"},
            "value_map-salutation",
            "claim value = field value",
        ),
        (
            {"claim_salutation": "salutation", "value_map_salutation": "Herr = mister"},
            "mapping-salutation",
            "not 'mister'",
        ),
        (
            {"claim_salutation": "salutation", "value_map_salutation": "Herr = male\nHerr = female"},
            "mapping-salutation",
            "appears twice",
        ),
        ({"claim_salutation": "", "value_map_salutation": "Herr = male"}, "value_map-salutation", "needs a claim"),
        ({"claim_email": ""}, "mapping-email", "the email must come from a claim"),
        ({"claim_first_name": ""}, "mapping-first_name", "the first name must come from a claim"),
        ({"claim_last_name": "   "}, "mapping-last_name", "the last name must come from a claim"),
    ],
    ids=[
        "space",
        "long",
        "markup",
        "over-limit",
        "no-equals",
        "no-source",
        "bad-salutation",
        "duplicate",
        "map-without-claim",
        "no-email",
        "no-first-name",
        "blank-last-name",
    ],
)
def test_a_bad_mapping_is_refused_beside_its_field_and_saves_nothing(
    owner: webtest.TestApp, engine: Engine, values: dict[str, str], key: str, message: str
):
    before = policy_row(engine)
    page = save(owner, status=400, unknown_identity="register", self_registration=True, **values)
    assert message in (field_error(page, key) or ""), field_errors(page)
    assert "Nothing was saved" in page.text
    assert policy_row(engine) == before
    assert audited(engine) == 0


def test_several_mistakes_are_all_shown_at_once_and_the_form_keeps_what_was_typed(
    owner: webtest.TestApp, engine: Engine
):
    before = policy_row(engine)
    page = save(
        owner,
        status=400,
        unknown_identity="register",
        claim_email="",
        claim_salutation="<b>gender</b>",
        value_map_salutation="Herr",
        claim_phone="tel",
    )
    assert set(field_errors(page)) == {"mapping-email", "value_map-salutation"}
    form = page.forms["policy-form"]
    assert form["unknown_identity"].value == "register"
    assert form["claim-salutation"].value == "<b>gender</b>" and form["value_map-salutation"].value == "Herr"
    assert form["claim-phone"].value == "tel"
    assert "<b>gender</b>" not in page.text  # echoed as text
    assert page.html.find(id="claim-email")["aria-describedby"] == "mapping-email-error"
    assert policy_row(engine) == before


@pytest.mark.parametrize("field", ["workflow", "unknown_identity"])
@pytest.mark.parametrize("value", ["", "admin", "x" * 500])
def test_a_forged_choice_is_refused_beside_its_field(owner: webtest.TestApp, engine: Engine, field: str, value: str):
    before = policy_row(engine)
    token = csrf_token(owner.get(PATH))
    fields = {
        "csrf_token": token,
        "action": "save",
        "workflow": "standard",
        "unknown_identity": "confirm_by_otp",
        **{f"claim-{f}": c for f, c in DEFAULT_CLAIMS.items()},
        field: value,
    }
    page = owner.post(PATH, fields, status=400)
    assert field_error(page, field)
    assert policy_row(engine) == before


def test_a_file_uploaded_where_a_claim_belongs_is_refused(owner: webtest.TestApp, engine: Engine):
    before = policy_row(engine)
    token = csrf_token(owner.get(PATH))
    page = owner.post(
        PATH,
        {
            "csrf_token": token,
            "action": "save",
            "workflow": "standard",
            "unknown_identity": "confirm_by_otp",
            "claim-last_name": "family_name",
            "claim-email": "email",
        },
        upload_files=[("claim-first_name", "claim.txt", b"given_name")],
        status=400,
    )
    assert "this field takes text" in field_error(page, "claim-first_name")
    assert policy_row(engine) == before


def test_an_unknown_action_is_refused_with_a_message(owner: webtest.TestApp, engine: Engine):
    before = policy_row(engine)
    token = csrf_token(owner.get(PATH))
    page = owner.post(PATH, {"csrf_token": token, "action": "delete", "unknown_identity": "register"}, status=400)
    assert "That action is not known" in page.text
    assert policy_row(engine) == before


@pytest.mark.parametrize("token", [None, "", "forged-token"], ids=["missing", "empty", "wrong"])
def test_a_post_without_a_valid_csrf_token_is_refused_and_saves_nothing(
    owner: webtest.TestApp, engine: Engine, token: str | None
):
    before = policy_row(engine)
    owner.get(PATH)
    fields = {
        "action": "save",
        "workflow": "standard",
        "unknown_identity": "register",
        "self_registration": "on",
        **{f"claim-{f}": c for f, c in DEFAULT_CLAIMS.items()},
    }
    if token is not None:
        fields["csrf_token"] = token
    page = owner.post(PATH, fields, status=400)
    assert "The form has expired" in page.text
    assert policy_row(engine) == before
    assert audited(engine) == 0


# --- the preview -------------------------------------------------------------------------------


def test_the_preview_shows_what_the_typed_mappings_make_of_the_sample_and_saves_nothing(
    owner: webtest.TestApp, engine: Engine
):
    before = policy_row(engine)
    sample = {
        "given_name": " Anna ",
        "family_name": "Meier",
        "email": "Anna@Example.COM",
        "salutation": "Frau",
        "address": {"locality": "Bern"},
        "phone_number": "+41 31 000 00 00",
    }
    page = preview(
        owner,
        sample,
        claim_salutation="salutation",
        value_map_salutation="Herr = male\nFrau = female",
        claim_phone="phone_number",
        claim_job_title="address.locality",
    )
    assert preview_values(page) == {
        "First name": ("given_name", "Anna"),
        "Last name": ("family_name", "Meier"),
        "Email": ("email", "anna@example.com"),
        "Salutation": ("salutation", "female"),
        "Phone": ("phone_number", "+41 31 000 00 00"),
        "Job title": ("address.locality", "Bern"),
    }
    form = page.forms["policy-form"]  # the form comes back as typed, to save or change
    assert form["claim-salutation"].value == "salutation" and json.loads(form["sample_claims"].value) == sample
    assert policy_row(engine) == before
    assert audited(engine) == 0


def test_the_preview_leaves_unknown_claims_and_unmapped_values_unset(owner: webtest.TestApp):
    page = preview(
        owner,
        {"given_name": "Bo", "email": "not an email", "salutation": "Dr.", "phone": ["a", "b"]},
        claim_salutation="salutation",
        value_map_salutation="Herr = male",
        claim_phone="phone",
    )
    shown = preview_values(page)
    assert shown["First name"] == ("given_name", "Bo")
    assert shown["Last name"] == ("family_name", "— (unset)")
    assert shown["Email"] == ("email", "— (unset)")
    assert shown["Salutation"] == ("salutation", "— (unset)")
    assert shown["Phone"] == ("phone", "— (unset)")
    assert shown["Job title"] == ("not mapped", "— (unset)")


def test_the_preview_shows_values_from_the_sample_as_text(owner: webtest.TestApp):
    page = preview(owner, {"given_name": "<script>alert(1)</script>", "family_name": "X", "email": "x@example.com"})
    assert "<script>alert(1)</script>" not in page.text
    assert preview_values(page)["First name"] == ("given_name", "<script>alert(1)</script>")


@pytest.mark.parametrize(
    ("sample", "message"),
    [
        ("{not json", "paste the claims as a JSON object"),
        ("", "paste the claims as a JSON object"),
        ('["given_name"]', "the claims must be a JSON object"),
        ("42", "the claims must be a JSON object"),
    ],
    ids=["broken", "empty", "list", "number"],
)
def test_a_sample_that_is_not_a_json_object_is_refused_with_a_message(
    owner: webtest.TestApp, engine: Engine, sample: str, message: str
):
    before = policy_row(engine)
    page = preview(owner, sample, status=400, unknown_identity="register")
    assert message in field_error(page, "sample_claims")
    assert page.html.find(id="preview") is None
    assert page.forms["policy-form"]["sample_claims"].value == sample
    assert policy_row(engine) == before


def test_a_preview_with_an_unreadable_value_map_is_refused_beside_it(owner: webtest.TestApp):
    page = preview(
        owner, {"salutation": "Herr"}, status=400, claim_salutation="salutation", value_map_salutation="Herr male"
    )
    assert "claim value = field value" in field_error(page, "value_map-salutation")


# --- the audit trail ----------------------------------------------------------------------------


def test_every_save_is_audited_with_who_and_what_changed(acme: Portal):
    owner = logged_in(acme, OWNER)
    save(owner, unknown_identity="register", self_registration=True)
    save(logged_in(acme, "security@acme.test"), claim_salutation="gender", value_map_salutation="m = male")
    save(owner)
    rows = audit_rows(owner)
    assert [row["Event"] for row in rows] == ["settings changed"] * 3
    unchanged, mapped, policy = rows
    assert "login policy: unknown identities register" in policy["What happened"]
    assert "self-registration on" in policy["What happened"] and policy["Who"] == OWNER
    assert "claim mappings changed" in mapped["What happened"] and mapped["Who"] == "security@acme.test"
    assert "saved without changes" in unchanged["What happened"] and unchanged["Who"] == OWNER


def test_a_refused_save_and_a_preview_are_not_audited(owner: webtest.TestApp, engine: Engine):
    save(owner, status=400, claim_email="")
    preview(owner, {"given_name": "Ann"})
    assert audited(engine) == 0


# --- tenant isolation ---------------------------------------------------------------------------


def test_each_practice_sees_and_saves_only_its_own_policy(acme: Portal, engine: Engine):
    owner = logged_in(acme, OWNER)
    save(
        owner,
        unknown_identity="register",
        self_registration=True,
        claim_salutation="gender",
        value_map_salutation="Herr = male",
    )
    acme_before = policy_row(engine, "acme")
    acme.open_tenant("beta")
    beta = logged_in(acme, "owner@beta.test", "beta")
    form = beta.get(PATH).forms["policy-form"]
    assert form["unknown_identity"].value == "confirm_by_otp" and not form["self_registration"].checked
    assert form["claim-salutation"].value == "" and form["value_map-salutation"].value == ""

    save(beta, unknown_identity="link_verified_email", claim_phone="phone_number")
    assert policy_row(engine, "acme") == acme_before
    assert policy_row(engine, "beta")["unknown_identity"].value == "link_verified_email"
    assert [row["Who"] for row in audit_rows(beta)] == ["owner@beta.test"]
    assert [row["Who"] for row in audit_rows(owner)] == [OWNER]
    assert owner.get(PATH).forms["policy-form"]["claim-phone"].value == ""


def test_an_admin_of_one_practice_cannot_open_another_practices_page(acme: Portal):
    acme.open_tenant("beta")
    owner = logged_in(acme, OWNER)
    # The session cookie belongs to acme's host; on beta's host the same browser is nobody.
    owner.extra_environ["HTTP_HOST"] = "beta.portal.test"
    assert owner.get(PATH, status=303).location.endswith("/login?next=" + PATH.replace("/", "%2F"))


# --- the matching order, end to end through the loopback provider ----------------------------------


def set_policy(sso: Sso, slug: str = "acme", **values: str | bool) -> webtest.TestApp:
    """The practice's owner saves the policy through the page; returns the owner's browser."""
    admin = sso.admin(slug)
    save(admin, **values)
    return admin


def test_registration_on_first_login_creates_an_account_from_the_token_without_a_password(sso: Sso, engine: Engine):
    sso.connect()
    admin = set_policy(
        sso,
        unknown_identity="register",
        claim_salutation="salutation",
        value_map_salutation="Herr = male\nFrau = female",
        claim_job_title="jobTitle",
    )
    sso.op.login_as("nina-sub", email="Nina@Home.example", email_verified=True, given_name="Nina", family_name="Neu")
    # Custom claims travel in the ID token (as with Entra ID's optional claims), signed by the provider.
    sso.op.patch_id_token(salutation="Herr", jobTitle="Physio")
    browser = sso.portal.browser("acme")
    answer = sso.log_in(browser, status=303)
    assert answer.location == "http://acme.portal.test/"
    assert home_name(browser) == "Nina"

    row = practitioner(engine, "nina@home.example")
    assert (row.first_name, row.last_name, row.salutation, row.job_title) == ("Nina", "Neu", "male", "Physio")
    assert row.password_hash is None and row.email_proven is True and not row.is_owner and row.rights == frozenset()
    assert [link.subject for link in links_of(engine, "nina@home.example")] == ["nina-sub"]
    assert not password_works(sso.portal, "nina@home.example")
    assert any(
        r["Event"] == "registered" and "nina@home.example registered at first sign-in" in r["What happened"]
        for r in audit_rows(admin)
    )

    again = sso.portal.browser("acme")
    assert sso.log_in(again, status=303).location == "http://acme.portal.test/"
    assert home_name(again) == "Nina"
    assert count(engine, practitioners, "acme") == 3  # owner, Ann, Nina: no second Nina


def test_a_salutation_the_value_map_does_not_know_is_left_unset_and_the_login_still_works(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(sso, unknown_identity="register", claim_salutation="gender", value_map_salutation="Herr = male")
    sso.op.login_as(
        "kim-sub", email="kim@home.example", email_verified=True, given_name="Kim", family_name="Ko", gender="Dr."
    )  # a standard profile claim, also in userinfo
    assert sso.log_in(sso.portal.browser("acme"), status=303).location == "http://acme.portal.test/"
    assert practitioner(engine, "kim@home.example").salutation is None


@pytest.mark.parametrize(
    ("missing", "what"),
    [("email", "email"), ("given_name", "first name"), ("family_name", "last name")],
)
def test_registration_is_refused_when_the_token_lacks_an_email_or_a_name(
    sso: Sso, engine: Engine, missing: str, what: str
):
    sso.connect()
    admin = set_policy(sso, unknown_identity="register")
    claims = {"email": "nina@home.example", "email_verified": True, "given_name": "Nina", "family_name": "Neu"}
    del claims[missing]
    sso.op.login_as("nina-sub", **claims)
    before = count(engine, practitioners)
    browser = sso.portal.browser("acme")
    page = sso.log_in(browser, status=400)
    assert "Single Sign On did not work" in page.text
    assert f"did not send your {what}, which a new account needs" in page.text
    assert "administrator to create your account" in page.text
    assert count(engine, practitioners) == before and count(engine, identity_links) == 0
    assert logged_out(browser)
    assert audit_rows(admin)[0]["Event"] == "sso login failed"


def test_registration_is_refused_for_an_unusable_email(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(sso, unknown_identity="register")
    sso.op.login_as("nina-sub", email="not an email", email_verified=True, given_name="Nina", family_name="Neu")
    before = count(engine, practitioners)
    assert "did not send your email" in sso.log_in(sso.portal.browser("acme"), status=400).text
    assert count(engine, practitioners) == before and count(engine, identity_links) == 0


def test_registration_never_creates_a_second_account_for_a_registered_email(sso: Sso, engine: Engine):
    """An unverified email that is registered here is neither linked nor registered again: the code decides."""
    sso.connect()
    set_policy(sso, unknown_identity="register")
    sso.op.login_as("mallory-sub", email=ANN, email_verified=False, given_name="Mal", family_name="Lory")
    before = count(engine, practitioners)
    assert sso.log_in(sso.portal.browser("acme"), status=303).location.endswith("/sso/link")
    assert count(engine, practitioners) == before and count(engine, identity_links) == 0


@pytest.mark.parametrize("unknown_identity", ["link_verified_email", "register"])
def test_a_verified_email_logs_the_practitioner_straight_in_and_links_the_account(
    sso: Sso, engine: Engine, unknown_identity: str
):
    sso.connect()
    admin = set_policy(sso, unknown_identity=unknown_identity)
    sso.op.login_as("ann-sub", email="ANN@acme.test", email_verified=True, given_name="Annabel", family_name="Other")
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, status=303).location == "http://acme.portal.test/"
    assert home_name(browser) == "Pat"  # the registered account, not a new one from the token
    assert [link.subject for link in links_of(engine, ANN)] == ["ann-sub"]
    assert practitioner(engine, ANN).first_name == "Pat"  # standard workflow: nothing overwritten
    assert sso.portal.mails() == []  # no one-time password needed
    assert any(
        r["Event"] == "link confirmed" and f"{ANN} linked by the verified email" in r["What happened"]
        for r in audit_rows(admin)
    )

    # Linked by the foreign id now: the email at the provider no longer matters.
    sso.op.login_as(
        "ann-sub", email="ann@elsewhere.example", email_verified=False, given_name="Ann", family_name="Smith"
    )
    again = sso.portal.browser("acme")
    assert sso.log_in(again, status=303).location == "http://acme.portal.test/"
    assert home_name(again) == "Pat"
    assert practitioner(engine, "ann@elsewhere.example") is None


@pytest.mark.parametrize("unknown_identity", ["link_verified_email", "register"])
@pytest.mark.parametrize("verified", [False, "missing", "true", 1], ids=["false", "missing", "string", "one"])
def test_an_unverified_email_never_links_an_account(sso: Sso, engine: Engine, unknown_identity: str, verified: Any):
    sso.connect()
    set_policy(sso, unknown_identity=unknown_identity)
    claims: dict[str, Any] = {"email": ANN, "given_name": "Ann", "family_name": "Smith"}
    if verified is False:
        claims["email_verified"] = False
    sso.op.login_as("ann-sub", **claims)
    if verified not in (False, "missing"):  # pyoidc will not issue these: the ID token carries them, signed
        sso.op.patch_id_token(email_verified=verified)
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, status=303).location.endswith("/sso/link")
    assert "email-form" in browser.get("/sso/link").forms
    assert count(engine, identity_links) == 0
    assert logged_out(browser)
    assert password_works(sso.portal, ANN)  # the account is untouched


def test_confirm_by_otp_never_links_by_email_even_when_it_is_verified(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(sso, unknown_identity="confirm_by_otp")
    sso.op.login_as("ann-sub", email=ANN, email_verified=True, given_name="Ann", family_name="Smith")
    assert sso.log_in(sso.portal.browser("acme"), status=303).location.endswith("/sso/link")
    assert count(engine, identity_links) == 0


def test_linking_by_verified_email_takes_an_unproven_account_away_from_whoever_set_it_up(sso: Sso, engine: Engine):
    """Pre-hijacking: an account set up with a password nobody proved the email for loses that password."""
    sso.connect()
    set_policy(sso, unknown_identity="link_verified_email")
    sso.portal.add_practitioner("acme", "victim@acme.test", password=PASSWORD)
    assert practitioner(engine, "victim@acme.test").email_proven is False
    squatter = logged_in(sso.portal, "victim@acme.test")
    assert not logged_out(squatter)

    sso.op.login_as("victim-sub", email="victim@acme.test", email_verified=True, given_name="Vic", family_name="Tim")
    owner_of_the_email = sso.portal.browser("acme")
    assert sso.log_in(owner_of_the_email, status=303).location == "http://acme.portal.test/"
    assert home_name(owner_of_the_email) == "Pat"

    row = practitioner(engine, "victim@acme.test")
    assert row.password_hash is None and row.email_proven is True
    assert not password_works(sso.portal, "victim@acme.test")
    assert logged_out(squatter)
    assert not logged_out(owner_of_the_email)


def test_linking_by_verified_email_keeps_the_password_of_an_account_whose_email_was_proven(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(sso, unknown_identity="link_verified_email")
    with engine.begin() as connection:
        connection.execute(practitioners.update().where(practitioners.c.email == ANN).values(email_proven=True))
    session = logged_in(sso.portal, ANN)
    sso.op.login_as("ann-sub", email=ANN, email_verified=True, given_name="Ann", family_name="Smith")
    assert sso.log_in(sso.portal.browser("acme"), status=303).location == "http://acme.portal.test/"
    assert password_works(sso.portal, ANN)
    assert not logged_out(session)


def test_pseudo_sso_overwrites_the_mapped_fields_on_the_next_login_and_audits_it(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(sso, workflow="pseudo_sso", claim_job_title="jobTitle")
    assert policy_row(engine)["workflow"].value == "pseudo_sso"
    sso.first_login(sso.portal.browser("acme"), ANN)  # confirm_by_otp: the code links Ann

    sso.op.login_as("ann-sub", email="ann@home.example", email_verified=True, given_name="Annie", family_name="Smythe")
    sso.op.patch_id_token(jobTitle="Osteopath")
    browser = sso.portal.browser("acme")
    assert sso.log_in(browser, status=303).location == "http://acme.portal.test/"
    row = practitioner(engine, "ann@home.example")
    assert row is not None and (row.first_name, row.last_name, row.job_title) == ("Annie", "Smythe", "Osteopath")
    assert home_name(browser) == "Annie"
    # The owner's own first sign-in (by code) is mirrored too: Ann's rows are the ones looked at.
    mirrored = [
        r
        for r in audit_rows(sso.admin_through_provider())
        if r["Event"] == "profile mirrored" and r["What happened"].startswith("ann@home.example")
    ]
    assert mirrored and "overwritten from the provider" in mirrored[0]["What happened"]
    assert "first name" in mirrored[0]["What happened"] and "last name" in mirrored[0]["What happened"]


def test_the_standard_workflow_never_overwrites_on_later_logins(sso: Sso, engine: Engine):
    sso.connect()
    admin = set_policy(sso, workflow="standard")
    sso.first_login(sso.portal.browser("acme"), ANN)
    sso.op.login_as("ann-sub", email="ann@home.example", email_verified=True, given_name="Annie", family_name="Smythe")
    sso.log_in(sso.portal.browser("acme"), status=303)
    row = practitioner(engine, ANN)
    assert (row.first_name, row.last_name) == ("Pat", "Ann")
    assert not any(r["Event"] == "profile mirrored" for r in audit_rows(admin))


def test_two_practices_with_different_policies_treat_the_same_provider_user_each_their_own_way(
    sso: Sso, engine: Engine
):
    sso.connect("acme")
    acme_admin = set_policy(sso, "acme", unknown_identity="register")
    sso.portal.open_tenant("beta")
    sso.connect("beta")
    beta_admin = sso.admin("beta")
    assert beta_admin.get(PATH).forms["policy-form"]["unknown_identity"].value == "confirm_by_otp"
    sso.op.login_as("zoe-sub", email="zoe@home.example", email_verified=True, given_name="Zoe", family_name="Zed")

    on_acme = sso.portal.browser("acme")
    assert sso.log_in(on_acme, status=303).location == "http://acme.portal.test/"
    assert home_name(on_acme) == "Zoe"

    on_beta = sso.portal.browser("beta")
    assert sso.log_in(on_beta, status=303).location == "http://beta.portal.test/sso/link"
    assert logged_out(on_beta)
    beta_events = {row["Event"] for row in audit_rows(beta_admin)}
    assert "registered" not in beta_events and "sso login succeeded" not in beta_events
    page = sso.request_code(on_beta, "zoe@home.example")  # registered on acme only
    assert "If this email is registered here" in page.text and sso.portal.mails() == []

    assert practitioner(engine, "zoe@home.example", "acme") is not None
    assert practitioner(engine, "zoe@home.example", "beta") is None
    assert count(engine, practitioners, "beta") == 1 and count(engine, identity_links, "beta") == 0
    assert "zoe@home.example registered" in " ".join(r["What happened"] for r in audit_rows(acme_admin))
    assert "Zoe" not in beta_admin.get("/admin/practitioners").text
    assert policy_row(engine, "beta")["unknown_identity"].value == "confirm_by_otp"
