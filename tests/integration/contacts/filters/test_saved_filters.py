"""Saved filters: personal ones only for their owner, shared ones for the workspace; applying one to the list."""

from __future__ import annotations

from tests.integration.contacts.support.lists import Tenant


def test_personal_filters_are_private_and_shared_ones_visible_to_the_workspace(acme: Tenant) -> None:
    luis, marta = acme.auth(), acme.auth(acme.agent, role="agent")
    mine = acme.post("/v1/contacts/filters", json={"name": "My VIPs", "query": {"tag": "vip"}}, headers=luis)
    ours = acme.post(
        "/v1/contacts/filters", json={"name": "Won", "shared": True, "query": {"status": "won"}}, headers=luis
    )
    assert (mine.status_code, ours.status_code) == (201, 201)
    assert mine.headers["Location"] == f"/v1/contacts/filters/{mine.get_json()['id']}"

    assert [f["name"] for f in acme.get("/v1/contacts/filters", headers=luis).get_json()["items"]] == ["My VIPs", "Won"]
    assert [f["name"] for f in acme.get("/v1/contacts/filters", headers=marta).get_json()["items"]] == ["Won"]
    assert acme.get(f"/v1/contacts/filters/{mine.get_json()['id']}", headers=marta).status_code == 404
    assert acme.get(f"/v1/contacts/filters/{ours.get_json()['id']}", headers=marta).get_json()["query"] == {
        "status": "won"
    }


def test_only_the_owner_or_an_admin_changes_a_shared_filter(acme: Tenant) -> None:
    shared = acme.post(
        "/v1/contacts/filters", json={"name": "Won", "shared": True, "query": {"status": "won"}}
    ).get_json()
    url = f"/v1/contacts/filters/{shared['id']}"
    marta = acme.auth(acme.agent, role="agent")
    other_admin = acme.auth("someone-else", role="admin")

    refused = acme.api.client.patch(url, json={"name": "Mine now"}, headers=marta)
    renamed = acme.api.client.patch(
        url, json={"name": "Won deals", "query": {"status": "won,lost"}}, headers=other_admin
    )
    not_deleted = acme.api.client.delete(url, headers=marta)

    assert (refused.status_code, not_deleted.status_code) == (403, 403)
    assert renamed.status_code == 200
    assert (renamed.get_json()["name"], renamed.get_json()["query"]) == ("Won deals", {"status": "won,lost"})
    assert acme.api.client.delete(url, headers=acme.auth()).status_code == 204
    assert acme.get(url).status_code == 404


def test_a_saved_query_is_checked_like_the_list_parameters(acme: Tenant) -> None:
    answer = acme.post("/v1/contacts/filters", json={"name": "Bad", "query": {"stars": "9", "colour": "red"}})

    assert answer.status_code == 422
    assert {e["field"] for e in answer.get_json()["errors"]} == {"query.stars", "query.colour"}


def test_the_list_applies_a_saved_filter_and_explicit_parameters_override_it(acme: Tenant) -> None:
    saved = acme.post("/v1/contacts/filters", json={"name": "VIPs", "query": {"tag": "vip", "sort": "name"}})
    filter_id = saved.get_json()["id"]

    assert acme.names(acme.get(f"/v1/contacts?filter={filter_id}")) == ["Álvaro Núñez", "Ana Ruiz"]
    assert acme.names(acme.get(f"/v1/contacts?filter={filter_id}&sort=-name")) == ["Ana Ruiz", "Álvaro Núñez"]
    assert acme.names(acme.get(f"/v1/contacts?filter={filter_id}&tag=madrid")) == ["Ana Ruiz"]
    private = acme.get(f"/v1/contacts?filter={filter_id}", headers=acme.auth(acme.agent, role="agent"))
    assert private.status_code == 422
    assert private.get_json()["errors"][0]["field"] == "filter"
