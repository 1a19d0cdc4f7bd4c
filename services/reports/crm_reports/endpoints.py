"""The HTTP answers every registered report gives (``report.register``), all made from its one ``Report``:

- ``GET /v1/reports/{report}``: JSON;
- ``GET /v1/reports/{report}.csv?table=...``: one table as a CSV file (``render.spreadsheet``);
- ``GET /v1/reports/{report}/charts/{chart}.svg``: one chart, drawn on the server (``render.charts``);
- ``GET /v1/reports/{report}.html``: a self-contained page with every figure, chart and table (``render.page``).

One set of routes for every report, so a new report gets every output by registering; an unknown report, table or
chart is 404. Labels come in the caller's language (``Accept-Language``, else the workspace's, else English).
Werkzeug tries a rule with more fixed text first, so ``/x.csv`` and ``/x.html`` never reach ``/<report>`` (whose
pattern would refuse the dot anyway); tests/integration/reports/render pins each route."""

from __future__ import annotations

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_platform.db import utcnow
from crm_platform.errors import NotFound, msgid
from crm_platform.i18n import Translator
from crm_platform.web import SECURITY, caller, json_response, runtime, translator
from crm_reports.render import charts, page, spreadsheet
from crm_reports.render.localize import localize
from crm_reports.report import REPORTS, Report, ReportQuery, Spec

api = APIBlueprint(
    "report_outputs", __name__, url_prefix="/v1/reports", abp_tags=[Tag(name="reports")], abp_security=SECURITY
)
NO_DATA = msgid("No data in this period")
# Nothing on the page is fetched or run: the page and the charts say so to the browser too.
PAGE_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'"
KEY = r"^[a-z][a-z0-9_]*$"
JSON = {
    "description": "title, range, figures, tables (columns, rows) and charts (kind, categories, series)",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
CSV = {
    "description": "one table: a header row of its columns' labels, then its rows (UTF-8 with BOM)",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}
SVG = {"description": "the chart, drawn", "content": {"image/svg+xml": {"schema": {"type": "string"}}}}
HTML = {
    "description": "a self-contained page: inline CSS, the charts inlined, no script",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


class ReportPath(BaseModel):
    report: str = Field(
        max_length=32, pattern=r"^[a-z_]+$", description="conversations, tickets, funnel, sources, mail"
    )


class ChartPath(ReportPath):
    chart: str = Field(max_length=64, pattern=KEY, description="the chart's key, as in the JSON's charts")


class TableQuery(ReportQuery):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    table: str = Field(max_length=64, pattern=KEY, description="the table's key, as in the JSON's tables")


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


def localized(key: str, query: ReportQuery) -> tuple[Report, Translator]:
    translate = translator()
    return localize(build(key, query), translate), translate


def _in_language(response: Response, locale: str) -> Response:
    response.headers["Content-Language"] = locale
    response.vary.add("Accept-Language")
    return response


@api.get("/<report>", responses={200: JSON}, summary="A report's figures, tables and charts over a range, as JSON")
def report_json(path: ReportPath, query: ReportQuery):  # type: ignore[no-untyped-def]
    report, translate = localized(path.report, query)
    return _in_language(json_response(report.as_json()), translate.locale)


@api.get(
    "/<report>.csv",
    responses={200: CSV},
    summary="One table of a report as CSV (UTF-8 with BOM; durations in seconds and as h:m:s)",
)
def report_csv(path: ReportPath, query: TableQuery):  # type: ignore[no-untyped-def]
    report, translate = localized(path.report, query)
    table = report.table(query.table)
    response = Response(spreadsheet.table_csv(table, translate), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{spreadsheet.filename(report, table)}"'
    return _in_language(response, translate.locale)


@api.get(
    "/<report>/charts/<chart>.svg", responses={200: SVG}, summary="One chart of a report as SVG, drawn on the server"
)
def report_chart(path: ChartPath, query: ReportQuery):  # type: ignore[no-untyped-def]
    report, translate = localized(path.report, query)
    drawn = charts.svg(report.chart(path.chart), locale=translate.locale, no_data=translate(NO_DATA))
    response = Response(drawn, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return _in_language(response, translate.locale)


@api.get("/<report>.html", responses={200: HTML}, summary="A report as one self-contained, printable HTML page")
def report_html(path: ReportPath, query: ReportQuery):  # type: ignore[no-untyped-def]
    report, translate = localized(path.report, query)
    no_data = translate(NO_DATA)
    drawn = {chart.key: charts.svg(chart, locale=translate.locale, no_data=no_data) for chart in report.charts}
    body = page.html(report, locale=translate.locale, translate=translate, charts=drawn, now=utcnow())
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return _in_language(response, translate.locale)
