"""Event envelopes: wrap a protobuf payload with id, type, workspace, time and correlation id, and back.

Event types come from the catalogue (``crm_events``): ``pack`` takes one and refuses a payload of another
message type or a producer that is not the type's own; ``decode`` gives a consumer the typed ``Event``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message

from crm.events.v1 import envelope_pb2
from crm_events import EventType
from crm_platform import context
from crm_platform.ids import new_id

M = TypeVar("M", bound=Message)


class PoisonMessage(Exception):
    """A message that can never be handled (undecodable, wrong payload type); it goes to the dead-letter queue."""


@dataclass(frozen=True)
class Outgoing:
    """One event ready for the bus: the routing key is the event type."""

    event_id: str
    event_type: str
    workspace_id: str
    body: bytes


@dataclass(frozen=True)
class Event(Generic[M]):
    """One received event, its payload decoded as its type's message: what a consumer's handler gets."""

    type: EventType[M]
    payload: M
    envelope: envelope_pb2.Envelope

    @property
    def event_id(self) -> str:
        return self.envelope.event_id

    @property
    def workspace_id(self) -> str:
        return self.envelope.workspace_id

    @property
    def producer(self) -> str:
        return self.envelope.producer

    @property
    def correlation_id(self) -> str:
        return self.envelope.correlation_id

    @property
    def occurred_at(self) -> datetime:
        return occurred_at(self.envelope)


def pack(event_type: EventType[M], payload: M, *, workspace_id: str, producer: str) -> Outgoing:
    """The envelope of one event; TypeError for a payload that is not the type's message, ValueError when
    ``producer`` is not the service that owns the type (a service publishes only its own catalogue's events)."""
    if not isinstance(event_type, EventType):
        raise TypeError(f"an event type comes from the catalogue (crm_events), not {event_type!r}")
    if not isinstance(payload, event_type.payload):
        raise TypeError(
            f"{event_type.name} carries {event_type.payload.DESCRIPTOR.full_name}, not {type(payload).__name__}"
        )
    if producer != event_type.producer:
        raise ValueError(f"{producer} may not publish {event_type.name}: only {event_type.producer} does")
    envelope = envelope_pb2.Envelope(
        event_id=new_id(),
        type=event_type.name,
        workspace_id=workspace_id,
        correlation_id=context.current_request_id() or "",
        producer=producer,
    )
    envelope.occurred_at.FromDatetime(datetime.now(UTC))
    envelope.payload.Pack(payload)
    return Outgoing(envelope.event_id, event_type.name, workspace_id, envelope.SerializeToString())


def unpack(body: bytes) -> envelope_pb2.Envelope:
    envelope = envelope_pb2.Envelope()
    try:
        envelope.ParseFromString(body)
    except DecodeError as exc:
        raise PoisonMessage(f"undecodable envelope: {exc}") from exc
    if not envelope.event_id or not envelope.type or not envelope.workspace_id:
        raise PoisonMessage("envelope lacks event_id, type or workspace_id")
    return envelope


def decode(envelope: envelope_pb2.Envelope, event_type: EventType[M]) -> Event[M]:
    """The envelope as an event of ``event_type``; PoisonMessage when it is another type or its payload is not
    that type's message."""
    if envelope.type != event_type.name:
        raise PoisonMessage(f"{envelope.type} is not {event_type.name}")
    return Event(event_type, payload_of(envelope, event_type.payload), envelope)


def payload_of(envelope: envelope_pb2.Envelope, message_type: type[M]) -> M:
    payload = message_type()
    any_payload: any_pb2.Any = envelope.payload
    if not any_payload.Is(payload.DESCRIPTOR):  # type: ignore[arg-type]  # the stubs' Descriptor vs upb's
        raise PoisonMessage(f"{envelope.type} carries {any_payload.type_url}, expected {payload.DESCRIPTOR.full_name}")
    try:
        any_payload.Unpack(payload)
    except DecodeError as exc:
        raise PoisonMessage(f"undecodable {payload.DESCRIPTOR.full_name}: {exc}") from exc
    return payload


def occurred_at(envelope: envelope_pb2.Envelope) -> datetime:
    return envelope.occurred_at.ToDatetime(tzinfo=UTC)
