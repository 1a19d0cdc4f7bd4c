"""gRPC API of contacts, for the other services (service-to-service: workspace-wide, deleted contacts hidden)."""

from __future__ import annotations

from typing import Any

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc
from crm_contacts.contacts import create, emailstatus, reads
from crm_contacts.members.grpc import MembersRpc
from crm_contacts.notes.grpc import NotesRpc
from crm_contacts.record import access, represent
from crm_contacts.sources.grpc import SourcesRpc
from crm_contacts.workspaces.grpc import WorkspacesRpc
from crm_platform import context
from crm_platform.service import Runtime


def to_message(summary: represent.Summary) -> contacts_pb2.Contact:
    message = contacts_pb2.Contact(
        id=summary.id,
        workspace_id=summary.workspace_id,
        name=summary.name,
        email=represent.primary_email(summary) or "",
        phone=represent.primary_phone(summary) or "",
        type=summary.type_key or "",
        stage_id=summary.stage_id or "",
        status=summary.status,
        owner_id=summary.owner_id or "",
        blocked=summary.blocked,
        emails=[
            contacts_pb2.EmailAddress(
                address=e.address, primary=e.is_primary, status=e.status, inactive_reason=e.inactive_reason or ""
            )
            for e in summary.emails
        ],
        phones=[p.number for p in sorted(summary.phones, key=lambda p: not p.is_primary)],
        campaign_eligible=represent.campaign_eligible(summary),
        language=summary.language or "",
        source_id=summary.source_id or "",
    )
    message.created_at.FromDatetime(summary.created_at)
    return message


def record_message(record: reads.Record) -> contacts_pb2.Contact:
    """The message of a contact loaded with the ORM (the other reads), built like GetContact's."""
    return to_message(represent.summary(record.contact, record.type_key))


class ContactsServicer(MembersRpc, NotesRpc, SourcesRpc, WorkspacesRpc, contacts_pb2_grpc.ContactsServiceServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def GetContact(self, request: contacts_pb2.GetContactRequest, _context: Any) -> contacts_pb2.Contact:  # noqa: N802
        summary = reads.get_summary(
            self.rt.database, workspace_id=context.require_caller().workspace_id, contact_id=request.contact_id
        )
        return to_message(summary)

    def BatchGetContacts(  # noqa: N802
        self, request: contacts_pb2.BatchGetContactsRequest, _context: Any
    ) -> contacts_pb2.BatchGetContactsResponse:
        records = reads.batch_get(
            self.rt.database.unit_of_work(),
            workspace_id=context.require_caller().workspace_id,
            contact_ids=list(request.contact_ids),
        )
        return contacts_pb2.BatchGetContactsResponse(contacts=[record_message(r) for r in records])

    def FindContactsByEmail(  # noqa: N802
        self, request: contacts_pb2.FindContactsByEmailRequest, _context: Any
    ) -> contacts_pb2.FindContactsResponse:
        records = reads.find_by_email(
            self.rt.database.unit_of_work(), workspace_id=context.require_caller().workspace_id, address=request.address
        )
        return contacts_pb2.FindContactsResponse(contacts=[record_message(r) for r in records])

    def FindOrCreateContactByEmail(  # noqa: N802
        self, request: contacts_pb2.FindOrCreateContactByEmailRequest, _context: Any
    ) -> contacts_pb2.FindOrCreateContactByEmailResponse:
        caller = context.require_caller()
        record, created = create.find_or_create_by_email(
            self.rt.database.unit_of_work(),
            workspace_id=caller.workspace_id,
            address=request.address,
            name=request.name,
            source_key=request.source_key,
            actor_id=caller.user_id,
        )
        return contacts_pb2.FindOrCreateContactByEmailResponse(contact=record_message(record), created=created)

    def IsEmailSendable(  # noqa: N802
        self, request: contacts_pb2.IsEmailSendableRequest, _context: Any
    ) -> contacts_pb2.IsEmailSendableResponse:
        answer = emailstatus.is_email_sendable(
            self.rt.database.unit_of_work(),
            workspace_id=context.require_caller().workspace_id,
            address=request.address,
            campaign=request.campaign,
        )
        return contacts_pb2.IsEmailSendableResponse(sendable=answer.sendable, reason=answer.reason)

    def GetContactAccess(  # noqa: N802
        self, request: contacts_pb2.GetContactAccessRequest, _context: Any
    ) -> contacts_pb2.ContactAccess:
        with self.rt.database.unit_of_work() as uow:
            answer = access.access_of(uow.session, context.require_caller(), request.contact_id)
        return contacts_pb2.ContactAccess(
            contact_id=request.contact_id,
            owner_id=answer.owner_id or "",
            agents_see_all=answer.agents_see_all,
            visible=answer.visible,
        )
