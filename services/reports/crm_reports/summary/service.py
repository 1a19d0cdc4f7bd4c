"""Use cases of the summary report: record facts from events, and count them over a range."""

from __future__ import annotations

import json
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
    if not facts or not uow.database.on_driver:
        uow.insert(ActivityFact, facts)
        return
    rows = [[fact["event_id"], fact["workspace_id"], fact["kind"], fact["occurred_at"].isoformat()] for fact in facts]
    with uow.cursor() as cursor:  # one INSERT, the rows as one JSON text (not one INSERT a row)
        cursor.execute(_INSERT_FROM_JSON, (json.dumps(rows, separators=(",", ":")),))


_INSERT_FROM_JSON = (
    "INSERT INTO activity_facts (event_id, workspace_id, kind, occurred_at) "
    "SELECT r->>0, r->>1, r->>2, (r->>3)::timestamptz FROM jsonb_array_elements(%s::jsonb) AS r"
)


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
