"""Event envelopes: wrap a protobuf payload with id, type, workspace, time and correlation id, and back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message

from crm.events.v1 import envelope_pb2
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


def pack(event_type: str, payload: Message, *, workspace_id: str, producer: str) -> Outgoing:
    envelope = envelope_pb2.Envelope(
        event_id=new_id(),
        type=event_type,
        workspace_id=workspace_id,
        correlation_id=context.current_request_id() or "",
        producer=producer,
    )
    envelope.occurred_at.FromDatetime(datetime.now(UTC))
    envelope.payload.Pack(payload)
    return Outgoing(envelope.event_id, event_type, workspace_id, envelope.SerializeToString())


def unpack(body: bytes) -> envelope_pb2.Envelope:
    envelope = envelope_pb2.Envelope()
    try:
        envelope.ParseFromString(body)
    except DecodeError as exc:
        raise PoisonMessage(f"undecodable envelope: {exc}") from exc
    if not envelope.event_id or not envelope.type or not envelope.workspace_id:
        raise PoisonMessage("envelope lacks event_id, type or workspace_id")
    return envelope


def payload_of(envelope: envelope_pb2.Envelope, message_type: type[M]) -> M:
    payload = message_type()
    any_payload: any_pb2.Any = envelope.payload
    if not any_payload.Is(payload.DESCRIPTOR):
        raise PoisonMessage(f"{envelope.type} carries {any_payload.type_url}, expected {payload.DESCRIPTOR.full_name}")
    try:
        any_payload.Unpack(payload)
    except DecodeError as exc:
        raise PoisonMessage(f"undecodable {payload.DESCRIPTOR.full_name}: {exc}") from exc
    return payload


def occurred_at(envelope: envelope_pb2.Envelope) -> datetime:
    return envelope.occurred_at.ToDatetime(tzinfo=UTC)
