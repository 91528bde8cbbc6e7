"""SCIM displayName: kept and returned exactly as the client sent it; the first and last name
stand in only while no client ever sent one; a removed one is gone."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_scim import (  # noqa: F401  (fixtures)
    USER,
    Scim,
    assert_scim_error,
    beta,
    patch_body,
    scim,
)


def put(scim: Scim, user: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    body = {"schemas": [USER], "userName": user["userName"], "name": user["name"], **attributes}
    return scim.put(f"/Users/{user['id']}", body).json  # type: ignore[no-any-return]


def patched(scim: Scim, user_id: str, *operations: dict[str, Any]) -> dict[str, Any]:
    return scim.patch(f"/Users/{user_id}", patch_body(*operations)).json  # type: ignore[no-any-return]


def test_a_display_name_sent_with_post_is_returned_as_sent_by_every_read(scim: Scim):
    ada = scim.create(displayName="Lovelace, Ada (Countess)  ")
    assert ada["displayName"] == "Lovelace, Ada (Countess)  "
    assert scim.user(ada["id"])["displayName"] == "Lovelace, Ada (Countess)  "
    listed = scim.search('userName eq "ada@acme.test"').json["Resources"][0]
    assert listed["displayName"] == "Lovelace, Ada (Countess)  "
    assert ada["name"] == {"givenName": "Ada", "familyName": "Lovelace"}  # the name is its own


def test_without_a_display_name_ever_sent_the_first_and_last_name_stand_in(scim: Scim):
    ada = scim.create()
    assert ada["displayName"] == "Ada Lovelace"
    renamed = patched(scim, ada["id"], {"op": "replace", "path": "name.givenName", "value": "Augusta"})
    assert renamed["displayName"] == "Augusta Lovelace"


def test_put_replaces_the_display_name_and_a_put_without_one_takes_it_away(scim: Scim):
    ada = scim.create(displayName="Ada L.")
    assert put(scim, ada, displayName="Countess of Lovelace")["displayName"] == "Countess of Lovelace"
    cleared = put(scim, ada)
    assert "displayName" not in cleared
    assert "displayName" not in scim.user(ada["id"])


def test_patch_sets_the_display_name_by_path_and_in_a_value_object_without_path(scim: Scim):
    ada = scim.create()
    by_path = patched(scim, ada["id"], {"op": "replace", "path": "displayName", "value": "Ada by path"})
    assert by_path["displayName"] == "Ada by path"
    entra = patched(scim, ada["id"], {"op": "Replace", "value": {"displayName": "Ada by Entra", "title": "GP"}})
    assert (entra["displayName"], entra["title"]) == ("Ada by Entra", "GP")
    added = patched(scim, ada["id"], {"op": "add", "path": f"{USER}:displayName", "value": "Ada by URN"})
    assert added["displayName"] == "Ada by URN"


def test_a_removed_display_name_is_gone_rather_than_replaced_by_the_name(scim: Scim):
    ada = scim.create(displayName="Ada L.")
    removed = patched(scim, ada["id"], {"op": "remove", "path": "displayName"})
    assert "displayName" not in removed
    assert "displayName" not in scim.user(ada["id"])
    again = patched(scim, ada["id"], {"op": "add", "path": "displayName", "value": "Ada again"})
    assert again["displayName"] == "Ada again"


def test_a_display_name_that_is_not_one_line_of_text_of_at_most_255_characters_is_refused(scim: Scim):
    ada = scim.create()
    for value, detail in (("x" * 256, "at most 255"), ("two\nlines", "displayName"), (42, "must be a string")):
        refused = scim.patch(
            f"/Users/{ada['id']}", patch_body({"op": "replace", "path": "displayName", "value": value}), status=400
        )
        assert_scim_error(refused, 400)
        assert detail in refused.json["detail"]
    assert scim.user(ada["id"])["displayName"] == "Ada Lovelace"
    assert scim.create("bob@acme.test", displayName="x" * 255)["displayName"] == "x" * 255


def test_filtering_on_display_name_is_refused_as_unsupported(scim: Scim):
    scim.create(displayName="Ada")
    assert_scim_error(scim.search('displayName eq "Ada"', status=400), 400, "invalidFilter")


def test_the_schema_declares_display_name_writable(scim: Scim):
    schema = scim.get(f"/Schemas/{USER}").json
    display_name = next(a for a in schema["attributes"] if a["name"] == "displayName")
    assert display_name["mutability"] == "readWrite"


def test_another_tenants_client_never_sees_or_sets_the_display_name(scim: Scim, beta: Scim):
    ada = scim.create(displayName="Ada of Acme")
    assert_scim_error(beta.get(f"/Users/{ada['id']}", status=404), 404)
    replaced = beta.patch(
        f"/Users/{ada['id']}", patch_body({"op": "replace", "path": "displayName", "value": "Beta's"}), status=404
    )
    assert_scim_error(replaced, 404)
    assert scim.user(ada["id"])["displayName"] == "Ada of Acme"
