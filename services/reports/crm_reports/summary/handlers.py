"""The events the summary counts; the payload is not needed, only the envelope's id, workspace and time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_platform.consumer import Subscriptions
from crm_platform.db import UnitOfWork
from crm_platform.events import Event
from crm_reports import projection
from crm_reports.summary import service
from crm_reports.summary.rules import KIND_OF_EVENT


def count_event(_rt: Any, uow: UnitOfWork, event: Event[Any]) -> None:
    service.record(
        uow,
        event_id=event.event_id,
        workspace_id=event.workspace_id,
        kind=KIND_OF_EVENT[event.type],
        occurred_at=event.occurred_at,
    )


def count_events(_rt: Any, uow: UnitOfWork, batch: Sequence[Event[Any]]) -> None:
    service.record_many(
        uow,
        [
            {
                "event_id": event.event_id,
                "workspace_id": event.workspace_id,
                "kind": KIND_OF_EVENT[event.type],
                "occurred_at": event.occurred_at,
            }
            for event in batch
        ],
    )


def subscribe(subscriptions: Subscriptions) -> None:
    for event_type in KIND_OF_EVENT:  # every one is a projection's fact too: counted in the projections' runs
        projection.alongside(subscriptions, event_type, count_event, count_events)
