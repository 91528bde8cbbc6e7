"""/admin/practitioners: who may open it, list and search, add, deactivate, tenant isolation."""

from __future__ import annotations

import pytest
import webtest
from sqlalchemy import Engine, func, select

from adapters.db.schema import practitioners, tenants
from domain.practitioners.rights import ModuleRight
from tests.e2e.conftest import PASSWORD, Portal

PATH = "/admin/practitioners"
OWNER = "owner@acme.test"
CLERK = "clerk@acme.test"  # holds the Practitioners right, not the owner
NEW_PASSWORD = "a brand new passphrase"


# --- helpers -------------------------------------------------------------------------------


def _value(field: webtest.forms.Field) -> str | None:
    return field.value_if_submitted() if isinstance(field, webtest.forms.Submit) else field.value


def the_form(page: webtest.TestResponse, *names: str, **values: str) -> webtest.Form:
    """The page's one form that has these fields, and fields (hidden, text, button) with these values."""
    (form,) = [
        form
        for key, form in page.forms.items()
        if isinstance(key, int)
        and all(name in form.fields for name in names)
        and all(any(_value(f) == value for f in form.fields.get(name, [])) for name, value in values.items())
    ]
    return form


def rows(page: webtest.TestResponse) -> dict[str, list[str]]:
    """Email -> the row's cells (name, email, status, rights, buttons) as the list shows them."""
    found = {}
    for tr in page.html.find("table").tbody.find_all("tr", recursive=False):
        cells = [td.get_text(" ", strip=True) for td in tr.find_all("td", recursive=False)]
        if len(cells) == 5:
            found[cells[1]] = cells
    return found


def field_error(page: webtest.TestResponse, field: str) -> str | None:
    """The error shown right beside a field of the add form, if any."""
    sibling = page.html.find(id=field).find_next_sibling()
    if sibling is not None and "field-error" in sibling.get("class", []):
        return sibling.get_text(strip=True)
    return None


def search(page: webtest.TestResponse, query: str) -> webtest.TestResponse:
    (form,) = [f for key, f in page.forms.items() if isinstance(key, int) and f.method.upper() == "GET"]
    form["q"] = query
    return form.submit()


def csrf_token(page: webtest.TestResponse) -> str:
    return page.html.find("input", attrs={"name": "csrf_token"})["value"]


def count_practitioners(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(practitioners))


def stored(engine: Engine, email: str, slug: str = "acme"):  # type: ignore[no-untyped-def]
    """The practitioner's row as the database holds it."""
    with engine.connect() as connection:
        return connection.execute(
            select(practitioners)
            .join(tenants, tenants.c.id == practitioners.c.tenant_id)
            .where(tenants.c.slug == slug, practitioners.c.email == email)
        ).one()


def logged_in(portal: Portal, email: str, slug: str = "acme", password: str = PASSWORD) -> webtest.TestApp:
    browser = portal.browser(slug)
    portal.log_in(browser, email, password)
    return browser


def admin_page(portal: Portal, email: str = OWNER, slug: str = "acme") -> tuple[webtest.TestApp, webtest.TestResponse]:
    browser = logged_in(portal, email, slug)
    return browser, browser.get(PATH)


def fill_add_form(page: webtest.TestResponse, **fields: str | bool) -> webtest.Form:
    form = the_form(page, action="add")
    for name, value in {"first_name": "Ann", "last_name": "Smith", **fields}.items():
        form[name] = value
    return form


def press(page: webtest.TestResponse, engine: Engine, email: str, action: str) -> webtest.TestResponse:
    """Presses the Deactivate or Reactivate button in the practitioner's row."""
    form = the_form(page, practitioner_id=stored(engine, email).id, action=action)
    return form.submit("action", value=action, status=303).follow()


def choose_password(
    browser: webtest.TestApp, link: str, password: str, confirm: str | None = None, status: int = 303
) -> webtest.TestResponse:
    form = the_form(browser.get(link), "password_confirm")
    form["password"], form["password_confirm"] = password, password if confirm is None else confirm
    return form.submit(status=status)


