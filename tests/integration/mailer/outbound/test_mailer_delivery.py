"""The mailer end to end: a public comment event becomes one mail, delivered to a Maildir or a real SMTP server."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from crm.events.v1 import mailer_pb2
from crm_mailer.outbound import delivery, rules
from crm_mailer.outbound.models import OutboundMessage
from crm_mailer.outbound.transport import MaildirTransport, SmtpTransport
from crm_platform.errors import Unavailable
from crm_platform.events import payload_of
from crm_platform.ids import new_id
from tests.factories import mailer as mailer_factories
from tests.factories import tickets
from tests.support.infra import free_port
from tests.support.stack import ContactsPeer, RunningService, running

REFUSED = "nobody@example.com"
GREYLISTED = "busy@example.com"


public_comment = tickets.public_comment_added


def mails(api: RunningService, workspace_id: str) -> list[dict[str, Any]]:
    answer = api.client.get("/v1/mailer/messages", headers=api.auth(workspace_id))
    assert answer.status_code == 200
    return answer.get_json()["items"]


def maildir_mails(folder: Path) -> list[EmailMessage]:
    if not folder.exists():
        return []
    box = mailbox.Maildir(folder, create=False)
    return [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]  # type: ignore[misc]


def deliver(api: RunningService, transport: Any) -> dict[str, int]:
    return delivery.deliver_due(api.rt.database, transport, delivery.Composer.of(api.rt))


def test_public_comment_is_mailed_to_the_contact_with_the_ticket_tag(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, tmp_path: Path
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme, email="ana@example.com")
    ticket_id = new_id()
    event_body = public_comment(acme, ana, ticket_id=ticket_id, body="We are on it.\nThe printer is being replaced.")

    mailer_api.consume(event_body)
    outcomes = deliver(mailer_api, MaildirTransport(tmp_path / "mail"))

    assert outcomes == {"sent": 1, "deferred": 0, "failed": 0}
    [mail] = maildir_mails(tmp_path / "mail")
    [record] = mails(mailer_api, acme)
    assert mail["To"] == "ana@example.com"
    assert mail["From"] == "Acme Support <support@acme.test>"
    assert mail["Subject"] == f"[#{ticket_id[-8:]}] Printer on fire"
    assert mail["Message-ID"] == record["rfc822_message_id"] == f"<{record['id']}@acme.test>"
    assert mail["X-CRM-Ticket-ID"] == ticket_id
    assert mail.get_body(preferencelist=("plain",)).get_content() == "We are on it.\nThe printer is being replaced.\n"
    assert (record["status"], record["attempts"], record["recipient"]) == ("sent", 1, "ana@example.com")
    assert record["sent_at"] is not None


def test_sent_mail_writes_message_sent_to_the_outbox(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, tmp_path: Path
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    ticket_id = new_id()
    event_body = public_comment(acme, ana, ticket_id=ticket_id)

    mailer_api.consume(event_body)
    assert mailer_api.outbox() == []  # queued is not sent
    deliver(mailer_api, MaildirTransport(tmp_path / "mail"))

    [record] = mails(mailer_api, acme)
    [event] = mailer_api.outbox()
    assert (event.type, event.workspace_id, event.producer) == ("mailer.message.sent", acme, "mailer")
    assert payload_of(event, mailer_pb2.MessageSent) == mailer_pb2.MessageSent(
        message_id=record["id"],
        rfc822_message_id=record["rfc822_message_id"],
        recipient="ana@example.com",
        subject=f"[#{ticket_id[-8:]}] Printer on fire",
        source_event_id=record["source_event_id"],
        ticket_id=ticket_id,
        contact_id=ana,
        kind="ticket_comment",  # it carried tickets.comment.public_added
    )


def test_the_same_event_delivered_twice_queues_one_mail(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, tmp_path: Path
) -> None:
    acme = contacts_peer_service.workspace()
    event_body = public_comment(acme, contacts_peer_service.contact(acme))

    mailer_api.consume(event_body)
    mailer_api.consume(event_body)
    deliver(mailer_api, MaildirTransport(tmp_path / "mail"))

    assert len(maildir_mails(tmp_path / "mail")) == 1
    assert len(mails(mailer_api, acme)) == 1


def test_contact_without_email_gets_a_skipped_message_and_no_mail(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, tmp_path: Path
) -> None:
    acme = contacts_peer_service.workspace()
    phone_only = contacts_peer_service.contact(acme, name="Phone Only", email=None)

    mailer_api.consume(public_comment(acme, phone_only))
    outcomes = deliver(mailer_api, MaildirTransport(tmp_path / "mail"))

    assert outcomes == {"sent": 0, "deferred": 0, "failed": 0}
    assert maildir_mails(tmp_path / "mail") == []
    [record] = mails(mailer_api, acme)
    assert (record["status"], record["recipient"], record["attempts"]) == ("skipped", None, 0)
    assert record["last_error"] == "the contact has no email address"
    assert mailer_api.outbox() == []


def test_mail_for_another_workspaces_contact_is_skipped(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, tmp_path: Path
) -> None:
    acme = contacts_peer_service.workspace(name="Acme")
    globex_contact = contacts_peer_service.contact(contacts_peer_service.workspace(name="Globex"))

    mailer_api.consume(public_comment(acme, globex_contact))
    deliver(mailer_api, MaildirTransport(tmp_path / "mail"))

    assert maildir_mails(tmp_path / "mail") == []
    assert [m["status"] for m in mails(mailer_api, acme)] == ["skipped"]


def test_another_workspace_does_not_see_the_mail(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace(name="Acme")
    globex = contacts_peer_service.workspace(name="Globex")
    mailer_api.consume(public_comment(acme, contacts_peer_service.contact(acme)))
    [record] = mails(mailer_api, acme)

    assert mails(mailer_api, globex) == []
    answer = mailer_api.client.get(f"/v1/mailer/messages/{record['id']}", headers=mailer_api.auth(globex))
    assert answer.status_code == 404


@dataclass
class RecordingSmtpHandler:
    """Refuses one recipient for good, greylists another, accepts the rest."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:  # noqa: N802
        if address == REFUSED:
            return "550 no such user"
        if address == GREYLISTED:
            return "451 try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[SmtpTransport, RecordingSmtpHandler]]:
    handler = RecordingSmtpHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpTransport("127.0.0.1", controller.port, username=None, password=None, starttls=False), handler
    finally:
        controller.stop()


