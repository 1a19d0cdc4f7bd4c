"""HTTP API of the workspace's report settings: ``GET/PUT /v1/reports/settings`` (the business hours)."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_platform.business_hours import MAX_HOLIDAYS, MAX_INTERVALS_PER_DAY, WEEKDAYS
from crm_platform.web import SECURITY, caller, json_response, runtime
from crm_reports.hours import service

api = APIBlueprint(
    "report_settings", __name__, url_prefix="/v1/reports", abp_tags=[Tag(name="reports")], abp_security=SECURITY
)


class Interval(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from", max_length=5, description="HH:MM, local time")
    to: str = Field(max_length=5, description="HH:MM, local time; 24:00 ends the day")


DayHours = list[Interval]
PER_DAY = MAX_INTERVALS_PER_DAY


class WeekHours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mon: DayHours = Field(default_factory=list, max_length=PER_DAY)
    tue: DayHours = Field(default_factory=list, max_length=PER_DAY)
    wed: DayHours = Field(default_factory=list, max_length=PER_DAY)
    thu: DayHours = Field(default_factory=list, max_length=PER_DAY)
    fri: DayHours = Field(default_factory=list, max_length=PER_DAY)
    sat: DayHours = Field(default_factory=list, max_length=PER_DAY)
    sun: DayHours = Field(default_factory=list, max_length=PER_DAY)


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business_hours: WeekHours | None = Field(
        description="intervals per weekday in the workspace's time zone; null: every hour counts"
    )
    holidays: list[date] = Field(default_factory=list, max_length=MAX_HOLIDAYS, description="local dates")


class IntervalOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str


class SettingsOut(BaseModel):
    time_zone: str = Field(description="the workspace's time zone (its settings in contacts)")
    business_hours: dict[str, list[IntervalOut]] | None
    holidays: list[str]
    version: int = Field(description='send If-Match: "<version>" on a PUT')


def _answer(body: dict):  # type: ignore[no-untyped-def,type-arg]
    return json_response(body, 200, {"ETag": f'"{body["version"]}"'})


@api.get("/settings", responses={200: SettingsOut}, summary="The workspace's report settings (business hours)")
def get_settings():  # type: ignore[no-untyped-def]
    return _answer(service.get(runtime().database.unit_of_work(), caller=caller()))


@api.put(
    "/settings",
    responses={200: SettingsOut},
    summary='Set the business hours response and close times may count (admins; If-Match: "<version>")',
)
def put_settings(body: SettingsIn):  # type: ignore[no-untyped-def]
    hours = None
    if body.business_hours is not None:
        hours = {day: [(span.from_, span.to) for span in getattr(body.business_hours, day)] for day in WEEKDAYS}
    answer = service.put(
        runtime().database.unit_of_work(),
        caller=caller(),
        hours=hours,
        holidays=body.holidays,
        if_match=request.headers.get("If-Match"),
    )
    return _answer(answer)