def forge(browser: webtest.TestApp, page: webtest.TestResponse, status: int, **fields: str) -> webtest.TestResponse:
    """A POST the page offers no form for, with the browser's valid CSRF token."""
    return browser.post(PATH, {"csrf_token": csrf_token(page), **fields}, status=status)


@pytest.fixture
def acme(portal: Portal) -> Portal:
    """Acme with its owner and a clerk who holds the Practitioners right."""
    portal.open_tenant("acme")
    portal.add_practitioner("acme", CLERK, rights=frozenset({ModuleRight.PRACTITIONERS}))
    return portal


# --- who may open the page ----------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_log_in_and_comes_back_afterwards(acme):
    browser = acme.browser("acme")
    redirect = browser.get(f"{PATH}?q=smith", status=303)
    assert redirect.location.endswith("/login?next=%2Fadmin%2Fpractitioners%3Fq%3Dsmith")
    login = redirect.follow().forms["login-form"]
    login["email"], login["password"] = OWNER, PASSWORD
    back = login.submit(status=303)
    assert back.location.endswith(f"{PATH}?q=smith")
    assert back.follow().status_int == 200


def test_practitioner_without_the_right_gets_a_friendly_403_page(acme):
    acme.add_practitioner("acme", "plain@acme.test")
    page = logged_in(acme, "plain@acme.test").get(PATH, status=403)
    assert "Your account does not have the right to open this page" in page.text


def test_practitioner_with_the_right_manages_the_list_but_sees_no_rights_checkboxes(acme):
    _, page = admin_page(acme, CLERK)
    assert OWNER in rows(page) and CLERK in rows(page)
    assert page.html.find("input", attrs={"name": "rights"}) is None


def test_owner_grants_the_practitioners_right_and_the_grantee_can_then_open_the_page(acme, engine):
    acme.add_practitioner("acme", "ann@acme.test")
    _, page = admin_page(acme)
    form = the_form(page, action="rights", practitioner_id=stored(engine, "ann@acme.test").id)
    form["rights"] = [ModuleRight.PRACTITIONERS.value]
    assert "The rights of Pat Ann were saved." in form.submit(status=303).follow().text
    logged_in(acme, "ann@acme.test").get(PATH, status=200)


@pytest.mark.parametrize("action", ["rights", "add"])
def test_only_the_owner_grants_rights_a_forged_post_from_anyone_else_is_refused(acme, engine, action):
    acme.add_practitioner("acme", "ann@acme.test")
    browser, page = admin_page(acme, CLERK)
    before = count_practitioners(engine)
    forge(
        browser,
        page,
        403,
        action=action,
        practitioner_id=stored(engine, "ann@acme.test").id,
        email="bob@acme.test",
        first_name="Bob",
        last_name="Jones",
        rights=ModuleRight.PRACTITIONERS.value,
    )
    assert stored(engine, "ann@acme.test").rights == frozenset()
    assert count_practitioners(engine) == before


# --- list, search, pages ------------------------------------------------------------------


@pytest.fixture
def three_practitioners(acme: Portal) -> webtest.TestResponse:
    """Added through the owner's form, with names that differ from their emails."""
    _, page = admin_page(acme)
    for email, first, last in [
        ("ann@acme.test", "Ann", "Smith"),
        ("b.jones@mail.example", "Bob", "Jones"),
        ("c.s@acme.test", "Carla", "Smithers"),
    ]:
        form = fill_add_form(page, email=email, first_name=first, last_name=last, send_password_link=False)
        page = form.submit(status=303).follow()
    return page


