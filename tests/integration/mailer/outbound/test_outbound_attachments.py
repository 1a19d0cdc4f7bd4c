"""Outbound mail carrying files by reference, between two real services over gRPC: the mailer streams each
file from the service that keeps it (here one serving as tickets does) when it builds the message, within its
limits; a file it cannot fetch defers the mail like a 4xx until it gives up, a file that is not what its
reference says fails the mail with the reason."""

from __future__ import annotations

import hashlib
import mailbox
import os
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import grpc
import pytest
from sqlalchemy import select

from crm.events.v1 import tickets_pb2
from crm.mailer.v1 import mailer_pb2, mailer_pb2_grpc
from crm.platform.v1 import attachments_pb2
from crm_events import tickets
from crm_mailer.app import SERVICE
from crm_mailer.outbound import delivery, rules
from crm_mailer.outbound.models import OutboundAttempt, OutboundMessage
from crm_mailer.outbound.transport import MaildirTransport
from crm_platform.attachments import grpc as attachments_grpc
from crm_platform.attachments.store import AttachmentStore
from crm_platform.events import pack
from crm_platform.grpc_server import GrpcServer
from crm_platform.ids import new_id
from crm_platform.metrics import for_service
from crm_platform.settings import load
from tests.integration.platform.attachments.conftest import store_on
from tests.support import service_keys
from tests.support.stack import ContactsPeer, RunningService, contacts_peer, running, service_env

REPORT = b"%PDF-1.7\n" + os.urandom(120_000)


@dataclass
class Stack:
    mailer: RunningService
    contacts: ContactsPeer
    files: AttachmentStore  # kept by "tickets", served on its own gRPC server
    files_server: GrpcServer
    folder: Path

    def keep(self, workspace_id: str, data: bytes, filename: str = "report.pdf") -> attachments_pb2.AttachmentRef:
        with self.files.database.unit_of_work() as uow:
            stored = self.files.put(
                uow.session, data, workspace_id=workspace_id, filename=filename, content_type="application/pdf"
            )
            uow.commit()
        return stored.ref()

    def comment_with(self, workspace_id: str, contact_id: str, *refs: attachments_pb2.AttachmentRef) -> None:
        comment = tickets_pb2.CommentAdded(
            ticket_id=new_id(),
            comment_id=new_id(),
            contact_id=contact_id,
            ticket_subject="Your invoice",
            body="Here is the invoice you asked for.",
            author_id="agent-1",
            public=True,
            attachments=list(refs),
        )
        self.mailer.consume(
            pack(tickets.COMMENT_PUBLIC_ADDED, comment, workspace_id=workspace_id, producer="tickets").body
        )

    def deliver(self) -> dict[str, int]:
        return delivery.deliver_due(
            self.mailer.rt.database, MaildirTransport(self.folder), delivery.Composer.of(self.mailer.rt)
        )

    def mails(self) -> list[EmailMessage]:
        if not self.folder.exists():
            return []
        box = mailbox.Maildir(self.folder, create=False)
        return [message_from_bytes(box.get_bytes(k), policy=policy.default) for k in box.keys()]  # type: ignore[misc]

    def outbound(self) -> tuple[OutboundMessage, list[OutboundAttempt]]:
        with self.mailer.rt.database.unit_of_work() as uow:
            [message] = uow.session.scalars(select(OutboundMessage))
            attempts = list(uow.session.scalars(select(OutboundAttempt).order_by(OutboundAttempt.attempted_at)))
            uow.session.expunge_all()
        return message, attempts


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    files = store_on(f"sqlite:///{tmp_path}/tickets-files.db")
    files_server = GrpcServer(
        [(attachments_grpc.binding(files, callers=("mailer",)), for_service("tickets"))],
        address="127.0.0.1:0",
        settings=load("tickets", service_env("tickets", f"sqlite:///{tmp_path}/tickets.db", tmp_path)),
    )
    files_server.start()
    try:
        with (
            contacts_peer(tmp_path) as peer,
            running(
                SERVICE,
                database_url,
                tmp_path,
                CRM_CONTACTS_GRPC_TARGET=peer.target,
                CRM_TICKETS_GRPC_TARGET=f"127.0.0.1:{files_server.port}",
                MAILER_FROM="Acme Support <support@acme.test>",
                MAILER_ATTACHMENTS_MAX_BYTES="200000",
                MAILER_ATTACHMENTS_TOTAL_MAX_BYTES="300000",
            ) as mailer,
        ):
            yield Stack(mailer, peer, files, files_server, tmp_path / "sent")
    finally:
        files_server.stop(grace=0)


