"""Tickets obey "agents see only their own contacts": 404 as for another workspace, lists left without them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import tickets
from tests.support.stack import ContactsPeer, RunningService
from tests.support.team import Team, acme_team, every_page, grpc_calls_served


@pytest.fixture
def team(contacts_peer_service: ContactsPeer) -> Team:
    return acme_team(contacts_peer_service)


def open_ticket(api: RunningService, team: Team, who: str, contact_id: str, subject: str = "Printer on fire") -> Any:
    return tickets.open_ticket(api, team.headers(api, who), contact_id, subject)


def get(api: RunningService, team: Team, who: str, path: str) -> Any:
    return api.client.get(path, headers=team.headers(api, who))


def comment(api: RunningService, team: Team, who: str, ticket_id: str, *, public: bool) -> Any:
    return tickets.comment(api, team.headers(api, who), ticket_id, public=public)


def only_own(api: RunningService, team: Team) -> None:
    team.agents_see_all(False)
    team.deliver_events(api)


def test_agent_gets_404_for_a_hidden_contacts_ticket_and_its_private_comments(
    tickets_api: RunningService, team: Team
) -> None:
    ticket = open_ticket(tickets_api, team, team.admin, team.luis_contact).get_json()
    assert comment(tickets_api, team, team.admin, ticket["id"], public=False).status_code == 201
    only_own(tickets_api, team)
    events_before = len(tickets_api.outbox())

    assert get(tickets_api, team, team.ana, f"/v1/tickets/{ticket['id']}").status_code == 404
    assert get(tickets_api, team, team.ana, f"/v1/tickets/{ticket['id']}/comments").status_code == 404
    refused = comment(tickets_api, team, team.ana, ticket["id"], public=True)
    assert refused.status_code == 404
    assert refused.get_json()["detail"] == f"ticket {ticket['id']} not found"  # the same words as another workspace's
    assert len(tickets_api.outbox()) == events_before
    for who in (team.luis, team.admin):
        assert get(tickets_api, team, who, f"/v1/tickets/{ticket['id']}").status_code == 200
        assert len(get(tickets_api, team, who, f"/v1/tickets/{ticket['id']}/comments").get_json()["items"]) == 1


def test_lists_leave_hidden_tickets_out_with_full_pages_and_no_call_to_contacts(
    tickets_api: RunningService, team: Team
) -> None:
    opened: dict[str, list[str]] = {team.anas_contact: [], team.luis_contact: []}
    for n in range(120):
        contact = team.anas_contact if n % 2 else team.luis_contact
        opened[contact].append(open_ticket(tickets_api, team, team.admin, contact, f"ticket {n}").get_json()["id"])
    only_own(tickets_api, team)
    anas_newest_first = opened[team.anas_contact][::-1]
    calls_before = grpc_calls_served(team.peer)

    pages = every_page(tickets_api, "/v1/tickets", team.headers(tickets_api, team.ana), limit=50)
    by_contact = every_page(
        tickets_api, f"/v1/tickets?contact_id={team.anas_contact}", team.headers(tickets_api, team.ana), limit=50
    )
    hidden_contact = every_page(
        tickets_api, f"/v1/tickets?contact_id={team.luis_contact}", team.headers(tickets_api, team.ana), limit=50
    )
    admin_pages = every_page(tickets_api, "/v1/tickets", team.headers(tickets_api, team.admin), limit=50)

    assert [len(p) for p in pages] == [50, 10]
    assert [t["id"] for p in pages for t in p] == anas_newest_first
    assert [t["id"] for p in by_contact for t in p] == anas_newest_first
    assert hidden_contact == [[]]
    assert [len(p) for p in admin_pages] == [50, 50, 20]
    assert grpc_calls_served(team.peer) == calls_before  # reads use the local copy: no call per page or item


def test_opening_a_ticket_on_a_hidden_contact_is_404_and_on_a_new_own_contact_is_seen_at_once(
    tickets_api: RunningService, team: Team
) -> None:
    only_own(tickets_api, team)

    refused = open_ticket(tickets_api, team, team.ana, team.luis_contact)
    fresh = team.contact_of(team.ana, "Created a moment ago")  # its created event is not consumed yet
    opened = open_ticket(tickets_api, team, team.ana, fresh)

    assert refused.status_code == 404
    assert opened.status_code == 201
    assert get(tickets_api, team, team.ana, f"/v1/tickets/{opened.get_json()['id']}").status_code == 200
    listed = get(tickets_api, team, team.ana, "/v1/tickets").get_json()["items"]
    assert [t["id"] for t in listed] == [opened.get_json()["id"]]
    assert [e.type for e in tickets_api.outbox()] == ["tickets.ticket.opened"]


def test_an_unowned_contact_is_hidden_from_agents_and_visible_to_admins(
    tickets_api: RunningService, team: Team
) -> None:
    nobodys = team.contact_of(None, "Walk-in")
    only_own(tickets_api, team)

    assert open_ticket(tickets_api, team, team.ana, nobodys).status_code == 404
    ticket = open_ticket(tickets_api, team, team.admin, nobodys).get_json()
    assert get(tickets_api, team, team.ana, f"/v1/tickets/{ticket['id']}").status_code == 404


def test_changing_the_owner_changes_what_the_agent_sees_once_the_event_is_consumed(
    tickets_api: RunningService, team: Team
) -> None:
    ticket = open_ticket(tickets_api, team, team.admin, team.luis_contact).get_json()
    only_own(tickets_api, team)
    assert get(tickets_api, team, team.ana, f"/v1/tickets/{ticket['id']}").status_code == 404

    team.give(team.luis_contact, team.ana)
    assert get(tickets_api, team, team.ana, f"/v1/tickets/{ticket['id']}").status_code == 404  # not consumed yet
    team.deliver_events(tickets_api)

    assert get(tickets_api, team, team.ana, f"/v1/tickets/{ticket['id']}").status_code == 200
    assert [t["id"] for t in get(tickets_api, team, team.ana, "/v1/tickets").get_json()["items"]] == [ticket["id"]]
    assert get(tickets_api, team, team.luis, f"/v1/tickets/{ticket['id']}").status_code == 404


def test_a_deleted_contacts_tickets_are_hidden_from_its_former_owner(tickets_api: RunningService, team: Team) -> None:
    from crm_contacts.contacts import service as contacts

    ticket = open_ticket(tickets_api, team, team.ana, team.anas_contact).get_json()
    only_own(tickets_api, team)
    contacts.delete(
        team.peer.rt.database.unit_of_work(), caller=team.caller(team.admin, "admin"), contact_id=team.anas_contact
    )
    team.deliver_events(tickets_api)

    assert get(tickets_api, team, team.ana, f"/v1/tickets/{ticket['id']}").status_code == 404
    assert get(tickets_api, team, team.admin, f"/v1/tickets/{ticket['id']}").status_code == 200


def test_with_agents_seeing_all_contacts_every_ticket_is_visible_again(tickets_api: RunningService, team: Team) -> None:
    ticket = open_ticket(tickets_api, team, team.admin, team.luis_contact).get_json()
    assert get(tickets_api, team, team.ana, f"/v1/tickets/{ticket['id']}").status_code == 200  # the default
    only_own(tickets_api, team)
    assert get(tickets_api, team, team.ana, f"/v1/tickets/{ticket['id']}").status_code == 404

    team.agents_see_all(True)
    team.deliver_events(tickets_api)

    assert get(tickets_api, team, team.ana, f"/v1/tickets/{ticket['id']}").status_code == 200
    assert len(get(tickets_api, team, team.ana, "/v1/tickets").get_json()["items"]) == 1
    assert comment(tickets_api, team, team.ana, ticket["id"], public=True).status_code == 201
    assert open_ticket(tickets_api, team, team.ana, team.luis_contact).status_code == 201
