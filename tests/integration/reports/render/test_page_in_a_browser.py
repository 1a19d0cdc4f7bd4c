"""The HTML page as a real browser draws it: served over loopback HTTP, shot by headless Chromium, looked at.

The screenshot and the printed PDF are kept as ``var/test-artifacts/report-page-<db>.png`` and ``.pdf``, for a
person to look at too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from crm_platform.ids import new_id
from crm_reports.render.charts import PALETTE
from tests.support import browser
from tests.support.stack import RunningService

pytestmark = pytest.mark.usefixtures("demo_report")
HEADER = 140  # px: the title and the period, above every chart


def near(pixel: tuple[int, ...], colour: str, tolerance: int = 24) -> bool:
    wanted = (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], wanted, strict=True))


def test_the_page_as_served_draws_its_charts_in_colour(
    reports_api: RunningService, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    headers = {**reports_api.auth(new_id()), "Accept-Language": "es"}
    with browser.served(reports_api.client.application, headers=headers) as base:
        url = f"{base}/v1/reports/render_demo.html?from=2026-03-01&to=2026-03-31"
        png = browser.screenshot(url, tmp_path / f"report-page-{request.node.callspec.id}.png", profile=tmp_path / "p")
        pdf = browser.printed(url, tmp_path / f"report-page-{request.node.callspec.id}.pdf", profile=tmp_path / "p")
    kept = browser.keep(png)
    browser.keep(pdf)
    printed = pdf.read_bytes()
    assert printed.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", printed)) >= 2  # it prints, on pages

    image = Image.open(png).convert("RGB")
    assert image.size == (1200, 1600)
    small = image.resize((300, 400))  # every 4th pixel is enough to see what is where
    pixels = [(x * 4, y * 4, small.getpixel((x, y))) for y in range(400) for x in range(300)]
    not_white = [p for p in pixels if sum(p[2][:3]) < 3 * 235]  # type: ignore[index]
    assert len(not_white) > len(pixels) * 0.03, f"the page looks blank: {kept}"
    assert any(y < HEADER and sum(c[:3]) < 200 for _x, y, c in pixels), "no dark title at the top"  # type: ignore[index]
    for colour in PALETTE[:2]:  # the first series' blue, the second's orange
        found = [(x, y) for x, y, c in pixels if near(c, colour)]  # type: ignore[arg-type]
        assert len(found) > 40, f"{colour} missing from the charts: {kept}"
        assert min(y for _x, y in found) > HEADER, f"{colour} outside the chart area: {kept}"
