"""A ticket's comments over HTTP: plain text or sanitised HTML, public or private everywhere, what a public
comment does to the ticket, mentions, and the delivery status the mailer's events keep on it."""

from __future__ import annotations

from typing import Any

from crm.events.v1 import mailer_pb2, tickets_pb2
from crm_events import mailer
from crm_platform.events import pack, payload_of
from tests.factories import contacts as contact_factories
from tests.factories import tickets
from tests.support.stack import ContactsPeer, RunningService, problem_fields


def post(api: RunningService, workspace_id: str, ticket_id: str, **body: Any) -> Any:
    return api.client.post(f"/v1/tickets/{ticket_id}/comments", json=body, headers=api.auth(workspace_id))


def listed(api: RunningService, workspace_id: str, ticket_id: str) -> list[dict[str, Any]]:
    answer = api.client.get(f"/v1/tickets/{ticket_id}/comments", headers=api.auth(workspace_id))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["items"]


def new_ticket(api: RunningService, peer: ContactsPeer) -> tuple[str, dict[str, Any]]:
    acme = peer.workspace()
    opened = tickets.open_ticket(api, api.auth(acme), peer.contact(acme))
    assert opened.status_code == 201
    return acme, opened.get_json()


def test_html_comment_is_sanitised_and_mailed_with_number_html_and_signature(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, ticket = new_ticket(tickets_api, contacts_peer_service)

    added = post(
        tickets_api,
        acme,
        ticket["id"],
        body_html="<p>We are <b>on it</b>.<script>steal()</script></p>",
        public=True,
        with_signature=True,
    )

    assert added.status_code == 201, added.get_json()
    comment = added.get_json()
    assert (comment["body"], comment["body_html"]) == ("We are on it.", "<p>We are <b>on it</b>.</p>")
    assert (comment["visibility"], comment["author_kind"], comment["with_signature"]) == ("public", "member", True)
    assert comment["delivery"] == {"status": "queued", "detail": None, "message_id": None}
    [event] = tickets_api.outbox("tickets.comment.public_added")
    payload = payload_of(event, tickets_pb2.CommentAdded)
    assert (payload.ticket_number, payload.body_html, payload.with_signature) == (
        ticket["number"],
        "<p>We are <b>on it</b>.</p>",
        True,
    )


def test_an_agents_public_reply_answers_the_ticket_and_moves_it_to_pending(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, ticket = new_ticket(tickets_api, contacts_peer_service)

    assert post(tickets_api, acme, ticket["id"], body="A note", public=False).status_code == 201
    noted = tickets_api.client.get(f"/v1/tickets/{ticket['id']}", headers=tickets_api.auth(acme)).get_json()
    assert (noted["status"], noted["first_response_at"]) == ("new", None)

    assert post(tickets_api, acme, ticket["id"], body="We are on it.", public=True).status_code == 201
    answered = tickets_api.client.get(f"/v1/tickets/{ticket['id']}", headers=tickets_api.auth(acme)).get_json()
    assert answered["status"] == "pending" and answered["first_response_at"] is not None
    assert answered["version"] > noted["version"]
    [moved] = tickets_api.outbox("tickets.ticket.status_changed")
    assert payload_of(moved, tickets_pb2.TicketStatusChanged).reason == "agent_reply"


def test_a_private_note_is_marked_private_and_asks_for_no_mail(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, ticket = new_ticket(tickets_api, contacts_peer_service)

    post(tickets_api, acme, ticket["id"], body="Public", public=True)
    post(tickets_api, acme, ticket["id"], body="SECRET-NOTE", public=False, with_signature=True)

    assert [(c["visibility"], c["public"], c["delivery"]) for c in listed(tickets_api, acme, ticket["id"])] == [
        ("public", True, {"status": "queued", "detail": None, "message_id": None}),
        ("private", False, None),
    ]
    assert [e.type for e in tickets_api.outbox() if e.type.startswith("tickets.comment.")] == [
        "tickets.comment.public_added",
        "tickets.comment.private_added",
    ]
    mailed = [payload_of(e, tickets_pb2.CommentAdded) for e in tickets_api.outbox("tickets.comment.public_added")]
    assert all("SECRET-NOTE" not in m.body for m in mailed)


def test_mentions_notify_each_member_once_and_an_unknown_one_is_refused(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, ticket = new_ticket(tickets_api, contacts_peer_service)
    luis = contact_factories.member(contacts_peer_service.rt.database, acme, "Luis Gil")

    refused = post(
        tickets_api, acme, ticket["id"], body="Ask @[Nobody](0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b)", public=False
    )
    assert refused.status_code == 422
    assert problem_fields(refused.get_json()) == {"body": "unknown_member"}

    added = post(tickets_api, acme, ticket["id"], body=f"@[Luis Gil]({luis}) can you? @[Luis]({luis})", public=False)
    assert added.status_code == 201
    [event] = tickets_api.outbox("tickets.member.mentioned")
    assert payload_of(event, tickets_pb2.TicketMemberMentioned) == tickets_pb2.TicketMemberMentioned(
        ticket_id=ticket["id"],
        comment_id=added.get_json()["id"],
        member_id=luis,
        author_id="agent-1",
        number=ticket["number"],
        public=False,
        excerpt="@Luis Gil can you? @Luis",
    )


def test_the_mailers_facts_are_the_comments_delivery_status(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, ticket = new_ticket(tickets_api, contacts_peer_service)
    first = post(tickets_api, acme, ticket["id"], body="One", public=True).get_json()
    second = post(tickets_api, acme, ticket["id"], body="Two", public=True).get_json()
    first_event, second_event = tickets_api.outbox("tickets.comment.public_added")

    def consume(event_type: Any, payload: Any, workspace_id: str = acme) -> None:
        tickets_api.consume(pack(event_type, payload, workspace_id=workspace_id, producer="mailer").body)

    consume(
        mailer.MESSAGE_SENT,
        mailer_pb2.MessageSent(
            message_id="m1",
            rfc822_message_id="<m1@crm.test>",
            source_event_id=first_event.event_id,
            ticket_id=ticket["id"],
        ),
    )
    consume(
        mailer.MESSAGE_SUPPRESSED,
        mailer_pb2.MessageSuppressed(message_id="m2", reason="blocked", source_event_id=second_event.event_id),
    )
    consume(
        mailer.DELIVERY_BOUNCED,
        mailer_pb2.DeliveryBounced(kind="hard", diagnostic="550 no such user", rfc822_message_id="<m1@crm.test>"),
        workspace_id="other-ws",
    )
    by_id = {c["id"]: c["delivery"] for c in listed(tickets_api, acme, ticket["id"])}
    assert by_id[first["id"]] == {"status": "sent", "detail": None, "message_id": "<m1@crm.test>"}
    assert by_id[second["id"]] == {"status": "suppressed", "detail": "blocked", "message_id": None}

    consume(
        mailer.DELIVERY_BOUNCED,
        mailer_pb2.DeliveryBounced(kind="hard", diagnostic="550 no such user", rfc822_message_id="<m1@crm.test>"),
    )
    [bounced] = [c for c in listed(tickets_api, acme, ticket["id"]) if c["id"] == first["id"]]
    assert bounced["delivery"] == {
        "status": "bounced",
        "detail": "hard: 550 no such user",
        "message_id": "<m1@crm.test>",
    }
