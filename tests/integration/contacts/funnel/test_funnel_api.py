"""Contact types and funnel stages over HTTP: create, rename, reorder, and delete only what no contact uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crm.events.v1 import contacts_pb2
from crm_contacts.record.history import HistoryEntry
from crm_contacts.record.models import Contact
from crm_events.contacts import FUNNEL_CHANGED
from crm_platform.db import utcnow
from tests.integration.contacts.support.config_team import Team, assert_problem


def types_by_key(team: Team) -> dict[str, Any]:
    answer = team.get("/v1/contacts/types", as_agent=True)
    assert answer.status_code == 200
    return {t["key"]: t for t in answer.get_json()["items"]}


def stage_names(team: Team, type_id: str) -> list[str]:
    return [s["name"] for s in team.get(f"/v1/contacts/types/{type_id}").get_json()["stages"]]


def test_new_workspace_has_the_default_types_and_customer_funnel(team: Team) -> None:
    types = types_by_key(team)

    assert list(types) == ["contact", "collaborator", "other"]
    assert [s["name"] for s in types["contact"]["stages"]] == ["Contact", "Prospect", "Visiting", "Negotiation"]
    assert all(t["builtin"] for t in types.values())


def test_admin_creates_a_type_keyed_by_the_slug_of_its_name(team: Team) -> None:
    answer = team.send("POST", "/v1/contacts/types", {"name": "Propietarios VIP", "stages": ["Captación", "Firmado"]})

    assert answer.status_code == 201
    created = answer.get_json()
    assert (created["key"], created["builtin"]) == ("propietarios-vip", False)
    assert [s["name"] for s in created["stages"]] == ["Captación", "Firmado"]
    assert types_by_key(team)["propietarios-vip"]["id"] == created["id"]


def test_type_key_is_unique_in_the_workspace(team: Team) -> None:
    team.send("POST", "/v1/contacts/types", {"name": "Inversores"})

    assert_problem(team.send("POST", "/v1/contacts/types", {"name": "inversores"}), 409, {"key": "taken"})
    assert_problem(team.send("POST", "/v1/contacts/types", {"name": "Other"}), 409, {"key": "taken"})


def test_agent_may_not_change_the_funnel(team: Team) -> None:
    contact = types_by_key(team)["contact"]
    first_stage = contact["stages"][0]["id"]

    assert_problem(team.send("POST", "/v1/contacts/types", {"name": "X"}, as_agent=True), 403)
    assert_problem(team.send("PATCH", f"/v1/contacts/types/{contact['id']}", {"name": "X"}, as_agent=True), 403)
    assert_problem(team.send("POST", f"/v1/contacts/types/{contact['id']}/stages", {"name": "X"}, as_agent=True), 403)
    assert_problem(team.send("PATCH", f"/v1/contacts/stages/{first_stage}", {"name": "X"}, as_agent=True), 403)
    assert_problem(team.send("DELETE", f"/v1/contacts/stages/{first_stage}", as_agent=True), 403)
    assert stage_names(team, contact["id"]) == ["Contact", "Prospect", "Visiting", "Negotiation"]


def test_renaming_a_type_or_stage_keeps_keys_and_order(team: Team) -> None:
    contact = types_by_key(team)["contact"]

    renamed_type = team.send("PATCH", f"/v1/contacts/types/{contact['id']}", {"name": "Cliente"})
    renamed_stage = team.send("PATCH", f"/v1/contacts/stages/{contact['stages'][1]['id']}", {"name": "Interesado"})

    assert (renamed_type.status_code, renamed_type.get_json()["key"]) == (200, "contact")
    assert renamed_stage.status_code == 200
    assert types_by_key(team)["contact"]["name"] == "Cliente"
    assert stage_names(team, contact["id"]) == ["Contact", "Interesado", "Visiting", "Negotiation"]


def test_stage_is_added_at_its_position_or_at_the_end(team: Team) -> None:
    contact = types_by_key(team)["contact"]

    first = team.send("POST", f"/v1/contacts/types/{contact['id']}/stages", {"name": "Lead", "position": 0})
    last = team.send("POST", f"/v1/contacts/types/{contact['id']}/stages", {"name": "Closing"})

    assert (first.status_code, last.status_code) == (201, 201)
    assert stage_names(team, contact["id"]) == ["Lead", "Contact", "Prospect", "Visiting", "Negotiation", "Closing"]
    duplicate = team.send("POST", f"/v1/contacts/types/{contact['id']}/stages", {"name": "lead"})
    assert_problem(duplicate, 409, {"name": "taken"})


def test_stages_are_reordered_to_exactly_the_list_given(team: Team) -> None:
    contact = types_by_key(team)["contact"]
    ids = [s["id"] for s in contact["stages"]]
    order = f"/v1/contacts/types/{contact['id']}/stages/order"

    answer = team.send("PUT", order, {"stage_ids": [ids[3], ids[0], ids[2], ids[1]]})

    assert answer.status_code == 200
    assert [s["name"] for s in answer.get_json()["stages"]] == ["Negotiation", "Contact", "Visiting", "Prospect"]
    assert stage_names(team, contact["id"]) == ["Negotiation", "Contact", "Visiting", "Prospect"]


def test_reorder_that_misses_repeats_or_borrows_a_stage_is_refused(team: Team) -> None:
    types = types_by_key(team)
    ids = [s["id"] for s in types["contact"]["stages"]]
    foreign = types["other"]["stages"][0]["id"]
    order = f"/v1/contacts/types/{types['contact']['id']}/stages/order"

    assert_problem(team.send("PUT", order, {"stage_ids": ids[:3]}), 422, {"stage_ids": "missing_stage"})
    assert_problem(team.send("PUT", order, {"stage_ids": [*ids, ids[0]]}), 422, {"stage_ids": "duplicate"})
    assert_problem(team.send("PUT", order, {"stage_ids": [*ids[:3], foreign]}), 422, {"stage_ids": "unknown_stage"})
    assert stage_names(team, types["contact"]["id"]) == ["Contact", "Prospect", "Visiting", "Negotiation"]


def test_stage_with_contacts_in_it_is_not_deleted_and_the_problem_says_how_many(team: Team) -> None:
    contact_type = types_by_key(team)["contact"]
    prospect = contact_type["stages"][1]["id"]
    for _ in range(2):
        team.contact(type_id=contact_type["id"], stage_id=prospect)

    body = assert_problem(team.send("DELETE", f"/v1/contacts/stages/{prospect}"), 409)

    assert body["contacts"] == 2
    assert "2 contacts" in body["detail"]
    assert "Prospect" in stage_names(team, contact_type["id"])


def test_unused_stage_is_deleted_and_deleted_contacts_in_it_move_to_the_first_stage(team: Team) -> None:
    contact_type = types_by_key(team)["contact"]
    first, prospect = contact_type["stages"][0]["id"], contact_type["stages"][1]["id"]
    deleted_contact = team.contact(type_id=contact_type["id"], stage_id=prospect, deleted_at=utcnow())

    answer = team.send("DELETE", f"/v1/contacts/stages/{prospect}")

    assert answer.status_code == 204
    after = team.get(f"/v1/contacts/types/{contact_type['id']}").get_json()["stages"]
    assert [(s["name"], s["position"]) for s in after] == [("Contact", 0), ("Visiting", 1), ("Negotiation", 2)]
    with team.api.rt.database.unit_of_work() as uow:
        assert uow.session.get(Contact, deleted_contact).stage_id == first
        kinds = uow.session.scalars(select(HistoryEntry.kind).where(HistoryEntry.contact_id == deleted_contact)).all()
        assert kinds == ["stage_changed"]


def test_a_type_keeps_at_least_one_stage(team: Team) -> None:
    other = types_by_key(team)["other"]

    body = assert_problem(team.send("DELETE", f"/v1/contacts/stages/{other['stages'][0]['id']}"), 409)

    assert "at least one stage" in body["detail"]


def test_built_in_types_are_never_deleted(team: Team) -> None:
    assert_problem(team.send("DELETE", f"/v1/contacts/types/{types_by_key(team)['other']['id']}"), 409)
    assert "other" in types_by_key(team)


def test_custom_type_is_deleted_only_when_no_contact_has_it(team: Team) -> None:
    created = team.send("POST", "/v1/contacts/types", {"name": "Inversores"}).get_json()
    contact_id = team.contact(type_id=created["id"], stage_id=created["stages"][0]["id"])

    refused = team.send("DELETE", f"/v1/contacts/types/{created['id']}")
    with team.api.rt.database.unit_of_work() as uow:
        uow.session.get(Contact, contact_id).type_id = types_by_key(team)["contact"]["id"]
        uow.session.get(Contact, contact_id).stage_id = types_by_key(team)["contact"]["stages"][0]["id"]
        uow.commit()
    deleted = team.send("DELETE", f"/v1/contacts/types/{created['id']}")

    assert assert_problem(refused, 409)["contacts"] == 1
    assert deleted.status_code == 204
    assert "inversores" not in types_by_key(team)
    assert_problem(team.get(f"/v1/contacts/types/{created['id']}"), 404)


def test_another_workspaces_types_and_stages_are_not_found(team: Team, other_team: Team) -> None:
    foreign = types_by_key(other_team)["contact"]
    foreign_stage = foreign["stages"][0]["id"]

    assert_problem(team.get(f"/v1/contacts/types/{foreign['id']}"), 404)
    assert_problem(team.send("PATCH", f"/v1/contacts/types/{foreign['id']}", {"name": "Mine"}), 404)
    assert_problem(team.send("POST", f"/v1/contacts/types/{foreign['id']}/stages", {"name": "Mine"}), 404)
    assert_problem(team.send("PATCH", f"/v1/contacts/stages/{foreign_stage}", {"name": "Mine"}), 404)
    assert_problem(team.send("DELETE", f"/v1/contacts/stages/{foreign_stage}"), 404)
    order = [s["id"] for s in foreign["stages"]]
    assert_problem(team.send("PUT", f"/v1/contacts/types/{foreign['id']}/stages/order", {"stage_ids": order}), 404)
    assert types_by_key(other_team)["contact"] == foreign


def funnel_of(announced: contacts_pb2.FunnelChanged) -> list[dict[str, Any]]:
    """An announced funnel in the API's terms, to compare with GET /v1/contacts/types."""
    return [
        {
            "id": t.id,
            "key": t.key,
            "name": t.name,
            "position": t.position,
            "stages": [{"id": s.id, "name": s.name, "position": s.position} for s in t.stages],
        }
        for t in announced.types
    ]


