"""Use cases of the summary report: record facts from events, and count them over a range."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from crm_platform.context import Caller
from crm_platform.db import UnitOfWork
from crm_reports.summary.models import ActivityFact
from crm_reports.summary.rules import FIGURES


def record(uow: UnitOfWork, *, event_id: str, workspace_id: str, kind: str, occurred_at: datetime) -> None:
    """Count one event (inside the consumer's transaction)."""
    uow.insert(
        ActivityFact, {"event_id": event_id, "workspace_id": workspace_id, "kind": kind, "occurred_at": occurred_at}
    )


def record_many(uow: UnitOfWork, facts: list[dict[str, Any]]) -> None:
    """Count several events with one multi-row INSERT (the consumer's batch form of ``record``); each fact
    has ``event_id``, ``workspace_id``, ``kind`` and ``occurred_at``."""
    uow.insert(ActivityFact, facts)


def summarize(uow: UnitOfWork, *, caller: Caller, start: datetime, end: datetime) -> dict[str, int]:
    """How many of each figure happened in ``[start, end)`` in the caller's workspace (workspace-wide counts,
    the same for every caller of it)."""
    with uow:
        rows = uow.session.execute(
            select(ActivityFact.kind, func.count())
            .where(
                ActivityFact.workspace_id == caller.workspace_id,
                ActivityFact.occurred_at >= start,
                ActivityFact.occurred_at < end,
            )
            .group_by(ActivityFact.kind)
        ).all()
    counts = dict.fromkeys(FIGURES, 0)
    counts.update({kind: count for kind, count in rows})
    return counts
