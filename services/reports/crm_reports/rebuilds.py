"""The worker loop that derives again each workspace whose figures were asked to be rebuilt (``request_rebuild``:
its time zone or business hours changed), and forgets the request only if nobody asked again meanwhile."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from crm_platform.db import Database
from crm_platform.loops import repeat
from crm_platform.service import Runtime
from crm_reports import projection
from crm_reports.projection import Projection
from crm_reports.workspaces import ReportWorkspace

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # between looks when no workspace waited
BATCH = 10  # workspaces per look (each is one rebuild transaction)


def requested(database: Database, *, limit: int = BATCH) -> list[tuple[str, datetime]]:
    """The workspaces waiting for a rebuild and when each was asked for, the longest waiting first."""
    with database.unit_of_work() as uow:
        rows = uow.session.execute(
            select(ReportWorkspace.workspace_id, ReportWorkspace.rebuild_requested_at)
            .where(ReportWorkspace.rebuild_requested_at.is_not(None))
            .order_by(ReportWorkspace.rebuild_requested_at, ReportWorkspace.workspace_id)
            .limit(limit)
        )
        return [(workspace_id, asked_at) for workspace_id, asked_at in rows if asked_at is not None]


def forget_request(database: Database, workspace_id: str, asked_at: datetime) -> bool:
    """Clear the workspace's request if it is still the one rebuilt (asked at ``asked_at``): a request made while
    the rebuild ran is newer, stays, and is rebuilt at the next look. True when cleared."""
    with database.unit_of_work() as uow:
        result: Any = uow.session.execute(
            update(ReportWorkspace)
            .where(ReportWorkspace.workspace_id == workspace_id, ReportWorkspace.rebuild_requested_at == asked_at)
            .values(rebuild_requested_at=None)
        )
        cleared = result.rowcount
        uow.commit()
    return bool(cleared)


def rebuild_requested(database: Database, projections: Sequence[Projection], *, limit: int = BATCH) -> tuple[int, int]:
    """Rebuild the workspaces waiting for it (up to ``limit``); returns how many waited and how many were rebuilt.
    A workspace whose rebuild fails keeps its request (tried again at a later look) and holds up no other."""
    waiting = requested(database, limit=limit)
    rebuilt = 0
    for workspace_id, asked_at in waiting:
        started = time.monotonic()
        try:
            read = projection.rebuild(database, projections, workspace_id)
        except Exception:
            log.exception("rebuilding the reports of workspace %s failed; it stays requested", workspace_id)
            continue
        forget_request(database, workspace_id, asked_at)
        rebuilt += 1
        log.info(
            "rebuilt the reports of workspace %s: %d facts in %.1f s",
            workspace_id,
            read,
            time.monotonic() - started,
        )
    return len(waiting), rebuilt


def rebuild_loop(
    projections: Sequence[Projection] | None = None, *, idle_seconds: float = IDLE_SECONDS
) -> Callable[[Runtime, threading.Event], None]:
    """The loop, deriving ``projections`` (by default the service's own, ``crm_reports.app.PROJECTIONS``)."""

    def rebuild_requested_forever(rt: Runtime, stop: threading.Event) -> None:
        from crm_reports import app  # the service's own projections, read at start (app imports this module)

        derived = app.PROJECTIONS if projections is None else tuple(projections)
        counted = rt.metrics.counter("rebuilds_total", "Workspaces whose figures were derived again on request.")

        def step() -> bool:
            waiting, rebuilt = rebuild_requested(rt.database, derived)
            counted.inc(rebuilt)
            return waiting >= BATCH

        repeat(step, stop, idle_seconds=idle_seconds, what="rebuilding the requested reports")

    return rebuild_requested_forever
