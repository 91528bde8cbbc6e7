"""Issue 11 part 6, end to end on both databases through the real loopback provider: on a
practitioner's page an admin removes a linked identity (the practitioner confirms by code at the
next sign-in) and changes the registered email (it takes effect once the mailed link is followed)."""

from __future__ import annotations

import webtest
from sqlalchemy import Engine

from domain.practitioners.rights import ModuleRight
from tests.e2e.conftest import PASSWORD, Portal
from tests.e2e.sso import Sso, audit_rows, op, sso  # noqa: F401  (fixtures)
from tests.e2e.test_workflows import practitioner, rows, set_policy

ANN = "ann@acme.test"
NEW = "ann.new@home.example"


def page_of(admin: webtest.TestApp, name: str = "Pat Ann") -> webtest.TestResponse:
    """The practitioner's page, reached as an admin does: by the name in the list."""
    return admin.get("/admin/practitioners").click(name)


def ann_linked(sso: Sso) -> webtest.TestApp:
    """Acme connected to the provider, Ann's identity linked by her first sign-in; the owner's browser."""
    sso.connect()
    sso.first_login(sso.portal.browser("acme"), ANN)
    return sso.admin()


def links_of(engine: Engine, email: str) -> list[str]:
    sql = "SELECT l.subject FROM identity_links l JOIN practitioners p ON p.id = l.practitioner_id WHERE p.email = :e"
    return [row.subject for row in rows(engine, sql, e=email)]


def unlink_form(page: webtest.TestResponse) -> webtest.Form:
    return next(f for f in page.forms.values() if getattr(f.get("action", default=None), "value", None) == "unlink")


def confirm_path(portal: Portal, to: str) -> str:
    (mail,) = [m for m in portal.mails() if m.to == to]
    return "/" + mail.link().split("/", 3)[3]


# --- the page -----------------------------------------------------------------------------------


def test_each_row_links_to_a_page_with_the_practitioners_data_and_linked_identities(sso: Sso, engine: Engine):
    admin = ann_linked(sso)
    page = page_of(admin)
    assert page.request.path == f"/admin/practitioners/{practitioner(engine, ANN).id}"
    assert ANN in page.html.find(id="data").get_text()
    (row,) = page.html.find("table", id="identities").tbody.find_all("tr")
    cells = [td.get_text(" ", strip=True) for td in row.find_all("td")]
    assert cells[:3] == ["Contoso ID", sso.op.issuer, "ann-sub"] and cells[4] != "never"
    assert "mails a one-time code to it (ann@acme.test)" in page.text


def test_another_practices_practitioner_or_an_unknown_id_is_not_found(sso: Sso, engine: Engine):
    sso.portal.open_tenant("beta")
    beta_admin = sso.admin("beta")
    ann = practitioner(engine, ANN).id
    beta_admin.get(f"/admin/practitioners/{ann}", status=404)
    beta_admin.post(
        f"/admin/practitioners/{ann}",
        {"csrf_token": beta_admin.cookies["portal_csrf"], "action": "email", "email": "mine@evil.test"},
        status=404,
    )
    sso.admin().get("/admin/practitioners/no-such-practitioner", status=404)
    assert practitioner(engine, ANN).pending_email is None


# --- removing a link ------------------------------------------------------------------------------


def test_a_removed_link_is_audited_and_the_next_sign_in_confirms_by_code(sso: Sso, engine: Engine):
    admin = ann_linked(sso)
    page = page_of(admin)
    done = unlink_form(page).submit(status=303).follow()
    assert "The link to Contoso ID was removed" in done.text
    assert links_of(engine, ANN) == []
    event = audit_rows(admin)[0]
    assert event["Event"] == "link removed by admin" and "removed by admin owner@acme.test" in event["What happened"]
    again = sso.portal.browser("acme")
    assert sso.log_in(again, status=303).location.endswith("/sso/link")  # matches nobody: the code step
    sso.confirm_link(again, ANN)
    assert links_of(engine, ANN) == ["ann-sub"]


