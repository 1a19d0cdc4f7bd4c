"""How long the reports service takes to draw a chart as SVG, per kind: `.venv/bin/python bench/report_charts.py`.

Prints the first chart of the process (imports and matplotlib's setup included) and then the median and p90 of
``--repeat`` drawings of each kind, at a realistic size (90 daily buckets, 12 members, 6 stages)."""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from crm_reports.ranges import DateRange
from crm_reports.render import charts, page
from crm_reports.report import Chart, Report

DAYS = [(date(2026, 1, 1) + timedelta(days=n)).isoformat() for n in range(90)]
MEMBERS = [f"Member {n}" for n in range(12)]
CHARTS = [
    Chart(
        "channels", "Channels", "pie", ["Email", "Chat", "Phone", "Form", "API", "Other"], [("", [9, 7, 5, 3, 2, 1])]
    ),
    Chart(
        "per_day",
        "Per day",
        "series",
        DAYS,
        [(n, [float((d * k) % 17) for d in range(90)]) for k, n in ((3, "Email"), (5, "Chat"), (7, "Phone"))],
    ),
    Chart(
        "members",
        "Per member",
        "bars",
        MEMBERS,
        [("Closed", [float(n) for n in range(12)]), ("Open", [12.0 - n for n in range(12)])],
    ),
    Chart(
        "funnel",
        "Funnel",
        "funnel",
        ["Lead", "Contacted", "Qualified", "Proposal", "Negotiation", "Won"],
        [("", [500, 320, 180, 90, 40, 22])],
    ),
    Chart(
        "times",
        "First response",
        "series",
        DAYS,
        [("Median", [600.0 + 30 * (d % 9) for d in range(90)])],
        unit="seconds",
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    charts.svg(CHARTS[0], locale="en", no_data="-")
    print(f"first chart of the process (setup included): {(time.perf_counter() - started) * 1000:.0f} ms")
    for chart in CHARTS:
        took, cpu = [], []
        for _ in range(args.repeat):
            charts._drawn.cache_clear()  # drawn every time, not the kept copy
            started, started_cpu = time.perf_counter(), time.process_time()
            drawn = charts.svg(chart, locale="es", no_data="-")
            took.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        p90 = statistics.quantiles(took, n=10)[-1]
        print(
            f"{chart.kind:7} {chart.key:9} median {statistics.median(took):6.1f} ms  p90 {p90:6.1f} ms"
            f"  (CPU {statistics.median(cpu):6.1f} ms)  {len(drawn) // 1024} KiB"
        )
    report = Report("bench", "Bench", DateRange(date(2026, 1, 1), date(2026, 3, 31), ZoneInfo("UTC")), "day", None)
    report = Report(**{**report.__dict__, "charts": CHARTS})
    charts._drawn.cache_clear()
    started = time.perf_counter()
    drawn = {chart.key: charts.svg(chart, locale="es", no_data="-") for chart in CHARTS}
    body = page.html(report, locale="es", translate=lambda text, params=None: text, charts=drawn, now=datetime.now(UTC))
    took = (time.perf_counter() - started) * 1000
    print(f"HTML page with the {len(CHARTS)} charts drawn: {took:.0f} ms, {len(body) // 1024} KiB")
    started = time.perf_counter()
    for chart in CHARTS:
        charts.svg(chart, locale="es", no_data="-")
    print(f"the same {len(CHARTS)} charts again (kept): {(time.perf_counter() - started) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