def test_list_shows_every_practitioner_of_the_practice_with_name_and_status(three_practitioners):
    listed = rows(three_practitioners)
    assert set(listed) == {OWNER, CLERK, "ann@acme.test", "b.jones@mail.example", "c.s@acme.test"}
    assert listed["ann@acme.test"][:3] == ["Ann Smith", "ann@acme.test", "active"]
    assert listed[OWNER][3] == "account owner"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("smith", {"ann@acme.test", "c.s@acme.test"}),  # last name, as a substring
        ("SMITH", {"ann@acme.test", "c.s@acme.test"}),  # any case
        ("bOB", {"b.jones@mail.example"}),  # first name
        ("Mail.Example", {"b.jones@mail.example"}),  # email, any case
        ("  ann@ACME  ", {"ann@acme.test"}),  # surrounding spaces are ignored
    ],
)
def test_search_matches_name_or_email_ignoring_case(three_practitioners, query, expected):
    assert set(rows(search(three_practitioners, query))) == expected


@pytest.mark.parametrize("query", ["nobody", "%", "_"])
def test_search_without_a_match_says_so(three_practitioners, query):
    page = search(three_practitioners, query)
    assert rows(page) == {}
    assert f"No practitioner matches “{query}”." in page.text


def test_list_pages_by_25_and_the_pages_together_show_everyone(acme):
    emails = {f"p{n:02}@acme.test" for n in range(30)} | {OWNER, CLERK}
    for email in emails - {OWNER, CLERK}:
        acme.add_practitioner("acme", email, password=None)
    _, first = admin_page(acme)
    assert len(rows(first)) == 25
    assert "Page 1 of 2 (32 practitioners)" in first.text
    second = first.click("Next")
    assert len(rows(second)) == 7
    assert "Page 2 of 2 (32 practitioners)" in second.text and "Next" not in second.text
    assert set(rows(first)) | set(rows(second)) == emails
    assert set(rows(second.click("Previous"))) == set(rows(first))


def test_paging_keeps_the_search(acme):
    for n in range(27):
        acme.add_practitioner("acme", f"p{n:02}@elsewhere.test", password=None)
    _, page = admin_page(acme)
    second = search(page, "@ELSEWHERE").click("Next")
    assert "Page 2 of 2 (27 practitioners)" in second.text
    assert set(rows(second)) == {"p25@elsewhere.test", "p26@elsewhere.test"}


# A NUL in the query is refused for every page (test_any_input.py).
@pytest.mark.parametrize("query_string", ["page=%C2%B2", "page=0", "page=-1", "page=999999", "q=%5C"])
def test_odd_search_or_page_parameters_still_show_the_list(acme, query_string):
    browser, _ = admin_page(acme)
    browser.get(f"{PATH}?{query_string}", status=200)


def test_a_posted_search_with_a_nul_reads_as_no_search_never_a_500(acme):
    """Found by Hypothesis on PostgreSQL: a refused form re-shows the list with the posted query."""
    browser, page = admin_page(acme)
    answer = browser.post(PATH, {"csrf_token": csrf_token(page), "action": "bogus", "q": "ann\x00"}, status=400)
    assert "That action is not known" in answer.text


@pytest.mark.parametrize("field", ["q", "page", "first_name"])
def test_a_file_where_text_belongs_is_a_400_never_a_500(acme, engine, field):
    browser, page = admin_page(acme)
    fields = {"csrf_token": csrf_token(page), "action": "add", "email": "not-an-email", "first_name": "Ann"}
    fields.pop(field, None)
    browser.post(PATH, fields, upload_files=[(field, "x.txt", b"x")], status=400)
    assert count_practitioners(engine) == 2


# --- add ----------------------------------------------------------------------------------


def test_added_practitioner_with_an_initial_password_can_log_in_and_gets_no_mail(acme):
    _, page = admin_page(acme)
    done = fill_add_form(page, email="ann@acme.test", password=NEW_PASSWORD).submit(status=303).follow()
    assert "Ann Smith (ann@acme.test) was added." in done.text
    assert acme.mails() == []
    acme.log_in(acme.browser("acme"), "ann@acme.test", NEW_PASSWORD, status=303)


