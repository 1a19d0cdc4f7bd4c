"""What other services ask the contacts service: does this contact exist here, and how to reach it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.grpc_client import GrpcClients

# Every client of ContactsService in a process shares one channel, whose retry policy is set by the first
# client created: each names all the reads, so none loses its retries to another.
IDEMPOTENT_READS = ("GetContact", "BatchGetContacts", "GetWorkspace")


@dataclass(frozen=True)
class ContactCard:
    id: str
    name: str
    email: str | None
    phone: str | None


class ContactDirectory(Protocol):
    def get(self, contact_id: str) -> ContactCard:
        """The contact in the caller's workspace; raises NotFound otherwise."""
        ...


def require_contact(contacts: ContactDirectory, contact_id: str, *, what: str) -> ContactCard:
    """The contact a new ``what`` (ticket, conversation, ...) is for; an unknown one is a field error."""
    try:
        return contacts.get(contact_id)
    except NotFound:
        raise InvalidInput(
            f"the {what} has invalid fields",
            errors=[FieldError("contact_id", f"no contact {contact_id} in this workspace", "unknown_contact")],
        ) from None


class GrpcContactDirectory:
    """ContactDirectory over gRPC; reads are retried on UNAVAILABLE and bounded by a deadline."""

    def __init__(self, clients: GrpcClients) -> None:
        self._client = clients.client(
            "contacts",
            contacts_pb2_grpc.ContactsServiceStub,
            "crm.contacts.v1.ContactsService",
            idempotent=IDEMPOTENT_READS,
        )

    def get(self, contact_id: str) -> ContactCard:
        found = self._client.call("GetContact", contacts_pb2.GetContactRequest(contact_id=contact_id))
        return ContactCard(id=found.id, name=found.name, email=found.email or None, phone=found.phone or None)


class GrpcWorkspaceLookup:
    """Whether the caller's workspace exists, asked of the contacts service (which owns workspaces)."""

    def __init__(self, clients: GrpcClients) -> None:
        self._client = clients.client(
            "contacts",
            contacts_pb2_grpc.ContactsServiceStub,
            "crm.contacts.v1.ContactsService",
            idempotent=IDEMPOTENT_READS,
        )

    def __call__(self, workspace_id: str) -> bool:
        """``workspace_id`` is the caller's: the call carries it as ``x-workspace-id``."""
        try:
            found = self._client.call("GetWorkspace", contacts_pb2.GetWorkspaceRequest())
        except NotFound:
            return False
        return bool(found.id == workspace_id)
