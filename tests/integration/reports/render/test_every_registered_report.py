"""Every report the service registers answers every output, in both languages, also before any event arrived."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import crm_reports.app  # noqa: F401 - registers the service's reports
from crm_platform.ids import new_id
from crm_reports.report import REPORTS
from tests.support.stack import RunningService

REGISTERED = sorted(key for key in REPORTS if key != "render_demo")


def test_the_service_registers_its_reports() -> None:
    assert {"funnel", "mail", "sources", "tickets"} <= set(REGISTERED)


@pytest.mark.parametrize("key", REGISTERED)
def test_a_registered_report_answers_json_csv_svg_and_html(reports_api: RunningService, key: str) -> None:
    for language in ("en", "es"):
        headers = {**reports_api.auth(new_id()), "Accept-Language": language}
        base = f"/v1/reports/{key}"
        answer = reports_api.client.get(f"{base}?from=2026-03-01&to=2026-03-31", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        for table in body["tables"]:
            csv = reports_api.client.get(f"{base}.csv?table={table['key']}&from=2026-03-01", headers=headers)
            assert csv.status_code == 200, (table["key"], csv.get_json())
            assert csv.data.startswith(b"\xef\xbb\xbf")
        for chart in body["charts"]:
            svg = reports_api.client.get(f"{base}/charts/{chart['key']}.svg?from=2026-03-01", headers=headers)
            assert svg.status_code == 200, (chart["key"], svg.get_json())
            assert ET.fromstring(svg.data).findtext("{http://www.w3.org/2000/svg}title") == chart["label"]
        page = reports_api.client.get(f"{base}.html?from=2026-03-01&to=2026-03-31", headers=headers)
        assert page.status_code == 200
        assert page.get_data(as_text=True).count('<img src="data:image/svg+xml') == len(body["charts"])
        assert body["title"] in page.get_data(as_text=True).replace("&#39;", "'")
