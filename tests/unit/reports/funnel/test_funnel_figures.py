"""The funnel report's figures from its numbers: stages in order, conversion forward and to won, owners, charts."""

from __future__ import annotations

from datetime import UTC, date

from crm_reports.figures import Stats
from crm_reports.funnel import represent, rules
from crm_reports.labels.rules import Stage
from crm_reports.ranges import DateRange

ORDER = [
    Stage("s1", "New", 0, "contact", "Contact", 0),
    Stage("s2", "Qualified", 1, "contact", "Contact", 0),
    Stage("s3", "Proposal", 2, "contact", "Contact", 0),
]
SPAN = DateRange(date(2026, 5, 1), date(2026, 5, 3), UTC)


def numbers(**overrides: object) -> represent.Numbers:
    values: dict[str, object] = {
        "now": {rules.OPEN_STAGE: {"s2": 3, "s3": 1}, rules.OPEN_TYPE: {"contact": 4}},
        "flows": {
            rules.ENTERED: {"s1": 10, "s2": 4, "s3": 2},
            rules.EXITED: {"s1>s2": 4, "s1>lost": 3, "s2>s3": 1, "s2>s1": 1, "s3>won": 1, "s2>won": 1},
            rules.WON_AFTER: {"s1": 2, "s2": 2, "s3": 1},
            rules.WON: {"contact": 2},
            rules.LOST: {"contact": 3},
            rules.CREATED: {"contact": 10},
        },
        "daily": {rules.WON: {date(2026, 5, 2): 2.0}, rules.LOST: {date(2026, 5, 1): 1.0, date(2026, 5, 3): 2.0}},
        "now_by_owner": {"ana": 3, "": 1},
        "flows_by_owner": {rules.WON: {"ana": 2}, rules.LOST: {"bea": 3}},
        "stage_times": {"s1": Stats(2, 150.0, (150.0, 190.0))},
    }
    values.update(overrides)
    return represent.Numbers(**values)  # type: ignore[arg-type]


def test_conversion_counts_moves_to_a_later_stage_or_won_and_not_back_or_lost() -> None:
    assert represent.forward_exits(ORDER, numbers().flows[rules.EXITED]) == {"s1": 4, "s2": 2, "s3": 1}


def test_stage_rows_follow_the_funnel_order_with_conversion_and_times() -> None:
    rows = represent.stage_rows(ORDER, numbers())
    assert [(row["stage"], row["contacts"], row["entered"], row["to_next"], row["to_won"]) for row in rows] == [
        ("New", 0, 10, 0.4, 0.2),
        ("Qualified", 3, 4, 0.5, 0.5),
        ("Proposal", 1, 2, 0.5, 0.5),
    ]
    assert (rows[0]["time_median"], rows[0]["time_p90"]) == (150.0, 190.0)
    assert rows[1]["time_median"] is None


def test_a_stage_nobody_entered_has_no_conversion_rather_than_zero() -> None:
    rows = represent.stage_rows(ORDER, numbers(flows={}))
    assert [row["to_next"] for row in rows] == [None, None, None]


def test_a_stage_the_funnel_no_longer_lists_comes_last_by_its_id() -> None:
    rows = represent.stage_rows(ORDER, numbers(now={rules.OPEN_STAGE: {"gone": 2}}))
    assert rows[-1]["stage_id"] == "gone" and rows[-1]["contacts"] == 2


def test_owners_have_their_won_lost_and_win_rate_unassigned_last() -> None:
    rows = represent.owner_rows({"ana": "Ana", "bea": "Bea"}, numbers())
    assert [(row["member"], row["contacts"], row["won"], row["lost"], row["win_rate"]) for row in rows] == [
        ("Ana", 3, 2, 0, 1.0),
        ("Bea", 0, 0, 3, 0.0),
        ("Unassigned", 1, 0, 0, None),
    ]


def test_the_report_has_headline_figures_a_funnel_chart_in_order_and_won_lost_per_day() -> None:
    built = represent.report(
        title="Funnel",
        span=SPAN,
        bucket="day",
        member_id=None,
        order=ORDER,
        type_names={"contact": "Contact"},
        member_names={},
        numbers=numbers(),
    )
    headline = {figure.key: figure.value for figure in built.figures}
    assert headline["contacts"] == 4 and headline["won"] == 2 and headline["lost"] == 3
    assert headline["win_rate"] == 0.4
    funnel = built.chart("funnel")
    assert funnel.kind == "funnel"
    assert list(funnel.categories) == ["New", "Qualified", "Proposal"]
    assert list(funnel.series[0][1]) == [0.0, 3.0, 1.0]
    won_lost = built.chart("won_lost")
    assert list(won_lost.categories) == ["2026-05-01", "2026-05-02", "2026-05-03"]
    assert [list(values) for _label, values in won_lost.series] == [[0.0, 2.0, 0.0], [1.0, 0.0, 2.0]]
