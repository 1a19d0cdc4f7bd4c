"""The contact's reply by mail (mailer.inbound.received routed to a ticket) lands on the ticket as a customer
comment, once, and moves its status as the workspace's automation says."""

from __future__ import annotations

from typing import Any

import pytest

from crm.events.v1 import mailer_pb2, tickets_pb2
from crm_events import mailer
from crm_platform.events import pack, payload_of
from crm_platform.ids import new_id
from crm_tickets.automation.rules import Policy
from crm_tickets.tickets import service as ticket_service
from crm_tickets.tickets.rules import CLOSED, SOLVED, SYSTEM
from tests.factories import tickets
from tests.support.stack import ContactsPeer, RunningService


def inbound(
    workspace_id: str,
    ticket_id: str,
    contact_id: str,
    *,
    text: str = "Still broken, thanks.",
    target: str = "ticket",
    sender: str = "ana@example.com",
) -> bytes:
    inbound_id = new_id()
    received = mailer_pb2.InboundReceived(
        inbound_id=inbound_id,
        raw_url=f"/v1/mailer/inbound/{inbound_id}/raw",
        sender=sender,
        sender_name="Ana López",
        subject="Re: [#1] Printer on fire",
        reply_text=text,
        contact_id=contact_id,
        rfc822_message_id=f"<{inbound_id}@mail.example.com>",
        routing=mailer_pb2.InboundRouting(
            target=target, ticket_id=ticket_id if target == "ticket" else "", rule="references", why="In-Reply-To"
        ),
    )
    return pack(mailer.INBOUND_RECEIVED, received, workspace_id=workspace_id, producer="mailer").body


def ticket_of(api: RunningService, workspace_id: str, ticket_id: str) -> dict[str, Any]:
    return api.client.get(f"/v1/tickets/{ticket_id}", headers=api.auth(workspace_id)).get_json()


def comments_of(api: RunningService, workspace_id: str, ticket_id: str) -> list[dict[str, Any]]:
    return api.client.get(f"/v1/tickets/{ticket_id}/comments", headers=api.auth(workspace_id)).get_json()["items"]


def close(api: RunningService, workspace_id: str, ticket_id: str) -> None:
    """Solve then close the ticket as tickets' own use cases do (its PATCH is tickets-core's)."""
    with api.rt.database.unit_of_work() as uow:
        ticket = ticket_service.get_in_workspace_for_update(uow, workspace_id, ticket_id)
        ticket_service.move_status(uow, ticket, SOLVED, actor_id=SYSTEM)
        ticket_service.move_status(uow, ticket, CLOSED, actor_id=SYSTEM)
        uow.commit()


@pytest.fixture
def world(tickets_api: RunningService, contacts_peer_service: ContactsPeer) -> dict[str, Any]:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    ticket = tickets.open_ticket(tickets_api, tickets_api.auth(acme), ana).get_json()
    assert (
        tickets.comment(tickets_api, tickets_api.auth(acme), ticket["id"], "We are on it.", public=True).status_code
        == 201
    )
    assert ticket_of(tickets_api, acme, ticket["id"])["status"] == "pending"
    return {"acme": acme, "ana": ana, "ticket": ticket}


