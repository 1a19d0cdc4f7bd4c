"""A member's email message goes out through the real mailer (gRPC SendEmail, then SMTP to aiosmtpd on loopback)
with the signature, threaded on the conversation; the mailer's events bring its delivery status back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.events.v1 import conversations_pb2
from crm_mailer.outbound import delivery
from crm_mailer.outbound.models import OutboundMessage
from crm_mailer.outbound.transport import SmtpTransport
from crm_platform.events import payload_of
from tests.factories import conversations
from tests.integration.conversations.mailing import Mailer, Sink, conversations_beside
from tests.support.infra import free_port
from tests.support.stack import ContactsPeer, RunningService


@pytest.fixture
def inbox(
    database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer, mailer_peer: Mailer
) -> Iterator[RunningService]:
    with conversations_beside(database_url, tmp_path, contacts_peer_service, mailer_peer) as service:
        yield service


def mailer_events(mailer: Mailer) -> list[bytes]:
    table = mailer.rt.database.outbox
    with mailer.rt.database.engine.connect() as connection:
        return [row.body for row in connection.execute(select(table.c.body).order_by(table.c.id))]


def test_a_members_message_is_mailed_with_the_signature_threaded_and_its_delivery_comes_back(
    inbox: RunningService,
    contacts_peer_service: ContactsPeer,
    mailer_peer: Mailer,
    smtp: tuple[SmtpTransport, Sink],
) -> None:
    transport, sink = smtp
    acme = contacts_peer_service.workspace()
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil", signature="Luis Gil\nAcme support")
    ana = contacts_peer_service.contact(acme, email="ana@example.com")
    headers = inbox.auth(acme, user_id=luis, role="agent")
    conversation = conversations.start(inbox, headers, ana, "Invoice 42").get_json()

    written = inbox.client.post(
        f"/v1/conversations/{conversation['id']}/messages",
        json={"body": "<p>It is <b>paid</b>.</p>"},
        headers=headers,
    )
    note = inbox.client.post(
        f"/v1/conversations/{conversation['id']}/messages", json={"body": "check later", "note": True}, headers=headers
    )

    assert written.status_code == 201, written.get_json()
    message = written.get_json()
    assert (message["body"], message["text"], message["signature"]) == (
        "<p>It is <b>paid</b>.</p>",
        "It is paid.",
        "Luis Gil\nAcme support",
    )
    assert message["delivery"] == {"status": "queued", "detail": None}
    assert (note.get_json()["delivery"], note.get_json()["signature"]) == (None, None)
    with mailer_peer.rt.database.unit_of_work() as uow:
        [queued] = uow.session.scalars(select(OutboundMessage)).all()
        assert (queued.source_event_id, queued.ticket_id, queued.contact_id) == (message["id"], conversation["id"], ana)

    assert delivery.deliver_due(mailer_peer.rt.database, transport, delivery.Composer.of(mailer_peer.rt))["sent"] == 1
    [mail] = sink.received
    assert mail["To"] == "ana@example.com"
    assert mail["Subject"] == "Invoice 42"
    assert "Luis Gil" in mail["From"]
    assert mail["Reply-To"].startswith("reply+")
    text = mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "It is paid." in text and "-- \nLuis Gil\nAcme support" in text
    assert "check later" not in str(mail)

    for body in mailer_events(mailer_peer):
        inbox.consume(body)

    listed = inbox.client.get(f"/v1/conversations/{conversation['id']}/messages", headers=headers).get_json()["items"]
    assert [m["delivery"] for m in listed] == [{"status": "sent", "detail": None}, None]
    changes = inbox.outbox("conversations.message.delivery_changed")
    assert [payload_of(e, conversations_pb2.ConversationMessageDeliveryChanged).delivery_status for e in changes] == [
        "queued",
        "sent",
    ]


def test_a_blocked_contacts_message_shows_suppressed(
    inbox: RunningService, contacts_peer_service: ContactsPeer, mailer_peer: Mailer
) -> None:
    from crm_contacts.contacts import service as contacts
    from tests.factories import platform

    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme, email="ana@example.com")
    headers = inbox.auth(acme)
    conversation = conversations.start(inbox, headers, ana).get_json()
    contacts.set_blocked(
        contacts_peer_service.rt.database.unit_of_work(), caller=platform.admin(acme), contact_id=ana, blocked=True
    )

    written = conversations.say(inbox, headers, conversation["id"], "Hello?").get_json()
    for body in mailer_events(mailer_peer):
        inbox.consume(body)

    assert written["delivery"]["status"] == "suppressed"
    [listed] = inbox.client.get(f"/v1/conversations/{conversation['id']}/messages", headers=headers).get_json()["items"]
    assert listed["delivery"] == {"status": "suppressed", "detail": "blocked"}


def test_a_message_written_while_the_mailer_is_down_waits_pending_and_the_worker_sends_it(
    inbox: RunningService, contacts_peer_service: ContactsPeer, mailer_peer: Mailer
) -> None:
    from datetime import timedelta

    from crm_conversations.messages import service
    from crm_conversations.messages.mailer import GrpcMailer
    from crm_platform.grpc_client import GrpcClients

    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme, email="ana@example.com")
    headers = inbox.auth(acme)
    conversation = conversations.start(inbox, headers, ana).get_json()
    down = free_port()
    settings = inbox.rt.settings
    object.__setattr__(settings, "grpc_targets", {**settings.grpc_targets, "mailer": f"127.0.0.1:{down}"})
    inbox.rt.grpc.close()
    try:
        object.__setattr__(settings, "grpc_deadline_seconds", 0.5)
        written = conversations.say(inbox, headers, conversation["id"], "Hello?").get_json()
    finally:
        object.__setattr__(settings, "grpc_targets", {**settings.grpc_targets, "mailer": mailer_peer.target})
        inbox.rt.grpc.close()
    assert written["delivery"]["status"] == "pending"

    tried = service.retry_pending(inbox.rt.database, GrpcMailer(GrpcClients(settings)), older_than=timedelta(0))

    assert tried == 1
    [listed] = inbox.client.get(f"/v1/conversations/{conversation['id']}/messages", headers=headers).get_json()["items"]
    assert listed["delivery"]["status"] == "queued"
    with mailer_peer.rt.database.unit_of_work() as uow:
        assert [m.source_event_id for m in uow.session.scalars(select(OutboundMessage))] == [written["id"]]
