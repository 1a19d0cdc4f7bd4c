"""What other services ask the contacts service: does this contact exist, may the caller see it, how to reach it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc
from crm_platform.errors import FieldError, InvalidInput, NotFound, Word, phrase
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
    owner_id: str | None = None


@dataclass(frozen=True)
class ContactAccess:
    """Whether the caller may see a contact, with what a service keeps to apply the rule itself."""

    contact_id: str
    owner_id: str | None
    agents_see_all: bool
    visible: bool


class ContactDirectory(Protocol):
    def get(self, contact_id: str) -> ContactCard:
        """The contact in the caller's workspace; raises NotFound otherwise."""
        ...

    def access(self, contact_id: str) -> ContactAccess:
        """The caller's access to a contact of its workspace; raises NotFound for an unknown one."""
        ...


def require_visible_contact(contacts: ContactDirectory, contact_id: str, *, what: str) -> ContactAccess:
    """The caller's access to the contact a new ``what`` (ticket, conversation, ...) is for, in one call: an
    unknown contact is a field error, one the caller may not see is not found (404, as contacts answers it)."""
    try:
        access = contacts.access(contact_id)
    except NotFound:
        raise InvalidInput(
            phrase("the {what} has invalid fields", what=Word(what)),
            errors=[
                FieldError("contact_id", phrase("no contact {id} in this workspace", id=contact_id), "unknown_contact")
            ],
        ) from None
    if not access.visible:
        raise NotFound(f"contact {contact_id} not found")
    return access


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
        return ContactCard(
            id=found.id,
            name=found.name,
            email=found.email or None,
            phone=found.phone or None,
            owner_id=found.owner_id or None,
        )

    def access(self, contact_id: str) -> ContactAccess:
        found = self._client.call("GetContactAccess", contacts_pb2.GetContactAccessRequest(contact_id=contact_id))
        return ContactAccess(
            contact_id=found.contact_id,
            owner_id=found.owner_id or None,
            agents_see_all=found.agents_see_all,
            visible=found.visible,
        )


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