def funnel_in_the_api(team: Team) -> list[dict[str, Any]]:
    items = team.get("/v1/contacts/types").get_json()["items"]
    return [
        {
            "id": t["id"],
            "key": t["key"],
            "name": t["name"],
            "position": t["position"],
            "stages": [{"id": s["id"], "name": s["name"], "position": s["position"]} for s in t["stages"]],
        }
        for t in items
    ]


def test_a_new_workspace_announces_its_default_funnel_whole(team: Team) -> None:
    [announced] = team.announced(FUNNEL_CHANGED)

    assert funnel_of(announced) == funnel_in_the_api(team)
    assert [(t.key, [s.name for s in t.stages]) for t in announced.types] == [
        ("contact", ["Contact", "Prospect", "Visiting", "Negotiation"]),
        ("collaborator", ["Contact", "Active"]),
        ("other", ["Contact"]),
    ]


def test_every_change_of_types_or_stages_announces_the_whole_funnel_as_it_now_is(team: Team) -> None:
    created = team.send("POST", "/v1/contacts/types", {"name": "Inversores", "stages": ["Primer contacto"]}).get_json()
    type_path = f"/v1/contacts/types/{created['id']}"
    changes: list[tuple[str, str, Any]] = [
        ("PATCH", type_path, {"name": "Inversores VIP"}),
        ("POST", f"{type_path}/stages", {"name": "Oferta", "position": 0}),
    ]
    seen = [team.announced(FUNNEL_CHANGED)[-1]]
    for method, path, body in changes:
        team.send(method, path, body)
        seen.append(team.announced(FUNNEL_CHANGED)[-1])
        assert funnel_of(seen[-1]) == funnel_in_the_api(team), (method, path)
    stages = [s["id"] for s in team.get(type_path).get_json()["stages"]]
    for method, path, body in [
        ("PUT", f"{type_path}/stages/order", {"stage_ids": list(reversed(stages))}),
        ("PATCH", f"/v1/contacts/stages/{stages[0]}", {"name": "Oferta firme"}),
        ("DELETE", f"/v1/contacts/stages/{stages[0]}", None),
        ("DELETE", type_path, None),
    ]:
        assert team.send(method, path, body).status_code in (200, 204)
        seen.append(team.announced(FUNNEL_CHANGED)[-1])
        assert funnel_of(seen[-1]) == funnel_in_the_api(team), (method, path)

    assert len(team.announced(FUNNEL_CHANGED)) == 1 + len(seen)  # the workspace's own, then one per change
    assert {s.actor_id for s in seen} == {team.admin_id}
    inversores = [t for t in seen[3].types if t.id == created["id"]]
    assert [(t.name, [(s.name, s.position) for s in t.stages]) for t in inversores] == [
        ("Inversores VIP", [("Primer contacto", 0), ("Oferta", 1)])
    ]
    assert created["id"] not in {t.id for t in seen[-1].types}


def test_a_refused_funnel_change_announces_nothing(team: Team) -> None:
    contact = types_by_key(team)["contact"]
    team.contact(type_id=contact["id"], stage_id=contact["stages"][0]["id"])
    before = len(team.announced(FUNNEL_CHANGED))

    assert_problem(team.send("DELETE", f"/v1/contacts/stages/{contact['stages'][0]['id']}"), 409)
    assert_problem(team.send("POST", "/v1/contacts/types", {"name": "Other"}), 409)

    assert len(team.announced(FUNNEL_CHANGED)) == before
