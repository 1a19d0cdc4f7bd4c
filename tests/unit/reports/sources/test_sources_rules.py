"""What a contact adds to the sources report, and the report's rows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from crm_events import contacts
from crm_reports.facts import FactRow
from crm_reports.funnel import rules as funnel
from crm_reports.ranges import DateRange
from crm_reports.sources import represent, rules

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def snapshot_fact(kind: str, hours: int, source: str, owner: str = "ana", status: str = "active") -> FactRow:
    attrs = {"type": "contact", "stage_id": "s1", "status": status, "owner_id": owner, "source_id": source}
    return FactRow(f"e{hours:03}", "ws", kind, "c1", T0 + timedelta(hours=hours), owner, attrs)


def totals(found: list[FactRow]) -> dict[str, Counter[str]]:
    by: dict[str, Counter[str]] = {}
    for item in rules.contributions(funnel.timeline(found)):
        by.setdefault(item.metric, Counter())[item.dimension] += item.count
    return {metric: +counts for metric, counts in by.items()}


def test_a_contact_counts_for_its_source_when_created_and_when_won() -> None:
    found = [
        snapshot_fact(contacts.CONTACT_CREATED.name, 0, "web"),
        FactRow(
            "e005",
            "ws",
            contacts.CONTACT_STATUS_CHANGED.name,
            "c1",
            T0 + timedelta(hours=5),
            "ana",
            {"to_status": "won"},
        ),
    ]
    assert totals(found) == {rules.CONTACTS: {"web": 1}, rules.CREATED: {"web": 1}, rules.WON: {"web": 1}}


def test_a_changed_source_moves_the_contact_but_not_where_it_was_created() -> None:
    found = [
        snapshot_fact(contacts.CONTACT_CREATED.name, 0, "web"),
        snapshot_fact(contacts.CONTACT_UPDATED.name, 2, "fair"),
    ]
    assert totals(found)[rules.CONTACTS] == {"fair": 1}
    assert totals(found)[rules.CREATED] == {"web": 1}


def test_a_deleted_contact_leaves_its_source() -> None:
    found = [
        snapshot_fact(contacts.CONTACT_CREATED.name, 0, "web"),
        FactRow("e009", "ws", contacts.CONTACT_DELETED.name, "c1", T0 + timedelta(hours=9), "", {}),
    ]
    assert not totals(found).get(rules.CONTACTS)
    assert totals(found)[rules.CREATED] == {"web": 1}  # it was created, though


def test_rows_name_sources_in_both_languages_most_new_contacts_first() -> None:
    numbers = represent.Numbers(now={"web": 2, "": 1, "fair": 5}, created={"web": 3, "fair": 1}, won={"web": 1})
    rows = represent.source_rows({"web": ("Website", "Sitio web"), "fair": ("Fair", "")}, numbers)
    assert [
        (row["source"], row["name_es"], row["contacts"], row["created"], row["won"], row["share"]) for row in rows
    ] == [
        ("Website", "Sitio web", 2, 3, 1, 0.75),
        ("Fair", "", 5, 1, 0, 0.25),
        ("No source", "", 1, 0, 0, 0.0),
    ]


def test_the_bars_chart_has_one_bar_per_source_new_and_won() -> None:
    numbers = represent.Numbers(now={"web": 2}, created={"web": 3}, won={"web": 1})
    built = represent.report(
        title="Sources",
        span=DateRange(date(2026, 5, 1), date(2026, 5, 3), UTC),
        bucket="day",
        member_id=None,
        names={"web": ("Website", "Sitio web")},
        numbers=numbers,
    )
    chart = built.chart("sources")
    assert chart.kind == "bars" and list(chart.categories) == ["Website"]
    assert [list(values) for _label, values in chart.series] == [[3.0], [1.0]]
    assert {figure.key: figure.value for figure in built.figures} == {"contacts": 2, "created": 3, "won": 1}