def test_emailed_link_lets_the_new_practitioner_choose_a_password_once(acme):
    _, page = admin_page(acme)
    fill_add_form(page, email="ann@acme.test").submit(status=303)
    (mail,) = acme.mails()
    assert mail.to == "ann@acme.test" and mail.subject == "Your account at Acme Practice"
    assert mail.link().startswith("http://acme.portal.test/password/reset/")
    browser = acme.browser("acme")
    done = choose_password(browser, mail.link(), NEW_PASSWORD)
    assert "Your password is set" in done.follow().text
    acme.log_in(browser, "ann@acme.test", NEW_PASSWORD, status=303)
    again = acme.browser("acme").get(mail.link(), status=404)
    assert "invalid, already used or expired" in again.text


def test_mismatching_confirmation_is_refused_and_the_link_still_works(acme):
    _, page = admin_page(acme)
    fill_add_form(page, email="ann@acme.test").submit(status=303)
    (mail,) = acme.mails()
    browser = acme.browser("acme")
    refused = choose_password(browser, mail.link(), NEW_PASSWORD, confirm=NEW_PASSWORD + "!", status=400)
    assert "the two passwords are not the same" in refused.text
    acme.log_in(browser, "ann@acme.test", NEW_PASSWORD, status=401)
    choose_password(browser, mail.link(), NEW_PASSWORD)
    acme.log_in(browser, "ann@acme.test", NEW_PASSWORD, status=303)


def test_added_practitioner_without_password_or_link_gets_no_mail_and_no_usable_password(acme, engine):
    _, page = admin_page(acme)
    fill_add_form(page, email="ann@acme.test", send_password_link=False).submit(status=303)
    assert acme.mails() == []
    assert stored(engine, "ann@acme.test").password_hash is None
    acme.log_in(acme.browser("acme"), "ann@acme.test", "", status=401)


@pytest.mark.parametrize("email", ["clerk@acme.test", "CLERK@Acme.Test", "  clerk@acme.test  "])
def test_duplicate_email_is_a_field_error_beside_the_email_and_nothing_is_written(acme, engine, email):
    _, page = admin_page(acme)
    before = count_practitioners(engine)
    refused = fill_add_form(page, email=email).submit(status=400)
    assert "clerk@acme.test is already registered in this practice" in field_error(refused, "email")
    assert refused.html.find(id="email")["aria-invalid"] == "true"
    assert the_form(refused, action="add")["first_name"].value == "Ann"  # what was typed is kept
    assert count_practitioners(engine) == before
    assert acme.mails() == []


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"email": "not-an-email"}, "email", "enter a valid email address"),
        ({"email": ""}, "email", "enter an email address"),
        ({"first_name": "   "}, "first_name", "enter a first name"),
        ({"last_name": ""}, "last_name", "enter a last name"),
        ({"password": "too short"}, "password", "at least 10 characters"),
        ({"email": "ann\x00@acme.test"}, "email", "character that is not allowed"),  # PostgreSQL refuses NUL
        ({"first_name": "Ann\x00"}, "first_name", "character that is not allowed"),
    ],
)
def test_invalid_input_is_a_field_error_and_nothing_is_written(acme, engine, fields, field, message):
    _, page = admin_page(acme)
    before = count_practitioners(engine)
    refused = fill_add_form(page, **{"email": "ann@acme.test", **fields}).submit(status=400)
    assert message in field_error(refused, field)
    assert count_practitioners(engine) == before
    assert acme.mails() == []


# --- deactivate, reactivate ---------------------------------------------------------------


def test_deactivated_practitioner_cannot_log_in_and_a_reactivated_one_can(acme, engine):
    acme.add_practitioner("acme", "ann@acme.test")
    _, page = admin_page(acme)
    page = press(page, engine, "ann@acme.test", "deactivate")
    assert "Pat Ann was deactivated and logged out." in page.text
    assert rows(page)["ann@acme.test"][2] == "deactivated"
    refused = acme.log_in(acme.browser("acme"), "ann@acme.test", status=403)
    assert "your account is deactivated" in refused.text
    page = press(page, engine, "ann@acme.test", "reactivate")
    assert "Pat Ann was reactivated." in page.text
    assert rows(page)["ann@acme.test"][2] == "active"
    acme.log_in(acme.browser("acme"), "ann@acme.test", status=303)


