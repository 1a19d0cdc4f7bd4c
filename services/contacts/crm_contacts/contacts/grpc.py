"""gRPC API of contacts, for the other services."""

from __future__ import annotations

from typing import Any

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc
from crm_contacts.contacts import service
from crm_contacts.contacts.models import Contact
from crm_platform import context
from crm_platform.service import Runtime


def to_message(contact: Contact) -> contacts_pb2.Contact:
    message = contacts_pb2.Contact(
        id=contact.id,
        workspace_id=contact.workspace_id,
        name=contact.name,
        email=contact.email or "",
        phone=contact.phone or "",
    )
    message.created_at.FromDatetime(contact.created_at)
    return message


class ContactsServicer(contacts_pb2_grpc.ContactsServiceServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def GetContact(self, request: contacts_pb2.GetContactRequest, _context: Any) -> contacts_pb2.Contact:  # noqa: N802
        caller = context.current_caller()
        assert caller is not None  # the server's interceptor refuses calls without a workspace
        contact = service.get(
            self.rt.database.unit_of_work(), workspace_id=caller.workspace_id, contact_id=request.contact_id
        )
        return to_message(contact)

    def BatchGetContacts(  # noqa: N802
        self, request: contacts_pb2.BatchGetContactsRequest, _context: Any
    ) -> contacts_pb2.BatchGetContactsResponse:
        caller = context.current_caller()
        assert caller is not None
        contacts = service.batch_get(
            self.rt.database.unit_of_work(), workspace_id=caller.workspace_id, contact_ids=list(request.contact_ids)
        )
        return contacts_pb2.BatchGetContactsResponse(contacts=[to_message(c) for c in contacts])
