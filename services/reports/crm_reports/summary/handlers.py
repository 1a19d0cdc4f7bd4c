"""The events the summary counts; the payload is not needed, only the envelope."""

from __future__ import annotations

from typing import Any

from crm.events.v1 import envelope_pb2
from crm_platform.consumer import Subscriptions
from crm_platform.db import UnitOfWork
from crm_platform.events import occurred_at
from crm_reports.summary import service
from crm_reports.summary.rules import KIND_OF_EVENT

subscriptions = Subscriptions()


def count_event(_rt: Any, uow: UnitOfWork, envelope: envelope_pb2.Envelope) -> None:
    service.record(
        uow,
        event_id=envelope.event_id,
        workspace_id=envelope.workspace_id,
        kind=KIND_OF_EVENT[envelope.type],
        occurred_at=occurred_at(envelope),
    )


for _event_type in KIND_OF_EVENT:
    subscriptions.on(_event_type)(count_event)
