"""Factories of the conversations service's data: conversations and messages through its API."""

from __future__ import annotations

from typing import Any


def start(api: Any, headers: dict[str, str], contact_id: str, subject: str = "Invoice question") -> Any:
    """``POST /v1/conversations`` as the caller of ``headers``; the answer as the test client got it."""
    return api.client.post("/v1/conversations", json={"contact_id": contact_id, "subject": subject}, headers=headers)


def say(api: Any, headers: dict[str, str], conversation_id: str, body: str = "hello") -> Any:
    return api.client.post(f"/v1/conversations/{conversation_id}/messages", json={"body": body}, headers=headers)


def member(peer: Any, workspace_id: str, name: str = "Luis Gil", *, signature: str = "", role: str = "agent") -> str:
    """A member of the workspace in the contacts peer, with a signature."""
    from sqlalchemy import update

    from crm_contacts.members.models import Member
    from tests.factories import contacts

    member_id = contacts.member(peer.rt.database, workspace_id, name, role=role)
    if signature:
        with peer.rt.database.unit_of_work() as uow:
            uow.session.execute(update(Member).where(Member.id == member_id).values(signature=signature))
            uow.commit()
    return member_id


def inbound(
    api: Any,
    workspace_id: str,
    contact_id: str,
    *,
    target: str = "new_conversation",
    conversation_id: str = "",
    ticket_id: str = "",
    text: str = "Any news?",
    subject: str = "Re: Invoice question",
    inbound_id: str | None = None,
) -> str:
    """The mailer's ``mailer.inbound.received`` for a contact's mail, handed to the conversations consumer; the
    inbound id."""
    from crm.events.v1 import mailer_pb2
    from crm_events.mailer import INBOUND_RECEIVED
    from crm_platform.ids import new_id
    from tests.support.stack import envelope

    inbound_id = inbound_id or new_id()
    api.consume(
        envelope(
            INBOUND_RECEIVED.name,
            mailer_pb2.InboundReceived(
                inbound_id=inbound_id,
                sender="ana@example.com",
                subject=subject,
                reply_text=text,
                contact_id=contact_id,
                rfc822_message_id=f"<{inbound_id}@mail.example.com>",
                routing=mailer_pb2.InboundRouting(
                    target=target, conversation_id=conversation_id, ticket_id=ticket_id, rule="test"
                ),
            ),
            workspace_id=workspace_id,
            producer="mailer",
        )
    )
    return inbound_id