def test_deactivating_ends_the_practitioners_open_session(acme, engine):
    acme.add_practitioner("acme", "ann@acme.test")
    ann = logged_in(acme, "ann@acme.test")
    assert "Welcome, Pat" in ann.get("/").text
    _, page = admin_page(acme)
    press(page, engine, "ann@acme.test", "deactivate")
    assert ann.get("/", status=303).location.endswith("/login")


@pytest.mark.parametrize("viewer", [OWNER, CLERK])
def test_neither_the_owner_nor_oneself_has_a_deactivate_button(acme, viewer):
    _, page = admin_page(acme, viewer)
    buttons = {email: "Deactivate" in cells[4] for email, cells in rows(page).items()}
    assert buttons == {OWNER: False, CLERK: viewer != CLERK}  # the owner may deactivate the clerk
    acme.add_practitioner("acme", "ann@acme.test")
    assert "Deactivate" in rows(logged_in(acme, viewer).get(PATH))["ann@acme.test"][4]


@pytest.mark.parametrize(
    "viewer, target, message",
    [
        (OWNER, OWNER, "you cannot deactivate your own account"),
        (CLERK, OWNER, "the account owner cannot be deactivated"),
        (CLERK, CLERK, "you cannot deactivate your own account"),
    ],
)
def test_forged_deactivation_of_the_owner_or_oneself_is_refused_and_changes_nothing(
    acme, engine, viewer, target, message
):
    browser, page = admin_page(acme, viewer)
    refused = forge(browser, page, 403, action="deactivate", practitioner_id=stored(engine, target).id)
    assert message in refused.text
    assert stored(engine, target).active is True
    browser.get(PATH, status=200)  # still logged in


@pytest.mark.parametrize("action", ["deactivate", "reactivate"])
def test_unknown_practitioner_gets_a_404_message(acme, action):
    browser, page = admin_page(acme)
    refused = forge(browser, page, 404, action=action, practitioner_id="0" * 32)
    assert "that practitioner does not exist in this practice" in refused.text


@pytest.mark.parametrize("fields", [{"action": "promote"}, {"action": ""}, {}])
def test_unknown_action_gets_a_400_message(acme, engine, fields):
    browser, page = admin_page(acme)
    refused = forge(browser, page, 400, practitioner_id=stored(engine, CLERK).id, **fields)
    assert "That action is not known" in refused.text
    assert stored(engine, CLERK).active is True


# --- one practice never sees another's practitioners --------------------------------------


@pytest.fixture
def acme_and_beta(acme: Portal) -> Portal:
    acme.add_practitioner("acme", "ann@acme.test")
    acme.open_tenant("beta")
    return acme


@pytest.mark.parametrize(
    "query, expected",
    [("", {"owner@beta.test"}), ("OWNER", {"owner@beta.test"}), ("acme", set()), ("ann", set()), ("clerk", set())],
)
def test_beta_owner_never_sees_acme_practitioners(acme_and_beta, query, expected):
    _, page = admin_page(acme_and_beta, "owner@beta.test", "beta")
    assert set(rows(search(page, query))) == expected


def test_forged_deactivation_on_beta_of_an_acme_practitioner_is_404_and_changes_nothing(acme_and_beta, engine):
    browser, page = admin_page(acme_and_beta, "owner@beta.test", "beta")
    forge(browser, page, 404, action="deactivate", practitioner_id=stored(engine, "ann@acme.test").id)
    assert stored(engine, "ann@acme.test").active is True
    acme_and_beta.log_in(acme_and_beta.browser("acme"), "ann@acme.test", status=303)


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_post_without_the_csrf_token_is_refused_with_400_and_nothing_is_written(acme, engine, token):
    browser, page = admin_page(acme)
    fields = dict(fill_add_form(page, email="ann@acme.test").submit_fields())
    fields.pop("csrf_token")
    if token:
        fields["csrf_token"] = token
    before = count_practitioners(engine)
    refused = browser.post(PATH, fields, status=400)
    assert "The form has expired" in refused.text
    assert count_practitioners(engine) == before
    assert acme.mails() == []
