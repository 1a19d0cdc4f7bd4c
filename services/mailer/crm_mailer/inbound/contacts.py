"""Who sent a message, asked of the contacts service: ``FindOrCreateContactByEmail`` in the recipient workspace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc
from crm_platform import context
from crm_platform.clients.contacts import IDEMPOTENT_READS, GrpcWorkspaceLookup
from crm_platform.errors import Unavailable
from crm_platform.grpc_client import GrpcClients
from crm_platform.workspaces import WorkspaceCheck


@dataclass(frozen=True)
class Sender:
    contact_id: str
    blocked: bool
    created: bool


class SenderDirectory(Protocol):
    def find_or_create(self, *, workspace_id: str, address: str, name: str) -> Sender: ...

    def workspace_exists(self, workspace_id: str) -> bool:
        """Raises ``TryLater`` when contacts cannot be asked."""
        ...


class TryLater(Exception):
    """Contacts could not be asked: the SMTP session answers 451, the sender's server tries again."""


def _as_mailer(workspace_id: str) -> context.Caller:
    return context.Caller(workspace_id=workspace_id, user_id="system:mailer", role="system")


class GrpcSenderDirectory:
    def __init__(self, clients: GrpcClients) -> None:
        self._client = clients.client(
            "contacts",
            contacts_pb2_grpc.ContactsServiceStub,
            "crm.contacts.v1.ContactsService",
            idempotent=IDEMPOTENT_READS,
        )
        lookup = GrpcWorkspaceLookup(clients)

        def exists(workspace_id: str) -> bool:
            with context.bound(caller=_as_mailer(workspace_id)):
                try:
                    return lookup(workspace_id)
                except Unavailable as error:  # WorkspaceCheck would say yes: at RCPT time, ask again later
                    raise TryLater(str(error)) from error

        # Cached as for HTTP requests (10 minutes known, 5 seconds unknown): RCPT costs no call most times.
        self._workspaces = WorkspaceCheck(exists)

    def find_or_create(self, *, workspace_id: str, address: str, name: str) -> Sender:
        with context.bound(caller=_as_mailer(workspace_id)):
            found = self._client.call(
                "FindOrCreateContactByEmail",
                contacts_pb2.FindOrCreateContactByEmailRequest(address=address, name=name),
            )
        return Sender(contact_id=found.contact.id, blocked=found.contact.blocked, created=found.created)

    def workspace_exists(self, workspace_id: str) -> bool:
        return self._workspaces.exists(workspace_id)
