"""``crm reports rebuild [--workspace ID]`` as an operator runs it: what it prints, and that the figures it leaves are
those derived from the kept facts (a stray rollup gone, the workspace's own time zone applied), one workspace or all.

The subprocess runs the service's own projections; the in-process run (the CLI's main with argv) adds the toy one
to them, so the figures it derives are checked whichever report features this checkout has."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_platform.cli import main as crm_main
from crm_platform.ids import new_id
from crm_reports import app
from crm_reports.rollups import Rollup
from crm_reports.workspaces import ReportWorkspace
from tests.integration.reports.rebuilds.toy import TOY, days, opened_in
from tests.support.stack import RunningService, service_env

CRM = str(Path(sys.executable).with_name("crm"))


def crm(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CRM, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def stray_rollup(service: RunningService, workspace_id: str) -> None:
    """A rollup no fact accounts for (what a bug or a hand edit leaves): a rebuild must not keep it."""
    with service.rt.database.unit_of_work() as uow:
        uow.session.add(Rollup(workspace_id=workspace_id, metric="stray", day=date(2026, 1, 1), member_id="", count=7))
        uow.commit()


def metrics(service: RunningService, workspace_id: str) -> set[str]:
    with service.rt.database.unit_of_work() as uow:
        return set(uow.session.execute(select(Rollup.metric).where(Rollup.workspace_id == workspace_id)).scalars())


def test_an_operator_rebuilds_one_workspace_then_all_and_sees_how_many_facts_each_had(
    reports_api: RunningService, database_url: str, tmp_path: Path
) -> None:
    acme, other = new_id(), new_id()
    for _ in range(3):
        opened_in(reports_api, acme)
    opened_in(reports_api, other)
    stray_rollup(reports_api, acme)
    stray_rollup(reports_api, other)
    env = service_env("reports", database_url, tmp_path)

    one = crm("reports", "rebuild", "--workspace", acme, env=env)

    assert one.returncode == 0, one.stderr
    assert re.fullmatch(rf"{acme}: 3 facts in \d+\.\d s\n", one.stdout)
    assert "stray" not in metrics(reports_api, acme)
    assert "stray" in metrics(reports_api, other)  # not asked for: untouched

    every = crm("reports", "rebuild", env=env)

    assert every.returncode == 0, every.stderr
    lines = sorted(every.stdout.splitlines())
    assert [line.split(" facts in ")[0] for line in lines] == sorted([f"{acme}: 3", f"{other}: 1"])
    assert "stray" not in metrics(reports_api, other)


def test_rebuild_with_no_facts_kept_says_so(database_url: str, tmp_path: Path) -> None:
    from crm_platform import migrations

    migrations.upgrade(app.SERVICE, database_url)

    answer = crm("reports", "rebuild", env=service_env("reports", database_url, tmp_path))

    assert answer.returncode == 0, answer.stderr
    assert answer.stdout == ""
    assert "no facts kept yet" in answer.stderr


def test_the_rebuild_derives_every_projection_in_the_workspaces_time_zone(
    reports_api: RunningService,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    acme = new_id()
    opened_in(reports_api, acme)  # 22:30 UTC on the 10th
    stray_rollup(reports_api, acme)
    with reports_api.rt.database.unit_of_work() as uow:
        row = uow.session.get(ReportWorkspace, acme)
        assert row is not None
        row.time_zone = "Asia/Tokyo"  # changed behind the figures' back: only a rebuild moves them
        uow.commit()
    for name, value in service_env("reports", database_url, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(app, "PROJECTIONS", (*app.PROJECTIONS, TOY))

    assert crm_main(["reports", "rebuild", "--workspace", acme]) == 0

    assert capsys.readouterr().out.startswith(f"{acme}: 1 facts in ")
    assert days(reports_api, acme) == [(date(2026, 3, 11), 1)]  # 07:30 in Tokyo
    assert metrics(reports_api, acme) == {"opened"}