def test_a_comments_files_are_fetched_from_their_owner_and_attached(stack: Stack) -> None:
    acme = stack.contacts.workspace()
    ana = stack.contacts.contact(acme, email="ana@example.com")
    report = stack.keep(acme, REPORT, filename="factura año.pdf")
    notes = stack.keep(acme, b"%PDF-1.7 notes", filename="notes.pdf")

    stack.comment_with(acme, ana, report, notes)
    outcomes = stack.deliver()

    assert outcomes == {"sent": 1, "deferred": 0, "failed": 0}
    [mail] = stack.mails()
    assert mail.get_content_type() == "multipart/mixed"
    files = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert files == {"factura año.pdf": REPORT, "notes.pdf": b"%PDF-1.7 notes"}
    assert mail.get_body(preferencelist=("plain",)).get_content() == "Here is the invoice you asked for.\n"


def test_a_file_the_owner_cannot_find_defers_the_mail_then_fails_it_with_the_reason(stack: Stack) -> None:
    acme = stack.contacts.workspace()
    ana = stack.contacts.contact(acme)
    missing = stack.keep(acme, REPORT)
    missing.attachment_id = new_id()

    stack.comment_with(acme, ana, missing)
    first = stack.deliver()
    message, [attempt] = stack.outbound()

    assert first == {"sent": 0, "deferred": 1, "failed": 0}
    assert message.status == "queued"
    assert attempt.detail is not None and f"attachment {missing.attachment_id}" in attempt.detail
    with stack.mailer.rt.database.unit_of_work() as uow:  # the last try of its retries, due now
        row = uow.session.get(OutboundMessage, message.id)
        assert row is not None
        row.attempts, row.next_attempt_at = rules.MAX_ATTEMPTS - 1, row.created_at
        uow.commit()
    last = stack.deliver()
    message, _ = stack.outbound()
    assert last == {"sent": 0, "deferred": 0, "failed": 1}
    assert message.status == "failed"
    assert message.last_error is not None and "attachment not fetched" in message.last_error
    assert stack.mails() == []


def test_a_file_whose_bytes_are_not_the_references_fails_the_mail_at_once(stack: Stack) -> None:
    acme = stack.contacts.workspace()
    ana = stack.contacts.contact(acme)
    forged = stack.keep(acme, REPORT)
    forged.sha256 = hashlib.sha256(b"something else").hexdigest()

    stack.comment_with(acme, ana, forged)
    outcomes = stack.deliver()
    message, _ = stack.outbound()

    assert outcomes == {"sent": 0, "deferred": 0, "failed": 1}
    assert message.last_error is not None and "sha256" in message.last_error
    assert stack.mails() == []


def test_a_file_of_another_workspace_is_never_attached(stack: Stack) -> None:
    acme = stack.contacts.workspace()
    ana = stack.contacts.contact(acme)
    theirs = stack.keep(stack.contacts.workspace(name="Other"), REPORT)

    stack.comment_with(acme, ana, theirs)
    stack.deliver()
    message, [attempt] = stack.outbound()

    assert (message.status, attempt.outcome) == ("queued", "deferred")
    assert stack.mails() == []


def test_the_owner_down_defers_the_mail(stack: Stack) -> None:
    acme = stack.contacts.workspace()
    ana = stack.contacts.contact(acme)
    report = stack.keep(acme, REPORT)
    stack.files_server.stop(grace=0)

    stack.comment_with(acme, ana, report)
    down = stack.deliver()

    assert down == {"sent": 0, "deferred": 1, "failed": 0}
    assert stack.mails() == []


def test_send_email_refuses_references_over_the_limits_before_queueing(stack: Stack) -> None:
    acme = stack.contacts.workspace()
    ana = stack.contacts.contact(acme)
    mailer_server = GrpcServer(
        [(b, stack.mailer.rt.metrics) for b in SERVICE.grpc_bindings(stack.mailer.rt)],
        address="127.0.0.1:0",
        settings=stack.mailer.rt.settings,
    )
    mailer_server.start()
    report = stack.keep(acme, REPORT)
    huge = attachments_pb2.AttachmentRef(
        service="tickets", attachment_id=new_id(), filename="huge.bin", size=250_000, sha256="0" * 64
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{mailer_server.port}") as channel:
            stub = mailer_pb2_grpc.MailerServiceStub(channel)
            metadata = service_keys.credentials("tickets", "crm.mailer.v1.MailerService", workspace_id=acme)

            def send(*refs: attachments_pb2.AttachmentRef) -> mailer_pb2.Delivery:
                request = mailer_pb2.SendEmailRequest(
                    request_id=new_id(), contact_id=ana, subject="Invoice", text_body="Attached.", attachments=refs
                )
                return stub.SendEmail(request, metadata=metadata, timeout=10)

            with pytest.raises(grpc.RpcError) as too_big:
                send(huge)
            with pytest.raises(grpc.RpcError) as too_much:
                send(report, report, report)
            queued = send(report)
    finally:
        mailer_server.stop(grace=0)

    assert too_big.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert too_much.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert queued.status == "queued"
    assert stack.deliver() == {"sent": 1, "deferred": 0, "failed": 0}
    stack.outbound()  # one mail queued: the refused requests left nothing
    [mail] = stack.mails()
    assert [part.get_content() for part in mail.iter_attachments()] == [REPORT]