@pytest.fixture
def smtp(
    smtp_server: tuple[SmtpTransport, RecordingSmtpHandler],
) -> Iterator[tuple[SmtpTransport, RecordingSmtpHandler]]:
    transport, handler = smtp_server
    handler.received.clear()
    yield transport, handler


def queue_mail_to(mailer_api: RunningService, peer: ContactsPeer, address: str) -> str:
    return mailer_factories.queued_comment_mail(mailer_api, peer, email=address).workspace_id


def stored(mailer_api: RunningService) -> OutboundMessage:
    with mailer_api.rt.database.unit_of_work() as uow:
        return uow.session.scalars(select(OutboundMessage)).one()


def set_attempts(mailer_api: RunningService, attempts: int) -> None:
    with mailer_api.rt.database.unit_of_work() as uow:
        uow.session.scalars(select(OutboundMessage)).one().attempts = attempts
        uow.commit()


def test_mail_accepted_by_the_smtp_server_is_sent(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, smtp: tuple[SmtpTransport, RecordingSmtpHandler]
) -> None:
    transport, server = smtp
    acme = queue_mail_to(mailer_api, contacts_peer_service, "ana@example.com")

    outcomes = deliver(mailer_api, transport)

    assert outcomes == {"sent": 1, "deferred": 0, "failed": 0}
    [received] = server.received
    [record] = mails(mailer_api, acme)
    assert received["To"] == "ana@example.com"
    assert received["Message-ID"] == record["rfc822_message_id"]
    assert (record["status"], record["last_error"]) == ("sent", None)
    assert [e.type for e in mailer_api.outbox()] == ["mailer.message.sent"]


