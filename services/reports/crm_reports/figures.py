"""Plain functions the figures are made of: percentiles, and days folded into weeks or months. No I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

BUCKETS = ("day", "week", "month")


@dataclass(frozen=True)
class Stats:
    count: int
    average: float | None
    percentiles: tuple[float | None, ...]

    @property
    def median(self) -> float | None:
        return self.percentiles[0] if self.percentiles else None


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of the sorted values lie, interpolated between the two nearest ranks
    (what PostgreSQL's ``percentile_cont`` gives, so both databases agree)."""
    if not ordered:
        raise ValueError("no values")
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def stats(values: Iterable[float], fractions: Sequence[float] = (0.5, 0.9)) -> Stats:
    """Count, average and percentiles of some durations (None where there are none)."""
    ordered = sorted(values)
    if not ordered:
        return Stats(0, None, tuple(None for _ in fractions))
    return Stats(
        len(ordered), sum(ordered) / len(ordered), tuple(percentile(ordered, fraction) for fraction in fractions)
    )


def bucket_of(day: date, bucket: str) -> date:
    """The first day of the bucket ``day`` falls in: itself, its ISO week's Monday, or its month's first day."""
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown bucket {bucket!r}")


def buckets(start: date, end: date, bucket: str) -> list[date]:
    """Every bucket of the days ``[start, end]``, in order (the first and last may be partial)."""
    found: list[date] = []
    day = start
    while day <= end:
        first = bucket_of(day, bucket)
        if not found or found[-1] != first:
            found.append(first)
        day += timedelta(days=1)
    return found


def series(values_by_day: Mapping[date, float], start: date, end: date, bucket: str) -> list[tuple[date, float]]:
    """Daily values added up per bucket over ``[start, end]``, every bucket present (zero where nothing was)."""
    totals = dict.fromkeys(buckets(start, end, bucket), 0.0)
    for day, value in values_by_day.items():
        if start <= day <= end:
            totals[bucket_of(day, bucket)] += value
    return list(totals.items())


def ratio(part: float, whole: float) -> float | None:
    """``part / whole``, None when there is no whole (a rate of nothing is not 0%)."""
    return part / whole if whole else None
