"""Every output of a registered report over HTTP (JSON, CSV, SVG, HTML), in English and Spanish, as a caller sees it."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from base64 import b64decode

import pytest

from crm_platform.ids import new_id
from crm_reports.render.charts import PALETTE
from tests.support.stack import RunningService

pytestmark = pytest.mark.usefixtures("demo_report")
BASE = "/v1/reports/render_demo"
MARCH = "from=2026-03-01&to=2026-03-31"
SVG = "{http://www.w3.org/2000/svg}"


def get(reports: RunningService, url: str, *, language: str = "en", **auth: str) -> object:
    headers = {**reports.auth(auth.pop("workspace", None) or new_id(), **auth), "Accept-Language": language}
    return reports.client.get(url, headers=headers)


def csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_each_output_has_its_own_route_and_none_shadows_another(reports_api: RunningService) -> None:
    answers = {
        f"{BASE}?{MARCH}": "application/json",
        f"{BASE}.csv?table=by_member&{MARCH}": "text/csv; charset=utf-8",
        f"{BASE}.html?{MARCH}": "text/html; charset=utf-8",
        f"{BASE}/charts/by_day.svg?{MARCH}": "image/svg+xml; charset=utf-8",
    }
    for url, content_type in answers.items():
        response = get(reports_api, url)
        assert response.status_code == 200, (url, response.get_json())  # type: ignore[attr-defined]
        assert response.headers["Content-Type"] == content_type, url  # type: ignore[attr-defined]


def test_an_unknown_report_table_or_chart_is_a_404_problem(reports_api: RunningService) -> None:
    for url in (
        f"/v1/reports/nosuch?{MARCH}",
        "/v1/reports/nosuch.csv?table=by_member",
        "/v1/reports/nosuch.html",
        "/v1/reports/nosuch/charts/by_day.svg",
        f"{BASE}.csv?table=nosuch",
        f"{BASE}/charts/nosuch.svg",
    ):
        response = get(reports_api, url)
        assert response.status_code == 404, url  # type: ignore[attr-defined]
        assert response.headers["Content-Type"] == "application/problem+json"  # type: ignore[attr-defined]


def test_every_output_needs_a_token_and_a_csv_needs_its_table(reports_api: RunningService) -> None:
    for url in (BASE, f"{BASE}.csv?table=by_member", f"{BASE}.html", f"{BASE}/charts/by_day.svg"):
        assert reports_api.client.get(url).status_code == 401, url
    missing = get(reports_api, f"{BASE}.csv?{MARCH}")
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert "table" in str(missing.get_json())  # type: ignore[attr-defined]


def test_an_agent_asking_for_another_members_page_gets_404(reports_api: RunningService) -> None:
    response = get(reports_api, f"{BASE}.html?member=someone-else", user_id="agent-1", role="agent")
    assert response.status_code == 404  # type: ignore[attr-defined]
    own = get(reports_api, f"{BASE}.html", user_id="agent-1", role="agent")
    assert "agent-1" in own.get_data(as_text=True)  # type: ignore[attr-defined]


def test_the_json_labels_are_in_the_callers_language(reports_api: RunningService) -> None:
    english = get(reports_api, f"{BASE}?{MARCH}").get_json()  # type: ignore[attr-defined]
    spanish = get(reports_api, f"{BASE}?{MARCH}", language="es-ES,es;q=0.9")
    body = spanish.get_json()  # type: ignore[attr-defined]

    assert spanish.headers["Content-Language"] == "es"  # type: ignore[attr-defined]
    assert [f["label"] for f in english["figures"]] == ["Count", "Median", "Share"]
    assert [f["label"] for f in body["figures"]] == ["Recuento", "Mediana", "Proporción"]
    assert [c["label"] for c in body["tables"][0]["columns"]] == ["Miembro", "Recuento", "Mediana", "Note"]
    assert body["charts"][0]["categories"] == ["Email", "Otro"]
    assert body["charts"][1]["categories"][0] == "2026-03-01"  # buckets stay ISO dates
    assert body["tables"][0]["rows"] == english["tables"][0]["rows"]  # data is never translated


def test_a_csv_is_one_table_with_translated_headers_and_no_formula(reports_api: RunningService) -> None:
    response = get(reports_api, f"{BASE}.csv?table=by_member&{MARCH}", language="es")

    assert response.headers["Content-Disposition"] == (  # type: ignore[attr-defined]
        'attachment; filename="render_demo-by_member-2026-03-01-2026-03-31.csv"'
    )
    header, *rows = csv_rows(response.data)  # type: ignore[attr-defined]
    assert header == ["Miembro", "Recuento", "Mediana (segundos)", "Mediana (legible)", "Note"]
    assert rows[0] == ["Ana", "10", "3725.5", "1h 02m 06s", '\'=HYPERLINK("http://evil.test","click")']
    assert rows[1][4] == "'+1" and rows[2][4] == "'-2"
    assert rows[3] == ["'@SUM(A1:A9)", "-2", "", "", "'@SUM(A1:A9)"]  # a real -2 stays a number
    assert rows[4][0] == "'\tcmd"
    assert [row[0] for row in rows[:3]] == ["Ana", "Luis", "Marta"]


@pytest.mark.parametrize("chart", ["channels", "by_day", "members", "stages"])
def test_each_kind_of_chart_is_an_svg_drawn_in_colour(reports_api: RunningService, chart: str) -> None:
    response = get(reports_api, f"{BASE}/charts/{chart}.svg?{MARCH}", language="es")

    root = ET.fromstring(response.data)  # type: ignore[attr-defined]
    assert root.tag == f"{SVG}svg"
    assert root.findtext(f"{SVG}title") in {"Proporción", "Día", "Miembro", "Embudo"}
    fills = set(re.findall(r"(?:fill|stroke):\s*(#[0-9a-f]{6})", response.get_data(as_text=True)))  # type: ignore[attr-defined]
    assert PALETTE[0].lower() in fills
    if chart in ("channels", "by_day"):  # two slices, two lines
        assert PALETTE[1].lower() in fills


def test_a_chart_without_data_says_so_in_the_callers_language(reports_api: RunningService) -> None:
    for language, sentence in (("en", "No data in this period"), ("es", "Sin datos en este periodo")):
        response = get(reports_api, f"{BASE}/charts/quiet.svg?{MARCH}", language=language)
        assert response.status_code == 200  # type: ignore[attr-defined]
        root = ET.fromstring(response.data)  # type: ignore[attr-defined]
        assert root.findtext(f"{SVG}desc") == sentence
        assert PALETTE[0].lower() not in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_the_page_holds_every_figure_chart_and_table_and_fetches_nothing(reports_api: RunningService) -> None:
    response = get(reports_api, f"{BASE}.html?{MARCH}", language="es")
    page = response.get_data(as_text=True)  # type: ignore[attr-defined]

    assert response.headers["Content-Language"] == "es"  # type: ignore[attr-defined]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]  # type: ignore[attr-defined]
    assert '<html lang="es">' in page
    assert "1 mar 2026 a 31 mar 2026" in page
    for text in ("Cifras", "Gráficos", "Recuento", "Mediana", "1h 02m 05s", "mediana 30m 00s · p90 2h 01m 00s"):
        assert text in page, text
    assert "25\xa0%" in page  # the share, written the Spanish way (a no-break space before the sign)
    images = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]*)"', page)
    assert [alt for _src, alt in images] == ["Proporción", "Día", "Miembro", "Embudo", "Promedio"]
    assert all(ET.fromstring(b64decode(src)).tag == f"{SVG}svg" for src, _alt in images)
    assert "Sin filas en este periodo." in page  # the empty table
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page  # a cell is text, never markup
    outside = re.sub(r'src="data:[^"]+"', "", page)
    assert "<script" not in outside and "http://" not in outside.replace("http://evil.test", "")
    assert "https://" not in outside and "<link" not in outside


def test_the_page_in_english_reads_in_english(reports_api: RunningService) -> None:
    page = get(reports_api, f"{BASE}.html?{MARCH}&bucket=week").get_data(as_text=True)  # type: ignore[attr-defined]
    for text in (
        "Figures",
        "Charts",
        "Mar 1, 2026 to Mar 31, 2026",
        "By week",
        "Count",
        "25%",
        "Invented for the tests",
    ):
        assert text in page, text
