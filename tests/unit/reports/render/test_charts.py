"""Which chart a request gets, whether it has anything to draw, and that each kind draws in the palette."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from crm_platform.errors import NotFound
from crm_reports.ranges import DateRange
from crm_reports.render import charts, formats
from crm_reports.report import Chart, Report

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [f"2026-03-{d:02d}" for d in range(1, 11)]
KINDS = {
    "pie": Chart("p", "Channels", "pie", ["Email", "Chat", "Phone"], [("All", [5, 3, 0])]),
    "series": Chart("s", "Per day", "series", DAYS, [("Email", list(range(10))), ("Chat", [2.0] * 10)]),
    "bars": Chart("b", "Members", "bars", ["Ana", "Luis"], [("Closed", [4, 2]), ("Open", [1, 3])]),
    "funnel": Chart("f", "Funnel", "funnel", ["Lead", "Won"], [("Contacts", [10, 4])], unit="count"),
}


def colours(drawn: bytes) -> set[str]:
    return {c.upper() for c in re.findall(r"(?:fill|stroke):\s*(#[0-9a-fA-F]{6})", drawn.decode())}


def test_a_report_gives_the_chart_asked_for_and_404_for_another() -> None:
    span = DateRange(date(2026, 3, 1), date(2026, 3, 10), ZoneInfo("UTC"))
    report = Report("r", "R", span, "day", None, charts=list(KINDS.values()))
    assert report.chart("f").kind == "funnel"
    with pytest.raises(NotFound):
        report.chart("nosuch")


@pytest.mark.parametrize(
    ("chart", "drawable"),
    [
        (KINDS["pie"], True),
        (Chart("p", "P", "pie", ["a"], [("x", [0])]), False),
        (Chart("p", "P", "pie", ["a", "b"], [("x", [-1, 0])]), False),  # no slice can be negative
        (Chart("s", "S", "series", DAYS, [("x", [0.0] * 10)]), False),
        (Chart("s", "S", "series", DAYS[:1], [("x", [-3.0])]), True),  # a negative balance is something
        (Chart("b", "B", "bars", [], []), False),
        (Chart("b", "B", "bars", ["a"], [("x", [float("nan")])]), False),
        (Chart("f", "F", "funnel", ["a", "b"], [("x", [0, 0])]), False),
    ],
)
def test_a_chart_has_data_only_with_something_to_draw(chart: Chart, drawable: bool) -> None:
    assert charts.has_data(chart) is drawable


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_draws_an_svg_in_the_palette_with_its_title(kind: str) -> None:
    drawn = charts.svg(KINDS[kind], locale="en", no_data="No data")

    root = ET.fromstring(drawn)
    assert root.findtext(f"{SVG}title") == KINDS[kind].label
    assert root.find(f"{SVG}desc") is None
    assert charts.PALETTE[0] in colours(drawn)
    assert root.find(f".//{SVG}text") is None  # text drawn as paths: the same in every browser


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_short_series_and_a_label_with_dollars_still_draw(kind: str) -> None:
    chart = KINDS[kind]
    odd = Chart(chart.key, "Up $\\frac{ and $ down", kind, chart.categories, [("$x$", [3, 1])])

    root = ET.fromstring(charts.svg(odd, locale="en", no_data="-"))
    assert root.findtext(f"{SVG}title") == "Up $\\frac{ and $ down"


def test_a_chart_without_data_draws_the_sentence_and_no_colour() -> None:
    drawn = charts.svg(Chart("b", "Members", "bars", ["Ana"], [("x", [0])]), locale="es", no_data="Sin datos")
    assert ET.fromstring(drawn).findtext(f"{SVG}desc") == "Sin datos"
    assert not colours(drawn) & set(charts.PALETTE)


def test_the_same_chart_gives_the_same_bytes_drawn_again_or_kept() -> None:
    first = charts.svg(KINDS["series"], locale="en", no_data="-")
    charts._drawn.cache_clear()
    assert charts.svg(KINDS["series"], locale="en", no_data="-") == first
    assert charts._drawn.cache_info().hits == 0
    assert charts.svg(KINDS["series"], locale="en", no_data="-") == first
    assert charts._drawn.cache_info().hits == 1


def test_a_chart_whose_values_changed_is_drawn_again() -> None:
    before = charts.svg(KINDS["bars"], locale="en", no_data="-")
    changed = Chart("b", "Members", "bars", ["Ana", "Luis"], [("Closed", [4, 9]), ("Open", [1, 3])])
    assert charts.svg(changed, locale="en", no_data="-") != before
    assert charts.svg(KINDS["bars"], locale="es", no_data="-") != before  # the numbers are written in Spanish


@pytest.mark.parametrize(
    ("seconds", "reads"), [(0, "0s"), (59.6, "1m 00s"), (3725, "1h 02m 05s"), (90061, "1d 01h 01m"), (-61, "-1m 01s")]
)
def test_a_duration_reads_in_days_hours_minutes_and_seconds(seconds: float, reads: str) -> None:
    assert formats.duration(seconds) == reads
