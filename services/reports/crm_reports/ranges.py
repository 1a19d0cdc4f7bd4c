"""A report's range: whole days in the workspace's time zone, both ends included. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from crm_platform.errors import FieldError, InvalidInput, phrase

DEFAULT_DAYS = 30
MAX_DAYS = 3661


@dataclass(frozen=True)
class DateRange:
    """The days ``start`` to ``end``, both included, in ``zone``."""

    start: date
    end: date
    zone: tzinfo

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def instants(self) -> tuple[datetime, datetime]:
        """The UTC instants ``[first midnight, midnight after the last day)``: exact across DST changes."""
        first = datetime.combine(self.start, time.min, tzinfo=self.zone)
        after = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.zone)
        return first.astimezone(UTC), after.astimezone(UTC)

    def as_json(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "time_zone": str(self.zone)}


def _day(raw: str, field: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            "invalid range",
            errors=[FieldError(field, phrase("{value} is not an ISO 8601 date (YYYY-MM-DD)", value=repr(raw)))],
        ) from None


def resolve(raw_from: str | None, raw_to: str | None, *, zone: tzinfo, now: datetime) -> DateRange:
    """The range a request names; by default the 30 days up to today (in ``zone``)."""
    end = _day(raw_to, "to") if raw_to else now.astimezone(zone).date()
    start = _day(raw_from, "from") if raw_from else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInput("invalid range", errors=[FieldError("from", "must not be after 'to'", "range_inverted")])
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(
            "invalid range", errors=[FieldError("from", "the range can span at most 10 years", "range_too_long")]
        )
    return DateRange(start, end, zone)
