"""The ticket report's figures and tables from rollup sums: what a reader of the report sees."""

from __future__ import annotations

from datetime import date

from crm_reports.figures import Stats
from crm_reports.tickets import represent
from crm_reports.tickets.rules import CLOSED, FIRST_RESPONSE, OPENED, SLA, SLA_BREACH, SOLVED, STATE

START, END = date(2026, 5, 1), date(2026, 5, 14)


def inputs(**changes):  # type: ignore[no-untyped-def]
    found = {
        "in_range": [],
        "per_day": [],
        "at_end": [],
        "times": {},
        "member_names": {"ana": "Ana", "bea": "Bea"},
    }
    found.update(changes)
    return represent.Inputs(**found)  # type: ignore[arg-type]


def figure(built, key):  # type: ignore[no-untyped-def]
    return next(f for f in built[0] if f.key == key)


def table(built, key):  # type: ignore[no-untyped-def]
    return next(t for t in built[1] if t.key == key)


def build(found):  # type: ignore[no-untyped-def]
    return represent.build(found, start=START, end=END, bucket="week")


def test_tickets_by_status_at_the_end_sum_every_enter_and_leave_up_to_it() -> None:
    at_end = [
        (STATE, "ana", "new|normal", 3, 0.0),
        (STATE, "ana", "new|normal", -2, 0.0),  # two of them moved on
        (STATE, "ana", "open|high", 2, 0.0),
        (STATE, "bea", "solved|normal", 4, 0.0),
    ]

    built = build(inputs(at_end=at_end))

    assert represent.tickets_by_status(at_end) == {
        "new": 1,
        "open": 2,
        "pending": 0,
        "stopped": 0,
        "solved": 4,
        "closed": 0,
    }
    assert figure(built, "active_at_end").value == 3
    by_priority = {row["priority"]: row["active_at_end"] for row in table(built, "by_priority").rows}
    assert by_priority == {"low": 0, "normal": 1, "high": 2, "urgent": 0}


def test_counts_over_time_fill_every_bucket_and_add_up_the_days() -> None:
    per_day = [
        (OPENED, date(2026, 5, 4), 2, 0.0),
        (OPENED, date(2026, 5, 10), 1, 0.0),
        (SOLVED, date(2026, 5, 12), 1, 0.0),
    ]

    rows = table(build(inputs(per_day=per_day)), "over_time").rows

    assert [(row["bucket"], row["opened"], row["solved"]) for row in rows] == [
        ("2026-04-27", 0, 0),  # the partial first week: May 1-3
        ("2026-05-04", 3, 0),
        ("2026-05-11", 0, 1),
    ]


def test_times_have_their_median_and_p90_beside_the_average() -> None:
    times = {FIRST_RESPONSE: {represent.EVERYONE: Stats(3, 600.0, (300.0, 1200.0))}}

    found = figure(build(inputs(times=times)), "first_response")

    assert (found.value, found.median, found.p90, found.unit) == (600.0, 300.0, 1200.0, "seconds")
    assert figure(build(inputs()), "solution").value is None  # nothing solved: no time, not zero


def test_sla_met_and_breached_per_target_with_the_share_met() -> None:
    in_range = [
        (SLA, "ana", "first_response:met", 3, 0.0),
        (SLA, "bea", "first_response:breached", 1, 0.0),
        (SLA, "ana", "solution:breached", 2, 0.0),
        (SLA_BREACH, "ana", "solution", 5, 0.0),
    ]

    built = build(inputs(in_range=in_range))

    rows = {row["target"]: row for row in table(built, "sla").rows}
    assert (rows["first_response"]["met"], rows["first_response"]["breached"]) == (3, 1)
    assert rows["first_response"]["met_rate"] == 0.75
    assert (rows["solution"]["breached"], rows["solution"]["breach_alerts"]) == (2, 5)
    assert rows["update"]["met_rate"] is None
    assert (figure(built, "sla_met").value, figure(built, "sla_breached").value) == (3, 3)


def test_the_member_table_names_each_responsible_and_lists_the_unassigned_last() -> None:
    in_range = [
        (OPENED, "bea", "normal", 2, 0.0),
        (OPENED, "", "normal", 1, 0.0),
        (CLOSED, "ana", "high", 1, 0.0),
    ]
    times = {FIRST_RESPONSE: {represent.EVERYONE: Stats(1, 60.0, (60.0, 60.0)), "ana": Stats(1, 60.0, (60.0, 60.0))}}

    rows = table(build(inputs(in_range=in_range, times=times)), "by_member").rows

    assert [(row["name"], row["opened"], row["closed"]) for row in rows] == [
        ("Ana", 0, 1),
        ("Bea", 2, 0),
        ("Unassigned", 1, 0),
    ]
    assert (rows[0]["first_response_average"], rows[0]["first_response_p90"]) == (60.0, 60.0)
    assert rows[1]["first_response_median"] is None
