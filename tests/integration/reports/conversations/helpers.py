"""Conversations' events as the conversations service publishes them, fed to the reports' consumer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from google.protobuf.message import Message

from crm.events.v1 import conversations_pb2 as pb
from crm_platform.ids import new_id
from tests.support.stack import RunningService, envelope


@dataclass
class Conversation:
    """One conversation's history as the bus deliveries its events make (kept, so a test can redeliver them)."""

    workspace_id: str
    id: str = field(default_factory=new_id)
    contact_id: str = field(default_factory=new_id)
    deliveries: list[bytes] = field(default_factory=list)

    def _add(self, event_type: str, payload: Message, at: datetime) -> Conversation:
        self.deliveries.append(
            envelope(event_type, payload, workspace_id=self.workspace_id, producer="conversations", occurred_at=at)
        )
        return self

    def started(self, at: datetime, assignee: str = "", started_by: str = "contact") -> Conversation:
        payload = pb.ConversationStarted(
            conversation_id=self.id,
            contact_id=self.contact_id,
            subject="Hi",
            channel="email",
            assignee_id=assignee,
            started_by=started_by,
        )
        return self._add("conversations.conversation.started", payload, at)

    def assigned(self, at: datetime, to: str, was: str = "") -> Conversation:
        payload = pb.ConversationAssigned(
            conversation_id=self.id, contact_id=self.contact_id, from_assignee_id=was, to_assignee_id=to, actor_id=to
        )
        return self._add("conversations.conversation.assigned", payload, at)

    def _status(self, event_type: str, at: datetime, to: str, assignee: str) -> Conversation:
        payload = pb.ConversationStatusChanged(
            conversation_id=self.id,
            contact_id=self.contact_id,
            from_status="open" if to == "archived" else "archived",
            to_status=to,
            actor_id=assignee or "contact",
            reason=to if to == "archived" else "reopened",
            assignee_id=assignee,
        )
        return self._add(event_type, payload, at)

    def archived(self, at: datetime, assignee: str = "") -> Conversation:
        return self._status("conversations.conversation.archived", at, "archived", assignee)

    def reopened(self, at: datetime, assignee: str = "") -> Conversation:
        return self._status("conversations.conversation.reopened", at, "open", assignee)

    def deleted(self, at: datetime) -> Conversation:
        payload = pb.ConversationDeleted(conversation_id=self.id, contact_id=self.contact_id, actor_id="admin")
        return self._add("conversations.conversation.deleted", payload, at)

    def _message(self, at: datetime, direction: str, author: str, author_type: str, automatic: bool) -> Conversation:
        payload = pb.ConversationMessageAdded(
            conversation_id=self.id,
            message_id=new_id(),
            contact_id=self.contact_id,
            body="...",
            author_id=author,
            direction=direction,
            channel="email",
            author_type=author_type,
            automatic=automatic,
        )
        return self._add("conversations.message.added", payload, at)

    def from_contact(self, at: datetime) -> Conversation:
        return self._message(at, "inbound", self.contact_id, "contact", False)

    def reply(self, at: datetime, member: str, *, automatic: bool = False) -> Conversation:
        return self._message(at, "outbound", member, "member", automatic)

    def note(self, at: datetime, member: str) -> Conversation:
        return self._message(at, "note", member, "member", False)


def feed(reports: RunningService, deliveries: list[bytes]) -> None:
    for body in deliveries:
        reports.consume(body)
