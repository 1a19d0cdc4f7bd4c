"""Mail a conversation asked for (SendEmail with thread_kind "conversation") threads its replies back to the
conversation: by the reply token in the address and by In-Reply-To, never as a ticket."""

from __future__ import annotations

import mailbox
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from crm.events.v1 import mailer_pb2
from crm_events.mailer import INBOUND_RECEIVED
from crm_mailer.outbound import delivery, service
from crm_mailer.outbound.settings import sender_of
from crm_mailer.outbound.transport import MaildirTransport
from crm_platform import context
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.events import payload_of
from crm_platform.ids import new_id

from .conftest import Inbound


def _mail_for_conversation(
    inbound: Inbound, tmp_path: Path, workspace_id: str, contact_id: str, thread: str
) -> EmailMessage:
    rt = inbound.mailer.rt
    caller = context.Caller(workspace_id=workspace_id, user_id="system:conversations", role="system")
    with context.bound(caller=caller), rt.database.unit_of_work() as uow:
        service.queue(
            uow,
            GrpcContactDirectory(rt.grpc),
            sender_of(rt.service_settings),
            service.MailRequest(
                workspace_id=workspace_id,
                source_event_id=new_id(),
                contact_id=contact_id,
                subject="Your order",
                text_body="It ships tomorrow.",
                ticket_id=thread,
                thread_kind="conversation",
            ),
        )
        uow.commit()
    delivery.deliver_due(rt.database, MaildirTransport(tmp_path / "out"), delivery.Composer.of(rt))
    box = mailbox.Maildir(tmp_path / "out", create=False)
    [mail] = [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]
    return mail  # type: ignore[return-value]


@pytest.mark.parametrize("clue", ["reply_token", "references"])
def test_a_reply_to_a_conversations_mail_is_routed_to_the_conversation(
    inbound: Inbound, tmp_path: Path, clue: str
) -> None:
    acme = inbound.contacts.workspace()
    ana = inbound.contacts.contact(acme, email="ana@example.com")
    conversation_id = new_id()
    sent = _mail_for_conversation(inbound, tmp_path, acme, ana, conversation_id)
    assert "[#" not in sent["Subject"]  # a conversation has no ticket number

    reply = EmailMessage()
    reply["From"] = "Ana <ana@example.com>"
    reply["Subject"] = "Re: Your order"
    reply["Message-ID"] = f"<{new_id()}@example.com>"
    if clue == "reply_token":
        to = sent["Reply-To"].addresses[0].addr_spec
    else:
        to = inbound.address(acme)
        reply["In-Reply-To"] = sent["Message-ID"]
    reply["To"] = to
    reply.set_content("Thanks!\n")
    inbound.processed(inbound.send(bytes(reply), to=to))

    [event] = [payload_of(e, mailer_pb2.InboundReceived) for e in inbound.mailer.outbox(INBOUND_RECEIVED.name)]
    routing = event.routing
    assert (routing.target, routing.conversation_id, routing.ticket_id, routing.rule) == (
        "conversation",
        conversation_id,
        "",
        clue,
    )
