"""How a value reads in a language: numbers, shares and durations, for the page, the charts and the CSV. No I/O."""

from __future__ import annotations

import functools
import math
from datetime import date

from babel.core import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from crm_reports.report import Unit


def duration(seconds: float | None) -> str:
    """``3725`` -> ``1h 02m 05s``; the same in every language (h, m, s and d read alike in English and Spanish)."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    sign, left = ("-" if seconds < 0 else ""), round(abs(seconds))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


def number(value: float | int, locale: str, *, digits: int = 2) -> str:
    return format_decimal(value, format=f"#,##0.{'#' * digits}" if digits else "#,##0", locale=locale)


def share(value: float, locale: str) -> str:
    """``0.256`` -> ``25.6%`` (``25,6 %`` in Spanish): the language's own pattern, with one decimal when needed."""
    return format_percent(value, format=_percent_pattern(locale), locale=locale)


@functools.cache
def _percent_pattern(locale: str) -> str:
    pattern = Locale.parse(locale).percent_formats[None].pattern
    return pattern.replace("#,##0", "#,##0.#", 1)


def value(raw: object, unit: Unit, locale: str) -> str:
    """A figure or a table cell as a reader sees it on the page."""
    if raw is None or (isinstance(raw, float) and not math.isfinite(raw)):
        return "\N{EN DASH}"
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return day(raw, locale) if unit == "date" else str(raw)
    if unit == "seconds":
        return duration(raw)
    if unit == "ratio":
        return share(raw, locale)
    return number(raw, locale)


def day(raw: object, locale: str) -> str:
    """An ISO date in the language's medium form (``1 Mar 2026``, ``1 mar 2026``); anything else as given."""
    try:
        parsed = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    except ValueError:
        return str(raw)
    return format_date(parsed, format="medium", locale=locale)
