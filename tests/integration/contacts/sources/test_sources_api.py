"""Contact sources over HTTP: built-ins are fixed, custom ones have two names and a 22x22 icon (or an icon URL)."""

from __future__ import annotations

import io
from typing import Any

from crm.events.v1 import contacts_pb2
from crm_events.contacts import SOURCES_CHANGED
from tests.integration.contacts.support.config_team import Team, assert_problem, image


def sources_by_key(team: Team) -> dict[str | None, Any]:
    answer = team.get("/v1/contacts/sources", as_agent=True)
    assert answer.status_code == 200
    return {s["key"] or s["name_en"]: s for s in answer.get_json()["items"]}


def add_source(team: Team, **fields: Any) -> dict[str, Any]:
    answer = team.send("POST", "/v1/contacts/sources", {"name_es": "Feria", "name_en": "Fair", **fields})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def upload(team: Team, source_id: str, data: bytes, filename: str = "icon.png", *, as_agent: bool = False) -> Any:
    return team.api.client.put(
        f"/v1/contacts/sources/{source_id}/icon",
        data={"icon": (io.BytesIO(data), filename, "image/png")},
        headers=team.agent if as_agent else team.admin,
        content_type="multipart/form-data",
    )


def test_new_workspace_lists_the_built_in_sources(team: Team) -> None:
    sources = sources_by_key(team)

    assert {"manual", "web", "default", "idealista", "fotocasa"} <= set(sources)
    assert all(s["builtin"] for s in sources.values())


def test_admin_adds_a_custom_source_named_in_both_languages(team: Team) -> None:
    created = add_source(team, icon_url="https://cdn.example.com/fair.png")

    assert (created["name_es"], created["name_en"], created["builtin"], created["key"]) == (
        "Feria",
        "Fair",
        False,
        None,
    )
    assert created["icon_url"] == "https://cdn.example.com/fair.png"
    assert sources_by_key(team)["Fair"]["id"] == created["id"]


def test_source_without_both_names_or_with_a_non_http_icon_url_is_refused(team: Team) -> None:
    missing = team.send("POST", "/v1/contacts/sources", {"name_es": "Feria"})
    bad_url = team.send("POST", "/v1/contacts/sources", {"name_es": "F", "name_en": "F", "icon_url": "ftp://x/i.png"})

    assert_problem(missing, 422, {"name_en": "missing"})
    assert_problem(bad_url, 422, {"icon_url": "invalid_url"})


def test_agent_may_not_change_sources(team: Team) -> None:
    custom = add_source(team)

    assert_problem(team.send("POST", "/v1/contacts/sources", {"name_es": "a", "name_en": "b"}, as_agent=True), 403)
    assert_problem(team.send("PATCH", f"/v1/contacts/sources/{custom['id']}", {"name_en": "X"}, as_agent=True), 403)
    assert_problem(team.send("DELETE", f"/v1/contacts/sources/{custom['id']}", as_agent=True), 403)
    assert_problem(upload(team, custom["id"], image((22, 22)), as_agent=True), 403)


def test_custom_source_is_renamed_and_built_ins_are_refused(team: Team) -> None:
    custom = add_source(team)
    manual = sources_by_key(team)["manual"]

    renamed = team.send("PATCH", f"/v1/contacts/sources/{custom['id']}", {"name_en": "Trade fair"})
    refused = team.send("PATCH", f"/v1/contacts/sources/{manual['id']}", {"name_en": "Sales"})

    assert (renamed.status_code, renamed.get_json()["name_en"], renamed.get_json()["name_es"]) == (
        200,
        "Trade fair",
        "Feria",
    )
    assert assert_problem(refused, 409)["detail"] == "built-in sources cannot be renamed"
    assert sources_by_key(team)["manual"]["name_en"] == "Sales rep"


def test_built_in_sources_are_never_deleted(team: Team) -> None:
    web = sources_by_key(team)["web"]

    assert_problem(team.send("DELETE", f"/v1/contacts/sources/{web['id']}"), 409)
    assert "web" in sources_by_key(team)


def test_custom_source_is_deleted_only_when_no_contact_comes_from_it(team: Team) -> None:
    used, unused = add_source(team), add_source(team, name_en="Radio")
    team.contact(source_id=used["id"])

    refused = team.send("DELETE", f"/v1/contacts/sources/{used['id']}")
    deleted = team.send("DELETE", f"/v1/contacts/sources/{unused['id']}")

    assert assert_problem(refused, 409)["contacts"] == 1
    assert deleted.status_code == 204
    assert_problem(team.get(f"/v1/contacts/sources/{unused['id']}"), 404)
    assert team.get(f"/v1/contacts/sources/{used['id']}").status_code == 200


