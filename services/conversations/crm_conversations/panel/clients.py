"""What the side panel asks other services: the contact's full card, its notes and its source's name (contacts),
and its tickets (tickets)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc
from crm.tickets.v1 import tickets_pb2, tickets_pb2_grpc
from crm_platform import context
from crm_platform.clients.contacts import IDEMPOTENT_READS
from crm_platform.errors import NotFound
from crm_platform.grpc_client import GrpcClients, Pending


@dataclass(frozen=True)
class ContactDetails:
    id: str
    name: str
    email: str | None
    phone: str | None
    created_at: datetime | None
    language: str | None
    source_id: str | None = None


@dataclass(frozen=True)
class NoteLine:
    id: str
    body: str
    author_id: str
    pinned: bool
    created_at: datetime | None


@dataclass(frozen=True)
class SourceName:
    id: str
    key: str | None
    name_es: str
    name_en: str


@dataclass(frozen=True)
class TicketLine:
    id: str
    subject: str
    status: str


class PanelAnswers(Protocol):
    """The panel's calls, all sent at once by ``PanelSources.ask``; each method waits for its own answer."""

    def assignee_name(self) -> str | None:
        """None for no such member; raises Unavailable when contacts cannot be asked."""
        ...

    def contact(self) -> ContactDetails:
        """Raises NotFound for a contact gone, Unavailable when contacts cannot be asked."""
        ...

    def notes(self) -> list[NoteLine]:
        """Pinned first, then newest; raises NotFound or Unavailable like ``contact``."""
        ...

    def tickets(self) -> list[TicketLine]:
        """Raises Unavailable when tickets cannot be asked."""
        ...


class PanelSources(Protocol):
    def ask(self, contact_id: str, *, assignee_id: str | None, notes: int, tickets: int) -> PanelAnswers:
        """Sends every call the panel needs side by side, so it waits for the slowest one, not for their sum."""
        ...

    def source(self, source_id: str) -> SourceName:
        """Raises NotFound for a source gone, Unavailable when contacts cannot be asked."""
        ...


# A workspace has a handful of sources that seldom change: their names are kept a minute per process, so a panel
# asks contacts for the card, the notes and the tickets, not also for the source each time.
SOURCE_SECONDS, SOURCES_KEPT = 60.0, 10_000
_sources: dict[tuple[str, str], tuple[float, SourceName]] = {}
_sources_lock = threading.Lock()


class GrpcPanelSources:
    def __init__(self, clients: GrpcClients, *, tickets_timeout: float = 1.0) -> None:
        self._contacts = clients.client(
            "contacts",
            contacts_pb2_grpc.ContactsServiceStub,
            "crm.contacts.v1.ContactsService",
            idempotent=IDEMPOTENT_READS,
        )
        # Not retried and on a short deadline: the panel answers without tickets rather than wait for them.
        self._tickets = clients.client("tickets", tickets_pb2_grpc.TicketsServiceStub, "crm.tickets.v1.TicketsService")
        self._tickets_timeout = tickets_timeout

    def ask(self, contact_id: str, *, assignee_id: str | None, notes: int, tickets: int) -> GrpcPanelAnswers:
        return GrpcPanelAnswers(
            assignee=self._contacts.start("GetMember", contacts_pb2.GetMemberRequest(member_id=assignee_id))
            if assignee_id
            else None,
            contact=self._contacts.start("GetContact", contacts_pb2.GetContactRequest(contact_id=contact_id)),
            notes=self._contacts.start(
                "ListContactNotes", contacts_pb2.ListContactNotesRequest(contact_id=contact_id, limit=notes)
            ),
            tickets=self._tickets.start(
                "ListContactTickets",
                tickets_pb2.ListContactTicketsRequest(contact_id=contact_id, limit=tickets),
                timeout=self._tickets_timeout,
            ),
        )

    def source(self, source_id: str) -> SourceName:
        caller = context.current_caller()
        key = (caller.workspace_id if caller else "", source_id)
        kept = _sources.get(key)
        if kept is not None and time.monotonic() - kept[0] < SOURCE_SECONDS:
            return kept[1]
        found = self._contacts.call("GetSource", contacts_pb2.GetSourceRequest(source_id=source_id))
        named = SourceName(id=found.id, key=found.key or None, name_es=found.name_es, name_en=found.name_en)
        with _sources_lock:
            if len(_sources) >= SOURCES_KEPT:
                _sources.clear()
            _sources[key] = (time.monotonic(), named)
        return named


class GrpcPanelAnswers:
    def __init__(self, *, assignee: Pending | None, contact: Pending, notes: Pending, tickets: Pending) -> None:
        self._assignee, self._contact, self._notes, self._tickets = assignee, contact, notes, tickets

    def assignee_name(self) -> str | None:
        if self._assignee is None:
            return None
        try:
            return str(self._assignee.result().name)
        except NotFound:
            return None

    def contact(self) -> ContactDetails:
        found = self._contact.result()
        return ContactDetails(
            id=found.id,
            name=found.name,
            email=found.email or None,
            phone=found.phone or None,
            created_at=found.created_at.ToDatetime().replace(tzinfo=None) if found.HasField("created_at") else None,
            language=found.language or None,
            source_id=found.source_id or None,
        )

    def notes(self) -> list[NoteLine]:
        return [
            NoteLine(
                id=n.id,
                body=n.body,
                author_id=n.author_id,
                pinned=n.pinned,
                created_at=n.created_at.ToDatetime().replace(tzinfo=None) if n.HasField("created_at") else None,
            )
            for n in self._notes.result().notes
        ]

    def tickets(self) -> list[TicketLine]:
        return [TicketLine(id=t.id, subject=t.subject, status=t.status) for t in self._tickets.result().tickets]
