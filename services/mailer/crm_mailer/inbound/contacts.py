"""Who sent a message, and whether a recipient workspace exists, asked of the contacts service in that workspace
through the platform's client (``crm_platform.clients.contacts``: ``find_or_create_by_email``, the workspace
lookup), as the mailer: no gRPC client of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from crm_platform import context
from crm_platform.clients.contacts import ContactDirectory, GrpcContactDirectory, GrpcWorkspaceLookup
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


class Senders:
    """SenderDirectory over the platform's ContactDirectory (the real one, or its fake in tests) and a
    workspace lookup (``workspace id -> exists``, raising Unavailable when it cannot say)."""

    def __init__(self, contacts: ContactDirectory, lookup: Callable[[str], bool]) -> None:
        self._contacts = contacts

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
            card, created = self._contacts.find_or_create_by_email(address, name=name)
        return Sender(contact_id=card.id, blocked=card.blocked, created=created)

    def workspace_exists(self, workspace_id: str) -> bool:
        return self._workspaces.exists(workspace_id)


class GrpcSenderDirectory(Senders):
    def __init__(self, clients: GrpcClients) -> None:
        super().__init__(GrpcContactDirectory(clients), GrpcWorkspaceLookup(clients))
