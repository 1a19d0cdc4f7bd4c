"""A report's chart drawn on the server as SVG with matplotlib (Agg, no display): pie, series, bars or funnel.

Text is drawn as paths (``svg.fonttype = "path"``), so a chart reads the same in every browser and mail client
whatever fonts it has; glyphs are defined once per chart and reused, which keeps the file small. Colours are the
Okabe-Ito palette (told apart by colour-blind readers too) on white. A chart with nothing to show says so.
The labels arrive translated (``localize``); numbers and dates are written in the reader's ``locale``.
"""

from __future__ import annotations

import functools
import io
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from html import escape
from typing import Any

from babel.dates import format_date

from crm_reports.render import formats
from crm_reports.report import Chart, Unit

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C564B", "#7F7F7F")
INK, GRID = "#222222", "#DDDDDD"
SIZE = (7.2, 3.6)  # inches: 518 x 259 pt, fits a printed page's width twice over in height
_lock = threading.Lock()  # matplotlib's font and text caches are process-wide: one drawing at a time


@functools.cache
def setup() -> None:
    """matplotlib set up once per process (the first chart pays ~0.3 s of imports and font loading)."""
    import matplotlib
    from cycler import cycler

    matplotlib.use("Agg")  # no display, whatever the environment says
    matplotlib.rcParams.update(
        {
            "svg.fonttype": "path",
            "svg.hashsalt": "crm-reports",  # the same chart gives the same bytes
            "text.parse_math": False,  # a label is text: "$5 to $10" is not TeX
            "font.family": "DejaVu Sans",  # shipped with matplotlib: no system font needed
            "font.size": 9,
            "axes.edgecolor": GRID,
            "axes.labelcolor": INK,
            "axes.titlesize": 11,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.prop_cycle": cycler(color=list(PALETTE)),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "xtick.color": INK,
            "ytick.color": INK,
            "legend.frameon": False,
            "figure.facecolor": "white",
            "axes.facecolor": "white",
        }
    )
    from matplotlib.figure import Figure

    Figure(figsize=SIZE).savefig(io.BytesIO(), format="svg")  # warms the font cache and the SVG backend


def has_data(chart: Chart) -> bool:
    """Whether ``chart`` has anything to draw: some category with a finite, non-zero value (positive for a pie)."""
    values = [v for _name, series in chart.series for v in series[: len(chart.categories)] if math.isfinite(v)]
    if chart.kind in ("pie", "funnel"):
        return any(v > 0 for v in values)
    return any(v != 0 for v in values)


def svg(chart: Chart, *, locale: str, no_data: str) -> bytes:
    """``chart`` as an SVG document; ``no_data`` is the sentence shown when there is nothing to draw.

    The last charts drawn are kept (a few MB at most): a page reloaded, or its charts fetched one by one after
    it, costs nothing while the figures have not changed."""
    count = len(chart.categories)
    fitted = tuple((name, _fit(values, count)) for name, values in chart.series)
    return _drawn(replace(chart, categories=tuple(chart.categories), series=fitted), locale, no_data)


def _fit(values: Sequence[float], count: int) -> tuple[float, ...]:
    """One value per category: a missing one (a short series) is not a number, one too many is dropped."""
    found = tuple(float(v) if isinstance(v, int | float) else math.nan for v in list(values)[:count])
    return found + (math.nan,) * (count - len(found))


@functools.lru_cache(maxsize=128)
def _drawn(chart: Chart, locale: str, no_data: str) -> bytes:
    setup()
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    with _lock:
        figure = Figure(figsize=SIZE)
        axes = figure.add_axes((0.02, 0.02, 0.96, 0.84))
        axes.set_title(chart.label, color=INK)
        ticks = FuncFormatter(lambda v, _pos: _axis_value(v, chart.unit, locale))
        if not has_data(chart):
            _nothing(axes, no_data)
        else:
            DRAW[chart.kind](axes, chart, locale, ticks)
        out = io.BytesIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    return _titled(out.getvalue(), chart.label, "" if has_data(chart) else no_data)


def _titled(drawn: bytes, title: str, description: str) -> bytes:
    """The SVG with its words as text too (the drawn ones are paths): for screen readers, search and tests."""
    text = drawn.decode("utf-8")
    after_root = text.index(">", text.index("<svg")) + 1
    words = f"<title>{escape(title)}</title>" + (f"<desc>{escape(description)}</desc>" if description else "")
    return (text[:after_root] + words + text[after_root:]).encode("utf-8")


def _nothing(axes: Any, message: str) -> None:
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#666666", transform=axes.transAxes)


