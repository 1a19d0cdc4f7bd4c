"""gRPC API of the mailer, for the other services."""

from __future__ import annotations

import uuid
from typing import Any

from crm.mailer.v1 import mailer_pb2, mailer_pb2_grpc
from crm_mailer.attachments import limits_of
from crm_mailer.outbound import attachments, represent, service
from crm_mailer.outbound.models import CONVERSATION_MESSAGE, DIRECT
from crm_mailer.outbound.settings import sender_of
from crm_platform import context
from crm_platform.attachments.rules import Limits
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.errors import FieldError, InvalidInput, phrase
from crm_platform.service import Runtime

MAX_SUBJECT, MAX_BODY = 400, 1_000_000
THREAD_KINDS = ("ticket", "conversation")  # what a SendEmail's thread_id may name; the first is the default


class MailerServicer(mailer_pb2_grpc.MailerServiceServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def GetDeliveryBySourceEvent(  # noqa: N802
        self, request: mailer_pb2.GetDeliveryBySourceEventRequest, _context: Any
    ) -> mailer_pb2.Delivery:
        caller = context.require_caller()
        message = service.get_by_source_event(
            self.rt.database.unit_of_work(), caller=caller, source_event_id=request.source_event_id
        )
        return represent.delivery(message)

    def SendEmail(self, request: mailer_pb2.SendEmailRequest, _context: Any) -> mailer_pb2.Delivery:  # noqa: N802
        """Queue one mail in the mailer's database, in the transaction that records the request id."""
        caller = context.require_caller()
        _check(request, limits_of(self.rt.service_settings))
        thread_kind = request.thread_kind or THREAD_KINDS[0]
        mail = service.MailRequest(
            workspace_id=caller.workspace_id,
            source_event_id=str(uuid.UUID(request.request_id)),
            contact_id=request.contact_id,
            subject=request.subject,
            text_body=request.text_body,
            html_body=request.html_body or None,
            ticket_id=str(uuid.UUID(request.thread_id)) if request.thread_id else None,
            thread_kind=thread_kind,
            # a conversation's messages come this way (conversations/messages/mailer.py); anything else is direct
            kind=CONVERSATION_MESSAGE if thread_kind == "conversation" and request.thread_id else DIRECT,
            author_id=request.author_id or None,
            append_signature=request.append_signature,
            automatic=request.automatic,
            attachments=tuple(attachments.as_row(ref) for ref in request.attachments),
            recipient_member_id=request.recipient_member_id or None,
        )
        contacts = GrpcContactDirectory(self.rt.grpc)
        with self.rt.database.unit_of_work() as uow:
            message = service.queue(uow, contacts, sender_of(self.rt.service_settings), mail)
            answer = represent.delivery(message)
            uow.commit()
        return answer


def _check(request: mailer_pb2.SendEmailRequest, limits: Limits) -> None:
    errors = []
    # One recipient: a contact, or a member of the workspace (a notification).
    recipient = "recipient_member_id" if request.recipient_member_id else "contact_id"
    for name in ("request_id", recipient, "thread_id"):
        value = getattr(request, name)
        if (value or name != "thread_id") and not _is_uuid(value):
            errors.append(FieldError(name, phrase("must be a UUID"), "invalid"))
    if request.recipient_member_id and request.contact_id:
        errors.append(FieldError("contact_id", phrase("must be empty when recipient_member_id is given"), "invalid"))
    if not request.subject.strip() or len(request.subject) > MAX_SUBJECT:
        errors.append(FieldError("subject", phrase("must be 1 to {n} characters", n=MAX_SUBJECT), "invalid"))
    if not request.text_body.strip() or len(request.text_body) + len(request.html_body) > MAX_BODY:
        errors.append(FieldError("text_body", phrase("must be 1 to {n} characters", n=MAX_BODY), "invalid"))
    if request.thread_kind and request.thread_kind not in THREAD_KINDS:
        errors.append(FieldError("thread_kind", phrase("must be ticket or conversation"), "invalid_choice"))
    errors.extend(attachments.field_errors(request.attachments, limits))
    if errors:
        raise InvalidInput(phrase("the mail has invalid fields"), errors=errors)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
