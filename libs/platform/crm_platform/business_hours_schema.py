"""The HTTP shape of a business calendar, shared by every settings endpoint that takes one (tickets' SLA settings,
the reports' settings): intervals per weekday in, the same intervals out, and the spans the rules check."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from crm_platform.business_hours import MAX_INTERVALS_PER_DAY, WEEKDAYS


class Interval(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from", max_length=5, description="HH:MM, local time")
    to: str = Field(max_length=5, description="HH:MM, local time; 24:00 ends the day")


DayHours = list[Interval]


class WeekHours(BaseModel):
    """Business hours per weekday in the workspace's time zone; a day left out has none."""

    model_config = ConfigDict(extra="forbid")
    mon: DayHours = Field(default_factory=list, max_length=MAX_INTERVALS_PER_DAY)
    tue: DayHours = Field(default_factory=list, max_length=MAX_INTERVALS_PER_DAY)
    wed: DayHours = Field(default_factory=list, max_length=MAX_INTERVALS_PER_DAY)
    thu: DayHours = Field(default_factory=list, max_length=MAX_INTERVALS_PER_DAY)
    fri: DayHours = Field(default_factory=list, max_length=MAX_INTERVALS_PER_DAY)
    sat: DayHours = Field(default_factory=list, max_length=MAX_INTERVALS_PER_DAY)
    sun: DayHours = Field(default_factory=list, max_length=MAX_INTERVALS_PER_DAY)


class IntervalOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str


def spans(week: WeekHours) -> dict[str, list[tuple[str, str]]]:
    """The ``(from, to)`` clock strings per weekday, as ``business_hours.check_calendar`` takes them."""
    return {day: [(span.from_, span.to) for span in getattr(week, day)] for day in WEEKDAYS}
