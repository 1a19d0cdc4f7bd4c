"""The workspace's report settings: the business hours response and close times may be counted in.

The time zone is not set here: it is the workspace's own (contacts' settings). Changing the hours changes
every duration's business seconds, so the workspace's figures are derived again (``workspaces.request_rebuild``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select

from crm_platform import business_hours
from crm_platform.context import Caller, require_admin
from crm_platform.db import UnitOfWork
from crm_platform.errors import FieldError, InvalidInput, msgid
from crm_platform.versioning import check_version
from crm_reports import workspaces
from crm_reports.workspaces import ReportWorkspace

WHAT = msgid("business calendar")


def _body(time_zone: str, kept: Mapping[str, Any] | None, version: int) -> dict[str, Any]:
    calendar = None if not kept else business_hours.calendar_from_json(kept, time_zone)
    return {
        "time_zone": time_zone,
        "business_hours": None if calendar is None else business_hours.calendar_hours_out(calendar),
        "holidays": [] if calendar is None else sorted(day.isoformat() for day in calendar.holidays),
        "version": version,
    }


def _current(uow: UnitOfWork, workspace_id: str, *, lock: bool = False) -> tuple[str, dict[str, Any] | None, int]:
    query = select(ReportWorkspace.time_zone, ReportWorkspace.business_hours, ReportWorkspace.version).where(
        ReportWorkspace.workspace_id == workspace_id
    )
    row = uow.session.execute(query.with_for_update() if lock else query).one_or_none()
    return ("UTC", None, 0) if row is None else (row.time_zone, row.business_hours, row.version)


def get(uow: UnitOfWork, *, caller: Caller) -> dict[str, Any]:
    """The workspace's report settings (version 0 while the reports have not heard of the workspace)."""
    with uow:
        return _body(*_current(uow, caller.workspace_id))


def put(
    uow: UnitOfWork,
    *,
    caller: Caller,
    hours: Mapping[str, Sequence[tuple[str, str]]] | None,
    holidays: Sequence[date],
    if_match: str | None = None,
) -> dict[str, Any]:
    """Set the business hours (admins only; ``hours`` None: every hour counts); the figures are derived again
    when they changed."""
    require_admin(caller, "change the report settings")
    workspace_id = caller.workspace_id
    with uow:
        time_zone, kept, version = _current(uow, workspace_id, lock=True)
        check_version(version, if_match, what=WHAT)
        wanted = None
        if hours is not None:
            wanted = business_hours.calendar_as_json(business_hours.check_calendar(time_zone, hours, holidays))
        elif holidays:
            raise InvalidInput(
                business_hours.INVALID,
                errors=[FieldError("holidays", msgid("holidays need business hours"), "requires_business_hours")],
            )
        workspaces.lock(uow, workspace_id)  # the row exists from here on
        row = uow.session.get(ReportWorkspace, workspace_id)
        assert row is not None
        if wanted != kept:
            row.business_hours = wanted
            workspaces.request_rebuild(uow, workspace_id)
        row.version += 1
        body = _body(row.time_zone, row.business_hours, row.version)
        uow.commit()
    return body
