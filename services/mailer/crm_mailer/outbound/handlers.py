"""What the mailer does when other services' events arrive."""

from __future__ import annotations

from collections.abc import Sequence

from crm.events.v1 import tickets_pb2
from crm_events import tickets
from crm_mailer.attachments import limits_of
from crm_mailer.models import visibility
from crm_mailer.outbound import attachments, service
from crm_mailer.outbound.settings import sender_of
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.consumer import Subscriptions
from crm_platform.db import UnitOfWork
from crm_platform.errors import InvalidInput, phrase
from crm_platform.events import Event
from crm_platform.service import Runtime

subscriptions = Subscriptions()
visibility.subscribe(subscriptions)  # the copy of who may see which contact's mail


def _comment_request(rt: Runtime, event: Event[tickets_pb2.CommentAdded]) -> service.MailRequest:
    comment = event.payload
    errors = attachments.field_errors(comment.attachments, limits_of(rt.service_settings))
    if errors:  # never mailable: dead-lettered with the reason
        raise InvalidInput(phrase("the comment's attachments cannot be mailed"), errors=errors)
    return service.ticket_comment_request(
        workspace_id=event.workspace_id,
        source_event_id=event.event_id,
        ticket_id=comment.ticket_id,
        contact_id=comment.contact_id,
        ticket_subject=comment.ticket_subject,
        body=comment.body,
        author_id=comment.author_id or None,
        attachments=tuple(attachments.as_row(ref) for ref in comment.attachments),
        ticket_number=comment.ticket_number,
        html_body=comment.body_html or None,
        with_signature=comment.with_signature,
    )


def mail_public_comments(rt: Runtime, uow: UnitOfWork, batch: Sequence[Event[tickets_pb2.CommentAdded]]) -> None:
    """A batch of one workspace's comments: one BatchGetContacts for all of them (a comment whose attachments
    cannot be mailed fails the batch, which the consumer then hands one at a time, so only it is dead-lettered)."""
    requests = [_comment_request(rt, event) for event in batch]
    service.queue_many(uow, GrpcContactDirectory(rt.grpc), sender_of(rt.service_settings), requests)


@subscriptions.on(tickets.COMMENT_PUBLIC_ADDED, batch=mail_public_comments)
def mail_public_comment(rt: Runtime, uow: UnitOfWork, event: Event[tickets_pb2.CommentAdded]) -> None:
    service.queue(uow, GrpcContactDirectory(rt.grpc), sender_of(rt.service_settings), _comment_request(rt, event))
