"""What each audience receives of an event, and who may receive a logged event: pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from crm_events import conversations as events

# The event types the stream carries (the catalogue's crm_events.conversations), and the payload fields a
# visitor gets of each one it gets at all.
VISITOR_FIELDS: dict[str, tuple[str, ...]] = {
    events.MESSAGE_ADDED.name: ("message_id", "body", "direction", "author_type", "automatic"),
    events.CONVERSATION_ARCHIVED.name: ("to_status",),
    events.CONVERSATION_REOPENED.name: ("to_status",),
}
STREAMED = frozenset(
    event.name
    for event in (
        events.CONVERSATION_STARTED,
        events.MESSAGE_ADDED,
        events.CONVERSATION_ASSIGNED,
        events.CONVERSATION_ARCHIVED,
        events.CONVERSATION_REOPENED,
        events.CONVERSATION_UPDATED,
        events.CONVERSATION_DELETED,
        events.CONVERSATION_READ,
    )
)
NOTE = "note"


@dataclass(frozen=True)
class Entry:
    """A log row to write for an event: what agents get, what visitors get (None: nothing)."""

    conversation_id: str
    contact_id: str | None
    data: dict[str, Any]
    visitor_data: dict[str, Any] | None
    ends_visitor_stream: bool


def entry_of(event_type: str, payload: Message) -> Entry | None:
    """The log entry of an emitted event; None for a type the stream does not carry."""
    if event_type not in STREAMED:
        return None
    data = MessageToDict(payload, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    conversation_id = str(data.get("conversation_id") or "")
    if not conversation_id:
        return None
    fields = VISITOR_FIELDS.get(event_type)
    visitor_data = None
    if fields is not None and data.get("direction") != NOTE:
        visitor_data = {name: data[name] for name in fields if name in data}
    return Entry(
        conversation_id=conversation_id,
        contact_id=str(data.get("contact_id") or "") or None,
        data=data,
        visitor_data=visitor_data,
        ends_visitor_stream=event_type == events.CONVERSATION_DELETED.name,
    )


@dataclass(frozen=True)
class Audience:
    """Who a connection is: an agent or admin of a workspace, or a visitor of one conversation."""

    workspace_id: str
    user_id: str
    is_admin: bool = False
    conversation_id: str | None = None  # set: a visitor of this conversation only
    expires_at: float | None = None  # when its bearer token expires (time.time()): the stream ends then

    @property
    def is_visitor(self) -> bool:
        return self.conversation_id is not None


def agent_may_see(audience: Audience, *, agents_see_all: bool, owner_id: str | None, deleted: bool) -> bool:
    """crm_platform.visibility's rule: admins every contact, agents all or (as the workspace says) their own."""
    if audience.is_admin or agents_see_all:
        return True
    return not deleted and owner_id is not None and owner_id == audience.user_id


def parse_cursor(value: object) -> int | None:
    """A client's ``last_event_id``: a non-negative decimal string (or int); None when absent or malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    return None
