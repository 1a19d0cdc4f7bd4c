"""HTTP API of the workspace's report settings: ``GET/PUT /v1/reports/settings`` (the business hours)."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_platform.business_hours import MAX_HOLIDAYS
from crm_platform.business_hours_schema import IntervalOut, WeekHours, spans
from crm_platform.versioning import etag
from crm_platform.web import SECURITY, caller, json_response, runtime
from crm_reports.hours import service

api = APIBlueprint(
    "report_settings", __name__, url_prefix="/v1/reports", abp_tags=[Tag(name="reports")], abp_security=SECURITY
)


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business_hours: WeekHours | None = Field(
        description="intervals per weekday in the workspace's time zone; null: every hour counts"
    )
    holidays: list[date] = Field(default_factory=list, max_length=MAX_HOLIDAYS, description="local dates")


class SettingsOut(BaseModel):
    time_zone: str = Field(description="the workspace's time zone (its settings in contacts)")
    business_hours: dict[str, list[IntervalOut]] | None
    holidays: list[str]
    version: int = Field(description='send If-Match: "<version>" on a PUT')


def _answer(body: dict):  # type: ignore[no-untyped-def,type-arg]
    return json_response(body, 200, {"ETag": etag(body["version"])})


@api.get("/settings", responses={200: SettingsOut}, summary="The workspace's report settings (business hours)")
def get_settings():  # type: ignore[no-untyped-def]
    return _answer(service.get(runtime().database.unit_of_work(), caller=caller()))


@api.put(
    "/settings",
    responses={200: SettingsOut},
    summary='Set the business hours response and close times may count (admins; If-Match: "<version>")',
)
def put_settings(body: SettingsIn):  # type: ignore[no-untyped-def]
    hours = None if body.business_hours is None else spans(body.business_hours)
    answer = service.put(
        runtime().database.unit_of_work(),
        caller=caller(),
        hours=hours,
        holidays=body.holidays,
        if_match=request.headers.get("If-Match"),
    )
    return _answer(answer)
