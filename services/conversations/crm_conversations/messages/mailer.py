"""What conversations ask the mailer: send one email message of a conversation (gRPC SendEmail)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from crm.mailer.v1 import mailer_pb2, mailer_pb2_grpc
from crm.platform.v1 import attachments_pb2
from crm_platform.grpc_client import GrpcClients


@dataclass(frozen=True)
class OutgoingMail:
    request_id: str  # the message's id: SendEmail is idempotent on it, so a retry never mails twice
    contact_id: str
    subject: str
    text_body: str
    html_body: str
    author_id: str
    thread_id: str  # the conversation: Reply-To token and Message-ID threading bring the reply back to it
    # The message's files by reference: the mailer reads them from conversations (Attachments.Read) when it
    # builds the mail.
    attachments: tuple[attachments_pb2.AttachmentRef, ...] = ()


@dataclass(frozen=True)
class Queued:
    status: str  # queued, suppressed, skipped (the mailer's words)
    rfc822_message_id: str | None


class Mailer(Protocol):
    def send(self, mail: OutgoingMail) -> Queued:
        """Queue the mail; raises Unavailable when the mailer cannot be asked."""
        ...


class NotificationMailer(Protocol):
    def notify(self, *, request_id: str, member_id: str, subject: str, text: str) -> Queued:
        """Queue an automatic mail to a member of the workspace; raises Unavailable when the mailer cannot be
        asked."""
        ...


class GrpcMailer:
    def __init__(self, clients: GrpcClients) -> None:
        # SendEmail is idempotent on request_id, so it is retried like a read.
        self._client = clients.client(
            "mailer", mailer_pb2_grpc.MailerServiceStub, "crm.mailer.v1.MailerService", idempotent=("SendEmail",)
        )

    def send(self, mail: OutgoingMail) -> Queued:
        delivery = self._client.call(
            "SendEmail",
            mailer_pb2.SendEmailRequest(
                request_id=mail.request_id,
                contact_id=mail.contact_id,
                subject=mail.subject,
                text_body=mail.text_body,
                html_body=mail.html_body,
                author_id=mail.author_id,
                append_signature=False,  # already in the bodies, as the conversation shows it
                automatic=False,
                thread_id=mail.thread_id,
                thread_kind="conversation",  # the mailer routes the contact's reply back here
                attachments=list(mail.attachments),
            ),
        )
        return Queued(status=delivery.status, rfc822_message_id=delivery.rfc822_message_id or None)

    def notify(self, *, request_id: str, member_id: str, subject: str, text: str) -> Queued:
        """A notification to a member (their address is contacts', the mailer asks GetMember): automatic mail,
        Auto-Submitted, no thread (a reply to it must not land on the conversation as the contact's)."""
        delivery = self._client.call(
            "SendEmail",
            mailer_pb2.SendEmailRequest(
                request_id=request_id,
                recipient_member_id=member_id,
                subject=subject,
                text_body=text,
                automatic=True,
            ),
        )
        return Queued(status=delivery.status, rfc822_message_id=delivery.rfc822_message_id or None)


@dataclass
class FakeMailer:
    """Mailer in memory for use cases' unit tests: keeps what it was asked to send."""

    sent: list[OutgoingMail] = field(default_factory=list)
    notified: list[tuple[str, str, str, str]] = field(default_factory=list)  # request id, member, subject, text
    answer: str = "queued"

    def notify(self, *, request_id: str, member_id: str, subject: str, text: str) -> Queued:
        self.notified.append((request_id, member_id, subject, text))
        return Queued(status=self.answer, rfc822_message_id=f"<{request_id}@test>")

    def send(self, mail: OutgoingMail) -> Queued:
        self.sent.append(mail)
        return Queued(status=self.answer, rfc822_message_id=f"<{mail.request_id}@test>")
