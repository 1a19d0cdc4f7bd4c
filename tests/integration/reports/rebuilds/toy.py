"""A toy projection for the rebuild tests (each "opened" fact counts on its day): the loop and the CLI, not a report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import select

from crm_platform.ids import new_id
from crm_reports import projection, workspaces
from crm_reports.facts import FactRow
from crm_reports.projection import Derived
from crm_reports.rollups import Contribution, Rollup
from crm_reports.workspaces import Context, ReportWorkspace
from tests.support.stack import RunningService


class Opened:
    name = "toy"
    kinds = frozenset({"toy.thing.opened"})

    def derive(self, subject_facts: Sequence[FactRow], context: Context) -> Derived:
        return Derived([Contribution("opened", fact.occurred_at, fact.member_id) for fact in subject_facts])


class FailsFor(Opened):
    """Fails to derive one workspace's facts (a bug met by one workspace's data)."""

    def __init__(self, workspace_id: str) -> None:
        self.workspace_id = workspace_id

    def derive(self, subject_facts: Sequence[FactRow], context: Context) -> Derived:
        if context.workspace_id == self.workspace_id:
            raise RuntimeError("cannot derive this one")
        return super().derive(subject_facts, context)


TOY = Opened()
LATE_EVENING = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)  # the 10th in UTC, already the 11th in Tokyo


def opened_in(service: RunningService, workspace_id: str, at: datetime = LATE_EVENING) -> None:
    uow = service.rt.database.unit_of_work()
    with uow:
        projection.ingest(uow, TOY, [FactRow(new_id(), workspace_id, "toy.thing.opened", new_id(), at, "m1")])
        uow.commit()


def move_to(service: RunningService, workspace_id: str, time_zone: str) -> None:
    """What a settings change does: the new time zone and a rebuild request, in one transaction."""
    uow = service.rt.database.unit_of_work()
    with uow:
        workspaces.lock(uow, workspace_id)
        row = uow.session.get(ReportWorkspace, workspace_id)
        assert row is not None
        row.time_zone = time_zone
        workspaces.request_rebuild(uow, workspace_id)
        uow.commit()


def days(service: RunningService, workspace_id: str) -> list[tuple[date, int]]:
    with service.rt.database.unit_of_work() as uow:
        rows = uow.session.execute(
            select(Rollup.day, Rollup.count).where(Rollup.workspace_id == workspace_id, Rollup.count != 0)
        )
        return sorted((day, count) for day, count in rows)
