"""HTTP API of the summary report."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_platform.db import utcnow
from crm_platform.openapi import QueryModel
from crm_platform.web import SECURITY, caller, json_response, runtime
from crm_reports.summary import represent, rules, service

api = APIBlueprint("reports", __name__, url_prefix="/v1/reports", abp_tags=[Tag(name="reports")], abp_security=SECURITY)


class SummaryQuery(QueryModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str | None = Field(default=None, alias="from", description="ISO 8601 date or date-time (inclusive)")
    to: str | None = Field(default=None, description="ISO 8601 date (inclusive) or date-time (exclusive)")


class SummaryOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    contacts_created: int
    tickets_opened: int
    public_comments: int
    emails_delivered: int
    conversation_messages: int


@api.get("/summary", responses={200: SummaryOut}, summary="Activity counts in a date range")
def summary(query: SummaryQuery):  # type: ignore[no-untyped-def]
    start, end = rules.resolve_range(query.from_, query.to, utcnow())
    counts = service.summarize(runtime().database.unit_of_work(), caller=caller(), start=start, end=end)
    return json_response(represent.summary(start, end, counts))