def test_permanent_smtp_refusal_marks_the_mail_failed_as_a_bounce(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, smtp: tuple[SmtpTransport, RecordingSmtpHandler]
) -> None:
    transport, server = smtp
    acme = queue_mail_to(mailer_api, contacts_peer_service, REFUSED)

    outcomes = deliver(mailer_api, transport)

    assert outcomes == {"sent": 0, "deferred": 0, "failed": 1}
    [record] = mails(mailer_api, acme)
    assert (record["status"], record["attempts"]) == ("failed", 1)
    assert "550" in record["last_error"] and "no such user" in record["last_error"]
    assert server.received == []
    [bounced] = mailer_api.outbox()  # 5xx to RCPT TO: contacts turns the address off
    assert bounced.type == "mailer.delivery.bounced"
    assert payload_of(bounced, mailer_pb2.DeliveryBounced).recipient == REFUSED
    assert payload_of(bounced, mailer_pb2.DeliveryBounced).message_id == record["id"]
    assert deliver(mailer_api, transport) == {"sent": 0, "deferred": 0, "failed": 0}  # never retried


def test_temporary_smtp_refusal_defers_the_mail_to_a_later_attempt(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, smtp: tuple[SmtpTransport, RecordingSmtpHandler]
) -> None:
    transport, server = smtp
    acme = queue_mail_to(mailer_api, contacts_peer_service, GREYLISTED)

    before = datetime.now(UTC)
    outcomes = deliver(mailer_api, transport)

    assert outcomes == {"sent": 0, "deferred": 1, "failed": 0}
    [record] = mails(mailer_api, acme)
    assert (record["status"], record["attempts"]) == ("queued", 1)
    assert "451" in record["last_error"]
    assert stored(mailer_api).next_attempt_at > before
    assert server.received == []
    assert deliver(mailer_api, transport) == {"sent": 0, "deferred": 0, "failed": 0}  # not due yet


def test_unreachable_smtp_server_defers_the_mail(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = queue_mail_to(mailer_api, contacts_peer_service, "ana@example.com")
    nobody_listening = SmtpTransport("127.0.0.1", free_port(), username=None, password=None, starttls=False)

    outcomes = deliver(mailer_api, nobody_listening)

    assert outcomes == {"sent": 0, "deferred": 1, "failed": 0}
    assert [m["status"] for m in mails(mailer_api, acme)] == ["queued"]


def test_mail_greylisted_on_its_last_attempt_is_given_up(
    mailer_api: RunningService, contacts_peer_service: ContactsPeer, smtp: tuple[SmtpTransport, RecordingSmtpHandler]
) -> None:
    transport, _server = smtp
    acme = queue_mail_to(mailer_api, contacts_peer_service, GREYLISTED)
    set_attempts(mailer_api, rules.MAX_ATTEMPTS - 1)

    outcomes = deliver(mailer_api, transport)

    assert outcomes == {"sent": 0, "deferred": 0, "failed": 1}
    [record] = mails(mailer_api, acme)
    assert (record["status"], record["attempts"]) == ("failed", rules.MAX_ATTEMPTS)
    assert "451" in record["last_error"]


def test_event_arriving_while_contacts_is_down_is_mailed_when_redelivered(
    database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer
) -> None:
    from crm_mailer.app import SERVICE

    acme = contacts_peer_service.workspace()
    event_body = public_comment(acme, contacts_peer_service.contact(acme))
    closed_port = f"127.0.0.1:{free_port()}"

    with running(
        SERVICE, database_url, tmp_path, CRM_CONTACTS_GRPC_TARGET=closed_port, CRM_GRPC_DEADLINE_SECONDS="0.3"
    ) as cut_off:
        with pytest.raises(Unavailable):  # the bus retries a delivery whose handler raised
            cut_off.consume(event_body)
        assert mails(cut_off, acme) == []

    with running(SERVICE, database_url, tmp_path, CRM_CONTACTS_GRPC_TARGET=contacts_peer_service.target) as mailer:
        mailer.consume(event_body)
        assert [(m["status"], m["recipient"]) for m in mails(mailer, acme)] == [("queued", "ana@example.com")]
