"""Tickets and the contacts service: contacts' merge re-points the merged contacts' tickets to the survivor,
a deletion keeps the tickets with their snapshot; and the gRPC side panel (ListTicketsForContact) for the
services allowed to ask, scoped to the caller's workspace and visibility."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from crm.tickets.v1 import tickets_pb2, tickets_pb2_grpc
from crm_platform.auth import mint_for
from crm_platform.grpc_server import GrpcServer
from tests.factories import tickets
from tests.support import service_keys
from tests.support.stack import ContactsPeer, RunningService
from tests.support.team import Team, acme_team

AUDIENCE = "crm.tickets.v1.TicketsService"


@pytest.fixture
def team(contacts_peer_service: ContactsPeer) -> Team:
    return acme_team(contacts_peer_service)


def open_ticket(api: RunningService, team: Team, contact_id: str, subject: str = "Printer on fire") -> dict[str, Any]:
    answer = tickets.open_ticket(api, team.headers(api, team.admin), contact_id, subject)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()  # type: ignore[no-any-return]


def get(api: RunningService, team: Team, who: str, path: str) -> Any:
    return api.client.get(path, headers=team.headers(api, who))


def test_a_contacts_merge_repoints_the_merged_contacts_tickets_to_the_survivor(
    tickets_api: RunningService, team: Team
) -> None:
    from crm_contacts.contacts import merge

    duplicate = team.contact_of(team.ana, "Ana dup")
    kept = open_ticket(tickets_api, team, team.anas_contact)
    moved = open_ticket(tickets_api, team, duplicate, "From the duplicate")
    other = open_ticket(tickets_api, team, team.luis_contact)

    merge.merge(
        team.peer.rt.database.unit_of_work(),
        caller=team.caller(team.admin, "admin"),
        survivor_id=team.anas_contact,
        merged_ids=[duplicate],
        fields={},
    )
    team.deliver_events(tickets_api)

    repointed = get(tickets_api, team, team.admin, f"/v1/tickets/{moved['id']}").get_json()
    assert repointed["contact_id"] == team.anas_contact
    assert repointed["contact"]["name"] == "Ana's customer"  # the survivor's snapshot
    assert repointed["version"] == 2
    survivors = get(tickets_api, team, team.admin, f"/v1/tickets?contact_id={team.anas_contact}").get_json()["items"]
    assert [t["id"] for t in survivors] == [moved["id"], kept["id"]]
    assert get(tickets_api, team, team.admin, f"/v1/tickets?contact_id={duplicate}").get_json()["items"] == []
    assert (
        get(tickets_api, team, team.admin, f"/v1/tickets/{other['id']}").get_json()["contact_id"] == team.luis_contact
    )
    team.deliver_events(tickets_api)  # a redelivery changes nothing
    assert get(tickets_api, team, team.admin, f"/v1/tickets/{moved['id']}").get_json()["version"] == 2


def test_a_deleted_contacts_tickets_stay_with_who_they_were_for(tickets_api: RunningService, team: Team) -> None:
    from crm_contacts.contacts import service as contacts

    ticket = open_ticket(tickets_api, team, team.luis_contact)
    untouched = open_ticket(tickets_api, team, team.anas_contact)

    contacts.delete(
        team.peer.rt.database.unit_of_work(), caller=team.caller(team.admin, "admin"), contact_id=team.luis_contact
    )
    team.deliver_events(tickets_api)

    kept = get(tickets_api, team, team.admin, f"/v1/tickets/{ticket['id']}").get_json()
    assert kept["contact"]["name"] == "Luis's customer"
    assert kept["contact"]["deleted"] is True
    assert (kept["status"], kept["subject"]) == (ticket["status"], ticket["subject"])
    assert (
        get(tickets_api, team, team.admin, f"/v1/tickets/{untouched['id']}").get_json()["contact"]["deleted"] is False
    )


@pytest.fixture
def tickets_grpc(tickets_api: RunningService) -> Iterator[tickets_pb2_grpc.TicketsServiceStub]:
    from crm_tickets.app import SERVICE

    server = GrpcServer(
        [(b, tickets_api.rt.metrics) for b in SERVICE.grpc_bindings(tickets_api.rt)],
        address="127.0.0.1:0",
        settings=tickets_api.rt.settings,
    )
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield tickets_pb2_grpc.TicketsServiceStub(channel)
    finally:
        server.stop(grace=0)


def side_panel(
    stub: tickets_pb2_grpc.TicketsServiceStub, metadata: list[tuple[str, str]], contact_id: str, **fields: Any
) -> tickets_pb2.ListTicketsForContactResponse:
    request = tickets_pb2.ListTicketsForContactRequest(contact_id=contact_id, **fields)
    return stub.ListTicketsForContact(request, metadata=metadata, timeout=5)  # type: ignore[no-any-return]


def test_the_side_panel_pages_a_contacts_tickets_with_statuses_numbers_and_priorities(
    tickets_api: RunningService, team: Team, tickets_grpc: tickets_pb2_grpc.TicketsServiceStub
) -> None:
    opened = [open_ticket(tickets_api, team, team.anas_contact, f"ticket {n}") for n in range(5)]
    admin = team.headers(tickets_api, team.admin)
    changed = {"status": "pending", "priority": "high"}
    assert tickets_api.client.patch(f"/v1/tickets/{opened[1]['id']}", json=changed, headers=admin).status_code == 200
    open_ticket(tickets_api, team, team.luis_contact)
    metadata = service_keys.credentials("conversations", AUDIENCE, workspace_id=team.workspace)

    first = side_panel(tickets_grpc, metadata, team.anas_contact, limit=3)
    second = side_panel(tickets_grpc, metadata, team.anas_contact, limit=3, cursor=first.next_cursor)
    pending = side_panel(tickets_grpc, metadata, team.anas_contact, statuses=["pending", "open"])
    old = tickets_grpc.ListContactTickets(
        tickets_pb2.ListContactTicketsRequest(contact_id=team.anas_contact, limit=2), metadata=metadata, timeout=5
    )

    newest_first = [t["id"] for t in opened[::-1]]
    assert [t.id for t in first.tickets] + [t.id for t in second.tickets] == newest_first
    assert second.next_cursor == ""
    [only] = pending.tickets
    assert (only.id, only.status, only.priority, only.number) == (
        opened[1]["id"],
        "pending",
        "high",
        opened[1]["number"],
    )
    assert only.updated_at.ToDatetime().year >= 2024
    assert [t.id for t in old.tickets] == newest_first[:2]  # the first release's call still answers


def test_the_side_panel_is_scoped_to_callers_workspaces_and_visibility(
    tickets_api: RunningService, team: Team, tickets_grpc: tickets_pb2_grpc.TicketsServiceStub
) -> None:
    open_ticket(tickets_api, team, team.luis_contact)
    team.agents_see_all(False)
    team.deliver_events(tickets_api)
    other_workspace = service_keys.credentials(
        "conversations", AUDIENCE, workspace_id=team.peer.workspace(name="Globex")
    )
    ana_token = mint_for(tickets_api.rt.settings, workspace_id=team.workspace, user_id=team.ana, role="agent")
    as_ana = service_keys.credentials("conversations", AUDIENCE, user_token=ana_token)
    as_mailer = service_keys.credentials("mailer", AUDIENCE, workspace_id=team.workspace)

    assert list(side_panel(tickets_grpc, other_workspace, team.luis_contact).tickets) == []
    assert list(side_panel(tickets_grpc, as_ana, team.luis_contact).tickets) == []
    with pytest.raises(grpc.RpcError) as refused:
        side_panel(tickets_grpc, as_mailer, team.luis_contact)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as invalid:
        side_panel(tickets_grpc, other_workspace, team.luis_contact, statuses=["archived"])
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as bad_cursor:
        side_panel(tickets_grpc, other_workspace, team.luis_contact, cursor="made-up")
    assert bad_cursor.value.code() == grpc.StatusCode.INVALID_ARGUMENT
