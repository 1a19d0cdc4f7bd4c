"""Use cases of bulk work: queue a bulk action or an import, read a job, the workspace's recent card colors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crm_contacts.bulk import csvio, rows, rules
from crm_contacts.bulk.models import Job
from crm_contacts.customfields.models import CustomField
from crm_contacts.filters import service as filters
from crm_contacts.funnel.models import Stage
from crm_contacts.members.models import Member
from crm_contacts.record import access
from crm_contacts.record import rules as contact_rules
from crm_contacts.sources.models import Source
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.ids import new_id

BULK_UPDATE, IMPORT = "bulk_update", "import"


def start_bulk_update(
    uow: UnitOfWork,
    *,
    caller: Caller,
    action: str,
    value: Any,
    ids: Sequence[str] | None = None,
    filter: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check a bulk action and queue it as a job for the worker; a color is remembered as recently used."""
    rules.check_selection(ids, filter is not None)
    value = rules.check_action(action, value)
    with uow:
        session = uow.session
        if filter is not None:
            try:
                filters.resolve(session, caller, filter)
            except InvalidInput as invalid:
                raise InvalidInput(
                    "the bulk action's filter is not valid",
                    errors=[FieldError(f"filter.{e.field}", e.message, e.code) for e in invalid.errors],
                ) from None
        check_value_exists(session, caller.workspace_id, action, value)
        if action == "set_color" and value:
            workspace = access.workspace_of(session, caller)
            workspace.recent_colors = contact_rules.remember_color(workspace.recent_colors or [], value)
        job = new_job(
            caller,
            BULK_UPDATE,
            {
                "action": action,
                "value": value,
                "ids": list(dict.fromkeys(ids)) if ids is not None else None,
                "filter": {str(k): str(v) for k, v in filter.items()} if filter is not None else None,
            },
        )
        session.add(job)
        uow.commit()
        return as_dict(job)


def start_import(
    uow: UnitOfWork,
    *,
    caller: Caller,
    path: str,
    dry_run: bool,
    mapping: Mapping[str, str | None] | None,
    keep_file: bool = False,
) -> dict[str, Any]:
    """Queue the import of a CSV file (already saved at ``path``) for the worker, once its columns make sense."""
    try:
        header = csvio.read_header(Path(path))
    except UnicodeDecodeError:
        raise InvalidInput(
            "the file is not UTF-8 text", errors=[FieldError("file", "save the CSV as UTF-8", "invalid_encoding")]
        ) from None
    if not header:
        raise InvalidInput("the file is empty", errors=[FieldError("file", "no header row", "required")])
    with uow:
        access.workspace_of(uow.session, caller)
        custom_keys = uow.session.scalars(
            select(CustomField.key).where(CustomField.workspace_id == caller.workspace_id)
        ).all()
        rows.map_columns(header, mapping, list(custom_keys))
        job = new_job(
            caller, IMPORT, {"path": path, "dry_run": dry_run, "mapping": dict(mapping or {}), "keep_file": keep_file}
        )
        uow.session.add(job)
        uow.commit()
        return as_dict(job)


def get_job(uow: UnitOfWork, *, caller: Caller, job_id: str) -> dict[str, Any]:
    """A job with its progress and result; agents see the jobs they started, admins all of the workspace's."""
    with uow:
        job = get_in_workspace(uow.session, Job, job_id, workspace_id=caller.workspace_id, what="job")
        if not caller.is_admin and job.created_by != caller.user_id:
            raise NotFound(f"job {job_id} not found")
        return as_dict(job)


def recent_colors(uow: UnitOfWork, *, caller: Caller) -> list[str]:
    """The card colors used last in the workspace, most recent first."""
    with uow:
        return list(access.workspace_of(uow.session, caller).recent_colors or [])


# The bulk actions whose value names a row of the workspace: its model, and what the error calls it.
_CHECKED_VALUES: dict[str, tuple[type[Member] | type[Stage] | type[Source], str]] = {
    "set_owner": (Member, "member"),
    "set_stage": (Stage, "stage"),
    "set_source": (Source, "source"),
}


def check_value_exists(session: Any, workspace_id: str, action: str, value: Any) -> None:
    """Owners must be active members, stages and sources must exist in the workspace."""
    if value is None:
        return
    if action not in _CHECKED_VALUES:
        return
    model, what = _CHECKED_VALUES[action]
    found = session.scalar(select(model).where(model.workspace_id == workspace_id, model.id == value))
    if found is None or (model is Member and not found.active):
        message = "not an active member of the workspace" if model is Member else f"no such {what} in the workspace"
        raise InvalidInput("the bulk action is not valid", errors=[FieldError("value", message, f"unknown_{what}")])


def new_job(caller: Caller, kind: str, params: dict[str, Any]) -> Job:
    return Job(
        id=new_id(),
        workspace_id=caller.workspace_id,
        kind=kind,
        state="queued",
        params={**params, "caller": {"user_id": caller.user_id, "role": caller.role}},
        processed=0,
        succeeded=0,
        failed=0,
        errors=[],
        result={},
        created_by=caller.user_id,
        created_at=utcnow(),
    )


def caller_of(job: Job) -> Caller:
    """Whose rights the job runs with: the member who started it."""
    who = job.params.get("caller") or {}
    return Caller(
        workspace_id=job.workspace_id, user_id=who.get("user_id", job.created_by), role=who.get("role", "agent")
    )


def as_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "total": job.total,
        "processed": job.processed,
        "succeeded": job.succeeded,
        "failed": job.failed,
        "errors": list(job.errors or []),
        "result": dict(job.result or {}),
        "dry_run": bool(job.params.get("dry_run")) if job.kind == IMPORT else None,
        "action": job.params.get("action") if job.kind == BULK_UPDATE else None,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
