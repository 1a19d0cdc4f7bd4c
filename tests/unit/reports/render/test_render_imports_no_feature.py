"""The renderers are a base of the reports service: they import its foundation, never a report feature."""

from __future__ import annotations

import ast
from pathlib import Path

import crm_reports.render

FOUNDATION = {"crm_reports.report", "crm_reports.ranges", "crm_reports.render"}


def test_the_renderers_import_no_report_feature() -> None:
    imported: set[str] = set()
    for source in Path(crm_reports.render.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    ours = {name for name in imported if name.startswith("crm_reports")}
    assert ours, "the scan found no import of the service at all"
    assert {name for name in ours if not any(name == f or name.startswith(f + ".") for f in FOUNDATION)} == set()
