"""The funnel report read over HTTP after contacts' events: stages now and on a past day, won and lost, conversion,
time per stage, per owner; agents see their own contacts only; late, redelivered and rebuilt give the same."""

from __future__ import annotations

import random

from sqlalchemy import select

from crm_platform.ids import new_id
from crm_reports import projection
from crm_reports.app import PROJECTIONS
from crm_reports.durations import Duration
from crm_reports.rollups import Rollup
from tests.integration.reports.funnel.feed import chart, feed, figures, history, report, table
from tests.support.stack import RunningService

MAY = "?from=2026-05-01&to=2026-05-05"


def stages(found: dict) -> list[tuple]:
    return [
        (row["stage"], row["contacts"], row["entered"], row["to_next"], row["to_won"]) for row in table(found, "stages")
    ]


def test_the_funnel_shows_contacts_per_stage_won_lost_and_conversion(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, history(acme))

    found = report(reports_api, "funnel", acme, MAY)

    assert stages(found) == [
        ("New", 0, 4, 0.5, 0.25),
        ("Qualified", 1, 2, 0.5, 0.5),
        ("Proposal", 0, 0, None, None),
    ]
    assert figures(found) | {"stage_time": None} == {
        "contacts": 1,
        "created": 4,
        "won": 1,
        "lost": 1,
        "win_rate": 0.5,
        "stage_time": None,
    }
    assert chart(found, "funnel")["categories"] == ["New", "Qualified", "Proposal"]
    assert chart(found, "funnel")["series"][0]["values"] == [0, 1, 0]
    won_lost = chart(found, "won_lost")
    assert won_lost["categories"][:3] == ["2026-05-01", "2026-05-02", "2026-05-03"]
    assert [series["values"][:3] for series in won_lost["series"]] == [[0, 0, 1], [0, 1, 0]]


def test_time_in_each_stage_has_its_median_and_p90(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, history(acme))

    rows = {row["stage"]: row for row in table(report(reports_api, "funnel", acme, MAY), "stages")}

    # New: c1 and c2 a day each, c3 two days (c4 was merged away: its stay measures nothing)
    assert (rows["New"]["time_median"], rows["New"]["time_p90"]) == (86400.0, 155520.0)
    assert rows["Qualified"]["time_median"] == 86400.0  # c1, until it was won
    assert rows["Proposal"]["time_median"] is None


def test_the_funnel_on_a_past_day_is_what_it_was_then(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, history(acme))

    on_first = report(reports_api, "funnel", acme, "?from=2026-05-01&to=2026-05-01")
    on_second = report(reports_api, "funnel", acme, "?from=2026-05-02&to=2026-05-02")
    on_third = report(reports_api, "funnel", acme, "?from=2026-05-03&to=2026-05-03")

    assert [row["contacts"] for row in table(on_first, "stages")] == [3, 0, 0]
    assert [row["contacts"] for row in table(on_second, "stages")] == [2, 1, 0]  # c1 moved on, c2 lost, c3 came
    assert [row["contacts"] for row in table(on_third, "stages")] == [1, 0, 0]  # c1 won, c4 merged away
    assert (figures(on_second)["won"], figures(on_second)["lost"]) == (0, 1)


def test_won_and_lost_per_owner_and_an_admin_may_look_at_one_member(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, history(acme))

    owners = table(report(reports_api, "funnel", acme, MAY), "owners")
    bea = report(reports_api, "funnel", acme, MAY + "&member=bea")

    assert [(row["member"], row["contacts"], row["created"], row["won"], row["lost"]) for row in owners] == [
        ("Ana", 1, 2, 1, 0),
        ("Bea", 0, 2, 0, 1),
    ]
    assert bea["member_id"] == "bea"
    assert figures(bea) | {"stage_time": None} == {
        "contacts": 0,
        "created": 2,
        "won": 0,
        "lost": 1,
        "win_rate": 0.0,
        "stage_time": None,
    }


def test_an_agent_sees_only_the_contacts_they_own(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, history(acme))

    mine = report(reports_api, "funnel", acme, MAY, user="ana", role="agent")
    someone_elses = reports_api.client.get(
        f"/v1/reports/funnel{MAY}&member=bea", headers=reports_api.auth(acme, user_id="ana", role="agent")
    )

    assert mine["member_id"] == "ana"
    assert stages(mine)[:2] == [("New", 0, 2, 1.0, 0.5), ("Qualified", 1, 2, 0.5, 0.5)]
    assert (figures(mine)["won"], figures(mine)["lost"]) == (1, 0)
    assert [row["member"] for row in table(mine, "owners")] == ["Ana"]
    assert someone_elses.status_code == 404


def test_another_workspace_sees_nothing_of_it(reports_api: RunningService) -> None:
    acme, other = new_id(), new_id()
    feed(reports_api, history(acme))

    found = report(reports_api, "funnel", other, MAY)

    assert table(found, "stages") == [] and table(found, "owners") == []
    assert figures(found)["won"] == 0 and figures(found)["contacts"] == 0


def test_late_and_redelivered_events_give_the_same_funnel(reports_api: RunningService) -> None:
    in_order, shuffled = new_id(), new_id()
    feed(reports_api, history(in_order))
    late = history(shuffled)
    random.Random(7).shuffle(late)
    feed(reports_api, late + late[:5])  # every event late or early, five of them delivered twice

    for query in (MAY, "?from=2026-05-02&to=2026-05-02", MAY + "&member=ana"):
        assert report(reports_api, "funnel", shuffled, query) == report(reports_api, "funnel", in_order, query)


def test_a_rebuild_gives_exactly_what_the_events_gave_one_at_a_time(reports_api: RunningService) -> None:
    acme = new_id()
    bodies = history(acme)
    feed(reports_api, bodies + bodies[4:])  # the contacts' events redelivered once
    before = state(reports_api, acme), report(reports_api, "funnel", acme, MAY)

    projection.rebuild(reports_api.rt.database, PROJECTIONS, acme)

    assert (state(reports_api, acme), report(reports_api, "funnel", acme, MAY)) == before
    assert before[0][0]  # there was something to compare


def state(reports: RunningService, workspace: str) -> tuple[list, list]:
    with reports.rt.database.unit_of_work() as uow:
        rollup_rows = uow.session.execute(
            select(Rollup.metric, Rollup.day, Rollup.member_id, Rollup.dimension, Rollup.count, Rollup.seconds)
            .where(Rollup.workspace_id == workspace, Rollup.count != 0)
            .order_by(Rollup.metric, Rollup.day, Rollup.member_id, Rollup.dimension)
        ).all()
        duration_rows = uow.session.execute(
            select(
                Duration.subject_id, Duration.metric, Duration.seq, Duration.dimension, Duration.seconds, Duration.at
            )
            .where(Duration.workspace_id == workspace)
            .order_by(Duration.subject_id, Duration.metric, Duration.seq)
        ).all()
    return [tuple(row) for row in rollup_rows], [tuple(row) for row in duration_rows]
