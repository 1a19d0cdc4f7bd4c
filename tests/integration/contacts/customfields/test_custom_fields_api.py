"""Custom field definitions over HTTP: admins define them, their kind never changes, keys are unique."""

from __future__ import annotations

from typing import Any

from crm_contacts.customfields import service as custom_fields
from tests.integration.contacts.support.config_team import Team, assert_problem


def define(team: Team, **fields: Any) -> Any:
    return team.send("POST", "/v1/contacts/custom-fields", {"label": "Presupuesto", "kind": "number", **fields})


def test_admin_defines_fields_listed_in_order_for_everyone(team: Team) -> None:
    budget = define(team)
    zone = define(team, label="Zona preferida", kind="multiselect", options=["Centro", " Playa "], required=True)

    assert budget.status_code == 201
    assert zone.status_code == 201
    assert zone.get_json() | {"id": None} == {
        "id": None,
        "key": "zona_preferida",
        "label": "Zona preferida",
        "kind": "multiselect",
        "options": ["Centro", "Playa"],
        "required": True,
        "position": 1,
    }
    listed = team.get("/v1/contacts/custom-fields", as_agent=True).get_json()["items"]
    assert [f["key"] for f in listed] == ["presupuesto", "zona_preferida"]
    with team.api.rt.database.unit_of_work() as uow:
        assert [f.key for f in custom_fields.definitions(uow.session, team.workspace_id)] == [
            "presupuesto",
            "zona_preferida",
        ]


def test_bad_definitions_are_field_problems(team: Team) -> None:
    assert_problem(define(team, kind="color"), 422, {"kind": "invalid_kind"})
    assert_problem(define(team, kind="select"), 422, {"options": "required"})
    assert_problem(define(team, kind="select", options=["a", "A"]), 422, {"options": "duplicate"})
    assert_problem(define(team, kind="text", options=["a"]), 422, {"options": "not_allowed"})
    assert_problem(define(team, key="Budget-Max"), 422, {"key": "invalid_key"})
    assert team.get("/v1/contacts/custom-fields").get_json()["items"] == []


def test_field_key_is_unique_in_the_workspace(team: Team, other_team: Team) -> None:
    define(team, key="budget")

    assert_problem(define(team, key="budget", label="Other"), 409, {"key": "taken"})
    assert define(other_team, key="budget").status_code == 201


def test_label_options_and_required_change_but_kind_does_not(team: Team) -> None:
    field = define(team, label="Tipo", kind="select", options=["Piso"]).get_json()
    path = f"/v1/contacts/custom-fields/{field['id']}"

    changed = team.send("PATCH", path, {"label": "Tipo de inmueble", "options": ["Piso", "Casa"], "required": True})
    same_kind = team.send("PATCH", path, {"kind": "select"})
    other_kind = team.send("PATCH", path, {"kind": "text"})
    emptied = team.send("PATCH", path, {"options": []})

    assert changed.status_code == 200
    assert (changed.get_json()["label"], changed.get_json()["options"], changed.get_json()["required"]) == (
        "Tipo de inmueble",
        ["Piso", "Casa"],
        True,
    )
    assert same_kind.status_code == 200
    assert_problem(other_kind, 409, {"kind": "immutable"})
    assert_problem(emptied, 422, {"options": "required"})
    assert team.get(path).get_json()["kind"] == "select"


def test_agent_may_not_define_change_or_remove_fields(team: Team) -> None:
    field = define(team).get_json()
    path = f"/v1/contacts/custom-fields/{field['id']}"

    assert_problem(team.send("POST", "/v1/contacts/custom-fields", {"label": "X", "kind": "text"}, as_agent=True), 403)
    assert_problem(team.send("PATCH", path, {"label": "X"}, as_agent=True), 403)
    assert_problem(team.send("DELETE", path, as_agent=True), 403)
    assert team.get(path).get_json()["label"] == "Presupuesto"


def test_admin_removes_a_field(team: Team) -> None:
    field = define(team).get_json()

    answer = team.send("DELETE", f"/v1/contacts/custom-fields/{field['id']}")

    assert answer.status_code == 204
    assert team.get("/v1/contacts/custom-fields").get_json()["items"] == []


def test_another_workspaces_field_is_not_found(team: Team, other_team: Team) -> None:
    foreign = define(other_team).get_json()
    path = f"/v1/contacts/custom-fields/{foreign['id']}"

    assert_problem(team.get(path), 404)
    assert_problem(team.send("PATCH", path, {"label": "Mine"}), 404)
    assert_problem(team.send("DELETE", path), 404)
    assert other_team.get(path).status_code == 200
