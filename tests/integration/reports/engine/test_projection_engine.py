"""The engine every report is kept by: facts in, subjects derived again, differences applied; and rebuild.

A toy projection (a subject "opens" and "closes"; each close counts, with the time since its open) stands in for
the real ones, so these tests pin the engine alone: redelivery counted once, a late fact lands in its place, the
rollups and durations after incremental ingest equal a rebuild's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from crm_platform.ids import new_id
from crm_reports import durations, projection
from crm_reports.durations import Duration, DurationRow
from crm_reports.facts import FactRow
from crm_reports.projection import Derived
from crm_reports.rollups import Contribution, Rollup
from crm_reports.workspaces import Context, ReportWorkspace
from tests.support.stack import RunningService


class OpenClose:
    name = "toy"
    kinds = frozenset({"toy.thing.opened", "toy.thing.closed"})

    def derive(self, subject_facts: Sequence[FactRow], context: Context) -> Derived:
        contributions, rows, opened = [], [], None
        for fact in subject_facts:
            if fact.kind == "toy.thing.opened":
                opened = fact.occurred_at
                contributions.append(Contribution("opened", fact.occurred_at, fact.member_id))
            elif opened is not None:
                seconds = (fact.occurred_at - opened).total_seconds()
                contributions.append(Contribution("closed", fact.occurred_at, fact.member_id, seconds=seconds))
                rows.append(DurationRow("close_time", len(rows), fact.occurred_at, seconds, fact.member_id))
                opened = None
        return Derived(contributions, rows)


TOY = OpenClose()
T0 = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # Madrid changes to summer time the next night


def fact(workspace: str, subject: str, kind: str, at: datetime, member: str = "m1") -> FactRow:
    return FactRow(new_id(), workspace, kind, subject, at, member, {})


def ingest(service: RunningService, found: list[FactRow]) -> int:
    uow = service.rt.database.unit_of_work()
    with uow:
        kept = projection.ingest(uow, TOY, found)
        uow.commit()
    return kept


def state(service: RunningService, workspace: str) -> tuple[list[Any], list[Any]]:
    with service.rt.database.unit_of_work() as uow:
        rollup_rows = uow.session.execute(
            select(Rollup.metric, Rollup.day, Rollup.member_id, Rollup.count, Rollup.seconds)
            .where(Rollup.workspace_id == workspace, Rollup.count != 0)
            .order_by(Rollup.metric, Rollup.day, Rollup.member_id)
        ).all()
        duration_rows = uow.session.execute(
            select(Duration.subject_id, Duration.seq, Duration.seconds)
            .where(Duration.workspace_id == workspace)
            .order_by(Duration.subject_id, Duration.seq)
        ).all()
    return [tuple(row) for row in rollup_rows], [tuple(row) for row in duration_rows]


def test_a_redelivered_fact_is_counted_once(reports_api: RunningService) -> None:
    acme, thing = new_id(), new_id()
    opened = fact(acme, thing, "toy.thing.opened", T0)

    assert ingest(reports_api, [opened]) == 1
    assert ingest(reports_api, [opened]) == 0

    rollup_rows, _ = state(reports_api, acme)
    assert rollup_rows == [("opened", date(2026, 3, 28), "m1", 1, 0.0)]


def test_a_late_fact_lands_where_it_happened_and_rollups_follow(reports_api: RunningService) -> None:
    acme, thing = new_id(), new_id()
    ingest(reports_api, [fact(acme, thing, "toy.thing.closed", T0 + timedelta(hours=2))])
    assert state(reports_api, acme) == ([], [])  # a close before any open counts nothing yet

    ingest(reports_api, [fact(acme, thing, "toy.thing.opened", T0)])  # arrives late, happened first

    rollup_rows, duration_rows = state(reports_api, acme)
    assert rollup_rows == [
        ("closed", date(2026, 3, 29), "m1", 1, 7200.0),
        ("opened", date(2026, 3, 28), "m1", 1, 0.0),
    ]
    assert duration_rows == [(thing, 0, 7200.0)]


def test_days_are_the_workspaces_own_after_a_rebuild_in_its_time_zone(reports_api: RunningService) -> None:
    acme = new_id()
    ingest(reports_api, [fact(acme, new_id(), "toy.thing.opened", T0)])  # 22:30 UTC: the 28th in UTC
    with reports_api.rt.database.unit_of_work() as uow:
        uow.session.get(ReportWorkspace, acme).time_zone = "Asia/Tokyo"  # type: ignore[union-attr]
        uow.commit()

    projection.rebuild(reports_api.rt.database, [TOY], acme)

    assert state(reports_api, acme)[0] == [("opened", date(2026, 3, 29), "m1", 1, 0.0)]  # 07:30 in Tokyo


def test_rebuild_gives_exactly_what_incremental_ingest_gave(reports_api: RunningService) -> None:
    acme, other = new_id(), new_id()
    found = []
    for n in range(40):
        thing, member = new_id(), f"m{n % 3}"
        opened_at = T0 + timedelta(hours=7 * n)
        found += [fact(acme, thing, "toy.thing.opened", opened_at, member)]
        found += [fact(acme, thing, "toy.thing.closed", opened_at + timedelta(minutes=10 + n), member)]
        if n % 4 == 0:  # reopened and closed again: a second cycle
            found += [fact(acme, thing, "toy.thing.opened", opened_at + timedelta(days=1), member)]
            found += [fact(acme, thing, "toy.thing.closed", opened_at + timedelta(days=1, hours=1), member)]
    found.append(fact(other, new_id(), "toy.thing.opened", T0))
    for start in range(0, len(found), 7):  # in small batches, shuffled order within the workspace's history
        ingest(reports_api, list(reversed(found[start : start + 7])))
    incremental = state(reports_api, acme)

    read = projection.rebuild(reports_api.rt.database, [TOY], acme, batch=5)

    assert read == len(found) - 1
    assert state(reports_api, acme) == incremental
    assert len(incremental[1]) == 50
    assert state(reports_api, other)[0] == [("opened", date(2026, 3, 28), "m1", 1, 0.0)]  # untouched


def test_percentiles_agree_on_both_databases(reports_api: RunningService) -> None:
    acme = new_id()
    for minutes in (1, 2, 3, 4, 100):
        thing = new_id()
        ingest(
            reports_api,
            [
                fact(acme, thing, "toy.thing.opened", T0),
                fact(acme, thing, "toy.thing.closed", T0 + timedelta(minutes=minutes)),
            ],
        )
    with reports_api.rt.database.unit_of_work() as uow:
        count, average, (median, p90) = durations.percentiles(
            uow, workspace_id=acme, metric="close_time", start=T0, end=T0 + timedelta(days=1)
        )
    assert count == 5
    assert average == 22 * 60
    assert median == 3 * 60
    # interpolated between the 4th and the 5th, as percentile_cont does
    assert p90 == pytest.approx((4 + (100 - 4) * 0.6) * 60)
