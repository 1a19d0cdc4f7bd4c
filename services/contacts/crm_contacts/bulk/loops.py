"""The worker loop that runs queued jobs (bulk actions and imports), one at a time per worker."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import select, update

from crm_contacts.bulk import actions, imports
from crm_contacts.bulk.models import Job
from crm_contacts.bulk.service import BULK_UPDATE, IMPORT
from crm_platform.db import Database, utcnow
from crm_platform.errors import DomainError
from crm_platform.service import Runtime

log = logging.getLogger(__name__)

RUNNERS = {BULK_UPDATE: actions.run_bulk_update, IMPORT: imports.run_import}


def run_jobs_forever(rt: Runtime, stop: threading.Event) -> None:
    """Background loop of the worker process: run jobs as they are queued."""
    while not stop.is_set():
        try:
            fail_abandoned(rt.database)
            ran = run_once(rt)
        except Exception:
            log.exception("running a contacts job failed; going on")
            stop.wait(2.0)
            continue
        if not ran:
            stop.wait(0.5)


# No batch takes this long; a running job without a heartbeat for longer lost its worker.
ABANDONED_AFTER = timedelta(minutes=5)


def fail_abandoned(database: Database, *, now: datetime | None = None) -> int:
    """Mark failed the running jobs whose worker died (no heartbeat for ABANDONED_AFTER), keeping their
    progress, so their owners see a final state and can start them again; returns how many."""
    now = now or utcnow()
    with database.unit_of_work() as uow:
        stale = uow.session.scalars(
            select(Job)
            .where(Job.state == "running", Job.heartbeat_at < now - ABANDONED_AFTER)
            .with_for_update(skip_locked=True)
        ).all()
        for job in stale:
            job.state, job.finished_at = "failed", now
            job.result = {**(job.result or {}), "error": "the worker running this job stopped; start it again"}
        uow.commit()
    return len(stale)


def run_once(rt: Runtime) -> bool:
    """Claim the oldest queued job and run it to the end; False when none was waiting."""
    job_id = claim(rt.database)
    if job_id is None:
        return False
    run(rt.database, job_id)
    return True


def claim(database: Database, *, job_id: str | None = None) -> str | None:
    """Mark the oldest queued job (or this one) running; concurrent workers skip a row another one has locked."""
    with database.unit_of_work() as uow:
        session = uow.session
        job_id = job_id or session.scalar(
            select(Job.id)
            .where(Job.state == "queued", Job.kind.in_(tuple(RUNNERS)))
            .order_by(Job.created_at, Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer and ignores it
        )
        if job_id is None:
            return None
        now = utcnow()
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(state="running", started_at=now, heartbeat_at=now)
        )
        if claimed.rowcount != 1:
            return None
        uow.commit()
    return job_id


def run(database: Database, job_id: str, progress: imports.Progress | None = None) -> None:
    """Run a claimed job; whatever stops it marks it failed with the reason, keeping the progress made."""
    with database.unit_of_work() as uow:
        job = uow.session.get(Job, job_id)
        assert job is not None
        kind = job.kind
    try:
        RUNNERS[kind](database, job_id, progress)
    except Exception as error:
        if not isinstance(error, DomainError):
            log.exception("job %s (%s) failed", job_id, kind)
        _fail(database, job_id, error)


def _fail(database: Database, job_id: str, error: Exception) -> None:
    with database.unit_of_work() as uow:
        job = uow.session.get(Job, job_id)
        assert job is not None
        job.state, job.finished_at = "failed", utcnow()
        reason = error.detail if isinstance(error, DomainError) else "the job stopped on an unexpected error"
        result = {**(job.result or {}), "error": reason}
        if isinstance(error, DomainError) and error.errors:
            result["errors"] = [e.as_dict() for e in error.errors]
        job.result = result
        uow.commit()