def _pie(axes: Any, chart: Chart, locale: str, _ticks: Any) -> None:
    parts = [(c, v) for c, v in zip(chart.categories, chart.series[0][1], strict=False) if math.isfinite(v) and v > 0]
    total = sum(v for _c, v in parts)
    wedges, _texts, _shares = axes.pie(
        [v for _c, v in parts],
        colors=[PALETTE[n % len(PALETTE)] for n in range(len(parts))],
        autopct=lambda pct: formats.share(pct / 100, locale) if pct >= 4 else "",
        pctdistance=0.72,
        startangle=90,
        counterclock=False,
        wedgeprops={"linewidth": 1, "edgecolor": "white"},
        textprops={"color": "white", "fontweight": "bold"},
    )
    labels = [f"{c}: {_value(v, chart.unit, locale)} ({formats.share(v / total, locale)})" for c, v in parts]
    _place(axes, left=0.02, bottom=0.04, right=0.45)
    axes.legend(wedges, labels, loc="center left", bbox_to_anchor=(1.05, 0.5))
    axes.set_aspect("equal")


def _series(axes: Any, chart: Chart, locale: str, ticks: Any) -> None:
    days = [_iso_day(c) for c in chart.categories]
    if all(d is not None for d in days):
        x: Sequence[Any] = days
        span = (max(days) - min(days)).days if days else 0  # type: ignore[type-var, operator]
        pattern = "d MMM" if span <= 200 else "MMM yyyy"
        from matplotlib.dates import AutoDateLocator, num2date

        axes.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=8))
        axes.xaxis.set_major_formatter(
            _formatter(lambda v: format_date(num2date(v).date(), format=pattern, locale=locale))
        )
    else:  # buckets that are not dates: shown as given, evenly spaced
        x = list(range(len(chart.categories)))
        axes.set_xticks(x, list(chart.categories))
    for name, values in chart.series:
        axes.plot(x, list(values)[: len(x)], marker="o", markersize=3, linewidth=1.8, label=name)
    axes.yaxis.set_major_formatter(ticks)
    axes.set_ylim(bottom=min(0, axes.get_ylim()[0]))
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    _place(axes, left=0.14, bottom=0.12, right=0.80)
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))


def _bars(axes: Any, chart: Chart, locale: str, ticks: Any) -> None:
    count, width = len(chart.categories), 0.8 / max(1, len(chart.series))
    for n, (name, values) in enumerate(chart.series):
        offsets = [i - 0.4 + width * (n + 0.5) for i in range(count)]
        bars = axes.bar(offsets, list(values)[:count], width=width * 0.92, label=name)
        if count * len(chart.series) <= 16:  # the numbers on the bars while they fit
            axes.bar_label(bars, labels=[_value(v, chart.unit, locale) for v in values[:count]], fontsize=8)
    crowded = count > 6 or any(len(c) > 12 for c in chart.categories)
    axes.set_xticks(
        range(count), list(chart.categories), rotation=30 if crowded else 0, ha="right" if crowded else "center"
    )
    axes.yaxis.set_major_formatter(ticks)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    legend = len(chart.series) > 1
    _place(axes, left=0.14, bottom=0.30 if crowded else 0.12, right=0.80 if legend else 0.97)
    if legend:
        axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))


def _funnel(axes: Any, chart: Chart, locale: str, _ticks: Any) -> None:
    """Stages top to bottom in their order, each bar centred and as wide as its value; the share is of the first."""
    values = [v if math.isfinite(v) else 0.0 for v in list(chart.series[0][1])[: len(chart.categories)]]
    widest, first = max(values), values[0] or max(values)
    lefts = [(widest - v) / 2 for v in values]
    axes.barh(range(len(values)), values, left=lefts, height=0.78, color=[PALETTE[0]] * len(values))
    for n, v in enumerate(values):
        text = f"{_value(v, chart.unit, locale)} ({formats.share(v / first, locale)})"
        if v > widest * 0.35:  # inside the bar while it fits, else just right of it
            axes.text(widest / 2, n, text, ha="center", va="center", color="white")
        else:
            axes.text(lefts[n] + v + widest * 0.02, n, text, ha="left", va="center", color=INK)
    axes.set_yticks(range(len(values)), list(chart.categories))
    axes.invert_yaxis()
    axes.set_xticks([])
    axes.spines[["bottom", "left"]].set_visible(False)
    axes.tick_params(axis="y", length=0)
    _place(axes, left=0.24, bottom=0.04, right=0.97)


def _place(axes: Any, *, left: float, bottom: float, right: float, top: float = 0.86) -> None:
    """Fixed margins (room for the title, the tick labels and a legend on the right): a layout engine would
    measure every text twice over and take most of the drawing's time."""
    axes.set_position((left, bottom, right - left, top - bottom))


DRAW: dict[str, Callable[[Any, Chart, str, Any], None]] = {
    "pie": _pie,
    "series": _series,
    "bars": _bars,
    "funnel": _funnel,
}


def _formatter(render: Callable[[float], str]) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: render(v))


def _value(v: float, unit: Unit, locale: str) -> str:
    return formats.value(v, unit, locale)


def _axis_value(v: float, unit: Unit, locale: str) -> str:
    if unit == "count" and v != int(v):
        return formats.number(v, locale, digits=1)
    return formats.value(v, unit, locale)


def _iso_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