def test_a_reply_lands_once_as_a_customer_comment_and_reopens_the_conversation(
    tickets_api: RunningService, world: dict[str, Any]
) -> None:
    acme, ana, ticket = world["acme"], world["ana"], world["ticket"]
    body = inbound(acme, ticket["id"], ana)

    tickets_api.consume(body)
    tickets_api.consume(body)  # redelivered
    tickets_api.consume(body, consumer="tickets-replayed")  # replayed past the consumer's own record

    comments = comments_of(tickets_api, acme, ticket["id"])
    assert [c["author_kind"] for c in comments] == ["member", "customer"]
    reply = comments[1]
    assert (reply["body"], reply["visibility"], reply["author_id"], reply["delivery"]) == (
        "Still broken, thanks.",
        "public",
        ana,
        None,
    )
    assert reply["from"]["address"] == "ana@example.com" and reply["from"]["notice"] is None
    assert reply["from"]["raw_url"] == f"/v1/mailer/inbound/{reply['from']['inbound_id']}/raw"
    assert ticket_of(tickets_api, acme, ticket["id"])["status"] == "open"
    [replied] = tickets_api.outbox("tickets.ticket.customer_replied")
    assert payload_of(replied, tickets_pb2.CustomerReplied) == tickets_pb2.CustomerReplied(
        ticket_id=ticket["id"],
        contact_id=ana,
        number=ticket["number"],
        comment_id=reply["id"],
        inbound_id=reply["from"]["inbound_id"],
        status_before="pending",
        status_after="open",
    )
    # the customer's reply is told by customer_replied alone: the comment events are the members' words
    added = [
        payload_of(e, tickets_pb2.CommentAdded)
        for e in tickets_api.outbox("tickets.comment.public_added")
        if e.workspace_id == acme
    ]
    assert [(c.comment_id, c.author_type, c.automatic) for c in added] == [(comments[0]["id"], "member", False)]


def test_a_reply_to_a_closed_ticket_reopens_it_by_default(tickets_api: RunningService, world: dict[str, Any]) -> None:
    acme, ana, ticket = world["acme"], world["ana"], world["ticket"]
    close(tickets_api, acme, ticket["id"])

    tickets_api.consume(inbound(acme, ticket["id"], ana))

    reopened = ticket_of(tickets_api, acme, ticket["id"])
    assert (reopened["status"], reopened["closed_at"], reopened["solved_at"]) == ("open", None, None)


def test_a_workspace_that_wants_a_followup_gets_a_new_ticket_linking_the_closed_one(
    tickets_api: RunningService, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workspace's stored choice is tickets-rules' (automation settings); here the policy it would return.
    from crm_tickets.comments import service as comments

    monkeypatch.setattr(comments, "policy_for", lambda _session, _ws: Policy(closed_followup="new_ticket"))
    acme, ana, ticket = world["acme"], world["ana"], world["ticket"]
    close(tickets_api, acme, ticket["id"])

    tickets_api.consume(inbound(acme, ticket["id"], ana))

    assert ticket_of(tickets_api, acme, ticket["id"])["status"] == "closed"
    assert [c["author_kind"] for c in comments_of(tickets_api, acme, ticket["id"])] == ["member"]
    [replied] = tickets_api.outbox("tickets.ticket.customer_replied")
    followup = payload_of(replied, tickets_pb2.CustomerReplied)
    assert (followup.followup_of, followup.number, followup.status_after) == (ticket["id"], ticket["number"] + 1, "new")
    assert [c["body"] for c in comments_of(tickets_api, acme, followup.ticket_id)] == ["Still broken, thanks."]
    with tickets_api.rt.database.unit_of_work() as uow:
        assert ticket_service.get_in_workspace_for_update(uow, acme, followup.ticket_id).followup_of_id == ticket["id"]


def test_a_reply_from_another_contact_lands_marked(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer, world: dict[str, Any]
) -> None:
    acme, ticket = world["acme"], world["ticket"]
    luis = contacts_peer_service.contact(acme, name="Luis Gil", email="luis@example.com")

    tickets_api.consume(inbound(acme, ticket["id"], luis, sender="luis@example.com"))

    reply = comments_of(tickets_api, acme, ticket["id"])[-1]
    assert (reply["author_id"], reply["from"]["notice"]) == (
        luis,
        "sent by luis@example.com, who is not this ticket's contact",
    )


def test_mail_for_a_conversation_or_another_workspaces_ticket_changes_nothing(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer, world: dict[str, Any]
) -> None:
    acme, ana, ticket = world["acme"], world["ana"], world["ticket"]
    globex = contacts_peer_service.workspace(name="Globex")

    tickets_api.consume(inbound(acme, ticket["id"], ana, target="conversation"))
    tickets_api.consume(inbound(globex, ticket["id"], ana))

    assert len(comments_of(tickets_api, acme, ticket["id"])) == 1
    assert ticket_of(tickets_api, acme, ticket["id"])["status"] == "pending"
    assert tickets_api.outbox("tickets.ticket.customer_replied") == []
