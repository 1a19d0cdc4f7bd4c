"""``crm contacts import`` and ``crm contacts export``: the job and export code, with a progress bar on stderr."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crm_platform import cli
from tests.integration.contacts.support.lists import Tenant
from tests.support.stack import service_env


@pytest.fixture
def cli_env(acme: Tenant, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Tenant:
    for name, value in service_env("contacts", acme.api.rt.settings.database_url, tmp_path).items():
        monkeypatch.setenv(name, value)
    return acme


def test_cli_import_runs_the_job_here_and_shows_progress_and_row_errors(
    cli_env: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "people.csv"
    source.write_text("name,email\nEva Sol,eva@example.com\nBad,not-an-email\n", encoding="utf-8")

    dry = cli.main(["contacts", "import", str(source), "--workspace", cli_env.id, "--dry-run"])
    dry_out = capsys.readouterr()
    real = cli.main(["contacts", "import", str(source), "--workspace", cli_env.id, "--user", cli_env.agent])
    real_out = capsys.readouterr()

    assert (dry, real) == (0, 0)
    assert "would create 1, 1 row(s) with errors" in dry_out.out
    assert "created 1, 1 row(s) with errors" in real_out.out
    assert "[##############################] 2/2" in real_out.err
    assert "row 3: email:" in real_out.err
    assert source.exists()  # the user's file is left alone
    [eva] = cli_env.get("/v1/contacts?email=eva@example.com").get_json()["items"]
    assert eva["owner_id"] == cli_env.agent


def test_cli_export_writes_the_filtered_contacts_to_a_file(
    cli_env: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.csv"

    code = cli.main(["contacts", "export", "--workspace", cli_env.id, "--filter", "tag=vip", "-o", str(target)])

    assert code == 0
    with target.open(newline="", encoding="utf-8") as handle:
        assert [row["name"] for row in csv.DictReader(handle)] == ["Ana Ruiz", "Álvaro Núñez"]
    assert "2/2" in capsys.readouterr().err


def test_cli_export_refuses_a_bad_filter(cli_env: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["contacts", "export", "--workspace", cli_env.id, "--filter", "stars=9"]) == 1
    assert "stars" in capsys.readouterr().err
