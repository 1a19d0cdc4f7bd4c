"""Conversations obey "agents see only their own contacts": 404 as for another workspace, lists left without them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import conversations
from tests.support.stack import ContactsPeer, RunningService
from tests.support.team import Team, acme_team, every_page, grpc_calls_served


@pytest.fixture
def team(contacts_peer_service: ContactsPeer) -> Team:
    return acme_team(contacts_peer_service)


def start(api: RunningService, team: Team, who: str, contact_id: str, subject: str = "Invoice question") -> Any:
    return conversations.start(api, team.headers(api, who), contact_id, subject)


def say(api: RunningService, team: Team, who: str, conversation_id: str) -> Any:
    return conversations.say(api, team.headers(api, who), conversation_id)


def get(api: RunningService, team: Team, who: str, path: str) -> Any:
    return api.client.get(path, headers=team.headers(api, who))


def test_agent_gets_404_for_a_hidden_contacts_conversation_and_its_messages(
    conversations_api: RunningService, team: Team
) -> None:
    conversation = start(conversations_api, team, team.admin, team.luis_contact).get_json()
    assert say(conversations_api, team, team.admin, conversation["id"]).status_code == 201
    team.agents_see_all(False)
    team.deliver_events(conversations_api)
    events_before = len(conversations_api.outbox())

    assert get(conversations_api, team, team.ana, f"/v1/conversations/{conversation['id']}").status_code == 404
    messages = f"/v1/conversations/{conversation['id']}/messages"
    assert get(conversations_api, team, team.ana, messages).status_code == 404
    assert say(conversations_api, team, team.ana, conversation["id"]).status_code == 404
    assert start(conversations_api, team, team.ana, team.luis_contact).status_code == 404
    assert len(conversations_api.outbox()) == events_before
    for who in (team.luis, team.admin):
        assert len(get(conversations_api, team, who, messages).get_json()["items"]) == 1


def test_conversation_lists_leave_hidden_ones_out_with_full_pages_and_no_call_to_contacts(
    conversations_api: RunningService, team: Team
) -> None:
    anas: list[str] = []
    for n in range(30):
        contact = team.anas_contact if n % 2 else team.luis_contact
        started = start(conversations_api, team, team.admin, contact, f"question {n}").get_json()
        if contact == team.anas_contact:
            anas.append(started["id"])
    team.agents_see_all(False)
    team.deliver_events(conversations_api)
    calls_before = grpc_calls_served(team.peer)

    pages = every_page(conversations_api, "/v1/conversations", team.headers(conversations_api, team.ana), limit=10)
    hidden = every_page(
        conversations_api,
        f"/v1/conversations?contact_id={team.luis_contact}",
        team.headers(conversations_api, team.ana),
        limit=10,
    )

    assert [len(p) for p in pages] == [10, 5]
    assert [c["id"] for p in pages for c in p] == anas[::-1]
    assert hidden == [[]]
    assert grpc_calls_served(team.peer) == calls_before


def test_owner_change_and_see_all_reach_the_conversations_service(
    conversations_api: RunningService, team: Team
) -> None:
    conversation = start(conversations_api, team, team.admin, team.luis_contact).get_json()
    path = f"/v1/conversations/{conversation['id']}"
    assert get(conversations_api, team, team.ana, path).status_code == 200  # agents see all by default
    team.agents_see_all(False)
    team.deliver_events(conversations_api)
    assert get(conversations_api, team, team.ana, path).status_code == 404

    team.give(team.luis_contact, team.ana)
    team.deliver_events(conversations_api)
    assert get(conversations_api, team, team.ana, path).status_code == 200
    assert get(conversations_api, team, team.luis, path).status_code == 404

    team.agents_see_all(True)
    team.deliver_events(conversations_api)
    assert get(conversations_api, team, team.luis, path).status_code == 200


def test_a_hidden_contacts_conversation_is_404_on_every_inbox_endpoint_and_left_out_of_views_and_counts(
    conversations_api: RunningService, team: Team
) -> None:
    hidden = start(conversations_api, team, team.admin, team.luis_contact).get_json()
    visible = start(conversations_api, team, team.admin, team.anas_contact).get_json()
    team.agents_see_all(False)
    team.deliver_events(conversations_api)
    ana = team.headers(conversations_api, team.ana)
    url = f"/v1/conversations/{hidden['id']}"
    client = conversations_api.client

    for answer in (
        client.patch(url, json={"subject": "peek"}, headers=ana),
        client.post(f"{url}/assign", json={"assignee_id": team.ana}, headers=ana),
        client.get(f"{url}/assignments", headers=ana),
        client.post(f"{url}/archive", headers=ana),
        client.post(f"{url}/reopen", headers=ana),
        client.post(f"{url}/read", headers=ana),
        client.get(f"{url}/panel", headers=ana),
        client.post(f"{url}/messages", json={"body": "psst", "note": True}, headers=ana),
        client.delete(url, headers=ana),
    ):
        assert answer.status_code == 404, answer.request.path
    for view in ("all", "unassigned"):
        listed = client.get(f"/v1/conversations?view={view}&status=any", headers=ana).get_json()["items"]
        assert [c["id"] for c in listed] == [visible["id"]]
    assert client.get("/v1/conversations?q=luis", headers=ana).get_json()["items"] == []
    assert client.get("/v1/conversations/counts", headers=ana).get_json()["all"]["count"] == 1
    assert client.get(url, headers=team.headers(conversations_api, team.luis)).status_code == 200