def test_removing_the_last_way_in_asks_for_a_confirmation_first(sso: Sso, engine: Engine):
    admin = ann_linked(sso)
    set_policy(engine, restrict_to_sso=True)  # a password is then no way in
    admin = sso.admin_through_provider()
    page = page_of(admin)
    assert "last way to log in" in page.text
    refused = unlink_form(page).submit(status=400)
    assert "Tick the confirmation" in refused.text or "tick the confirmation" in refused.text
    assert links_of(engine, ANN) == ["ann-sub"]
    form = unlink_form(refused)
    form["confirm_last_way_in"] = True
    form.submit(status=303)
    assert links_of(engine, ANN) == []


def test_a_holder_of_the_practitioners_right_sees_but_cannot_remove_the_owners_link(sso: Sso, engine: Engine):
    sso.portal.add_practitioner("acme", "clerk@acme.test", rights=frozenset({ModuleRight.PRACTITIONERS}))
    sso.connect()
    owner_browser = sso.portal.browser("acme")
    sso.op.login_as("owner-sub", email="owner@acme.test")
    sso.first_login(owner_browser, "owner@acme.test")
    clerk = sso.portal.browser("acme")
    sso.portal.log_in(clerk, "clerk@acme.test")
    owner_id = practitioner(engine, "owner@acme.test").id
    page = clerk.get(f"/admin/practitioners/{owner_id}")
    assert "owner-sub" in page.text and not [f for f in page.forms.values() if f.get("action", default=None)]
    link_id = rows(engine, "SELECT id FROM identity_links")[0].id
    fields = {"csrf_token": clerk.cookies["portal_csrf"], "action": "unlink", "link_id": link_id}
    clerk.post(f"/admin/practitioners/{owner_id}", {**fields, "confirm_last_way_in": "yes"}, status=403)
    assert links_of(engine, "owner@acme.test") == ["owner-sub"]


# --- changing the email ---------------------------------------------------------------------------


def change_email(admin: webtest.TestApp, email: str, status: int = 303) -> webtest.TestResponse:
    form = page_of(admin).forms["email-form"]
    form["email"] = email
    return form.submit(status=status)


def test_a_new_email_takes_effect_only_once_its_mailed_link_is_confirmed(sso: Sso, engine: Engine):
    admin = sso.admin()
    shown = change_email(admin, NEW).follow()
    assert NEW in shown.html.find(id="pending-email").get_text()
    assert practitioner(engine, ANN).pending_email == NEW
    path = confirm_path(sso.portal, NEW)
    sso.portal.log_in(sso.portal.browser("acme"), ANN)  # the old email keeps working meanwhile
    anyone = sso.portal.browser("acme")
    form_page = anyone.get(path)
    assert NEW in form_page.text and practitioner(engine, ANN).email == ANN  # opening it changes nothing
    done = form_page.forms["email-confirm-form"].submit(status=200)
    assert f"Your registered email is now {NEW}" in done.text
    row = practitioner(engine, NEW)
    assert (row.pending_email, row.email_proven) == (None, True)
    (notice,) = [m for m in sso.portal.mails() if m.to == ANN and "was changed" in m.text]
    assert f"was changed to {NEW}" in notice.text
    sso.portal.log_in(sso.portal.browser("acme"), NEW)
    sso.portal.log_in(sso.portal.browser("acme"), ANN, PASSWORD, status=401)  # refused now
    anyone.get(path, status=404)  # single use
    kinds = [r["Event"] for r in audit_rows(admin) if r["Event"].startswith("email")]
    assert kinds == ["email changed", "email change requested"]


def test_an_email_another_practitioner_has_is_refused_on_the_page(sso: Sso, engine: Engine):
    refused = change_email(sso.admin(), "OWNER@acme.test", status=400)
    assert "owner@acme.test is already registered" in refused.html.find(id="email-error").get_text()
    assert practitioner(engine, ANN).pending_email is None


def test_under_pseudo_sso_the_page_offers_no_email_change_and_refuses_one(sso: Sso, engine: Engine):
    sso.connect()
    set_policy(engine, workflow="pseudo_sso")
    admin = sso.admin_through_provider()
    page = page_of(admin)
    assert "email-form" not in page.forms and "comes from the identity provider" in page.text
    fields = {"csrf_token": admin.cookies["portal_csrf"], "action": "email", "email": NEW}
    refused = admin.post(page.request.path, fields, status=403)
    assert "identity provider" in refused.text and practitioner(engine, ANN).pending_email is None
