"""The HTTP answers every registered report gives (``report.register``): ``GET /v1/reports/{report}`` as JSON.

One route for every report, so a new report gets every output by registering; an unknown report is 404."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from crm_platform.errors import NotFound
from crm_platform.web import SECURITY, caller, json_response, runtime
from crm_reports.report import REPORTS, Report, ReportQuery, Spec

api = APIBlueprint(
    "report_outputs", __name__, url_prefix="/v1/reports", abp_tags=[Tag(name="reports")], abp_security=SECURITY
)


class ReportPath(BaseModel):
    report: str = Field(
        max_length=32, pattern=r"^[a-z_]+$", description="conversations, tickets, funnel, sources, mail"
    )


def spec_of(key: str) -> Spec:
    spec = REPORTS.get(key)
    if spec is None:
        raise NotFound("no such report")
    return spec


def build(key: str, query: ReportQuery) -> Report:
    """The report the caller asked for, built in one read-only transaction."""
    spec = spec_of(key)
    with runtime().database.unit_of_work() as uow:
        return spec.build(uow, caller(), query)


@api.get("/<report>", summary="A report's figures, tables and charts over a range, as JSON")
def report_json(path: ReportPath, query: ReportQuery):  # type: ignore[no-untyped-def]
    return json_response(build(path.report, query).as_json())