def test_22x22_png_icon_is_stored_and_served_back_with_its_type(team: Team) -> None:
    custom = add_source(team, icon_url="https://cdn.example.com/old.png")
    png = image((22, 22))

    answer = upload(team, custom["id"], png)

    assert answer.status_code == 200
    assert answer.get_json()["uploaded_icon"] == f"/v1/contacts/sources/{custom['id']}/icon"
    assert answer.get_json()["icon_url"] is None  # one icon: the upload replaces the URL
    served = team.get(f"/v1/contacts/sources/{custom['id']}/icon", as_agent=True)
    assert (served.status_code, served.mimetype, served.data) == (200, "image/png", png)


def test_icon_type_is_read_from_the_bytes_not_the_file_name(team: Team) -> None:
    custom = add_source(team)

    upload(team, custom["id"], image((22, 22), "GIF"), filename="icon.png")

    assert team.get(f"/v1/contacts/sources/{custom['id']}/icon").mimetype == "image/gif"


def test_icon_of_another_size_is_refused_saying_the_size_found(team: Team) -> None:
    custom = add_source(team)

    body = assert_problem(upload(team, custom["id"], image((23, 22))), 422, {"icon": "wrong_size"})

    assert "23x22" in body["errors"][0]["message"]
    assert_problem(team.get(f"/v1/contacts/sources/{custom['id']}/icon"), 404)


def test_text_file_named_png_is_refused(team: Team) -> None:
    custom = add_source(team)

    answer = upload(team, custom["id"], b"I am a text file, honest.\n", filename="icon.png")

    assert_problem(answer, 422, {"icon": "not_an_image"})


def test_icon_over_64_kib_is_refused(team: Team) -> None:
    custom = add_source(team)

    answer = upload(team, custom["id"], image((22, 22)) + b"\0" * (64 * 1024))

    assert_problem(answer, 422, {"icon": "too_large"})


def test_upload_without_a_file_names_the_icon_field(team: Team) -> None:
    custom = add_source(team)

    answer = team.api.client.put(
        f"/v1/contacts/sources/{custom['id']}/icon", data={}, headers=team.admin, content_type="multipart/form-data"
    )

    assert_problem(answer, 422, {"icon": "required"})


def test_built_in_source_icon_cannot_be_changed(team: Team) -> None:
    manual = sources_by_key(team)["manual"]

    assert_problem(upload(team, manual["id"], image((22, 22))), 409)


def test_another_workspaces_source_is_not_found(team: Team, other_team: Team) -> None:
    foreign = add_source(other_team)
    upload(other_team, foreign["id"], image((22, 22)))
    path = f"/v1/contacts/sources/{foreign['id']}"

    assert_problem(team.get(path), 404)
    assert_problem(team.get(f"{path}/icon"), 404)
    assert_problem(team.send("PATCH", path, {"name_en": "Mine"}), 404)
    assert_problem(team.send("DELETE", path), 404)
    assert_problem(upload(team, foreign["id"], image((22, 22))), 404)
    assert other_team.get(path).get_json()["name_en"] == "Fair"


def sources_in_the_api(team: Team) -> list[tuple[str, str | None, str, str, bool]]:
    items = team.get("/v1/contacts/sources").get_json()["items"]
    return [(s["id"], s["key"], s["name_es"], s["name_en"], s["builtin"]) for s in items]


def sources_of(announced: contacts_pb2.SourcesChanged) -> list[tuple[str, str | None, str, str, bool]]:
    return [(s.id, s.key or None, s.name_es, s.name_en, s.builtin) for s in announced.sources]


def test_a_new_workspace_announces_its_built_in_sources_in_both_languages(team: Team) -> None:
    [announced] = team.announced(SOURCES_CHANGED)

    assert sources_of(announced) == sources_in_the_api(team)
    assert ("manual", "Comercial", "Sales rep") in {(s.key, s.name_es, s.name_en) for s in announced.sources}


def test_adding_renaming_and_deleting_a_source_announce_every_source_as_it_now_is(team: Team) -> None:
    created = add_source(team)
    after_add = team.announced(SOURCES_CHANGED)[-1]
    team.send("PATCH", f"/v1/contacts/sources/{created['id']}", {"name_en": "Trade fair"})
    after_rename = team.announced(SOURCES_CHANGED)[-1]
    team.send("PATCH", f"/v1/contacts/sources/{created['id']}", {"icon_url": "https://cdn.example.com/f.png"})
    assert upload(team, created["id"], image((22, 22))).status_code == 200
    icons_only = len(team.announced(SOURCES_CHANGED))
    assert team.send("DELETE", f"/v1/contacts/sources/{created['id']}").status_code == 204
    after_delete = team.announced(SOURCES_CHANGED)[-1]

    assert (created["id"], None, "Feria", "Fair", False) in sources_of(after_add)
    assert (created["id"], None, "Feria", "Trade fair", False) in sources_of(after_rename)
    assert icons_only == 3  # the workspace's, the addition, the rename: an icon is not part of the names
    assert sources_of(after_delete) == sources_in_the_api(team)
    assert created["id"] not in {s.id for s in after_delete.sources}
    assert {a.actor_id for a in (after_add, after_rename, after_delete)} == {team.admin_id}
