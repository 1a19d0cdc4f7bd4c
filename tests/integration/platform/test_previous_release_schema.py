"""The previous release's code runs against a schema the current code migrated to head (one-release compatibility).

The previous release is the newest one in CHANGELOG.md with a commit; its libs/platform and services are
exported with `git archive` (so the test needs the repository's history), then imported in a subprocess
ahead of the installed packages. A migration that drops or renames a table or column the previous release
maps, or adds a NOT NULL column without a server default (its INSERTs would fail), fails the test.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, pool

from crm_platform import migrations
from crm_platform.db import create_db_engine
from crm_platform.service import discover
from tests.support import infra

REPO = pathlib.Path(__file__).resolve().parents[3]
SERVICES = sorted(discover())

# Run with the previous release first on the path: map every table of its metadata onto the database.
READ_WITH_PREVIOUS_MODELS = """
import json, sys
from importlib import import_module
from sqlalchemy import create_engine, select
import crm_platform
assert crm_platform.__file__.startswith(sys.argv[1]), f"not the previous release: {crm_platform.__file__}"
module, attribute = sys.argv[2].split(":")
spec = getattr(import_module(module), attribute)
engine = create_engine(sys.argv[3])
with engine.connect() as connection:
    for table in spec.metadata.sorted_tables:
        connection.execute(select(table).limit(0)).all()
engine.dispose()
print(json.dumps({table.name: [column.name for column in table.columns] for table in spec.metadata.sorted_tables}))
"""

RUN_PREVIOUS_CLI = """
import sys
import crm_platform, crm_contacts
for module in (crm_platform, crm_contacts):
    assert module.__file__.startswith(sys.argv[1]), f"not the previous release: {module.__file__}"
from crm_platform.cli import main
sys.exit(main(sys.argv[2:]))
"""


def previous_release() -> tuple[str, str]:
    """(version, commit) of the newest release of CHANGELOG.md below Unreleased."""
    text = (REPO / "CHANGELOG.md").read_text()
    found = re.search(r"^## (\d+\.\d+\.\d+)\s*\n+Commit: `([0-9a-f]{40})`", text, re.MULTILINE)
    assert found, "CHANGELOG.md names no release with a `Commit:` line"
    return found[1], found[2]


@pytest.fixture(scope="module")
def previous_code(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    version, commit = previous_release()
    known = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"], check=False)
    if known.returncode != 0:
        pytest.fail(f"release {version} ({commit}) is not in this clone's history; fetch it (git fetch --unshallow)")
    target = tmp_path_factory.mktemp(f"release-{version}")
    archive = target / "code.tar"
    subprocess.run(
        ["git", "-C", str(REPO), "archive", "-o", str(archive), commit, "libs/platform", "services"],
        check=True,
        timeout=120,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


def _entry_point(code: pathlib.Path, service: str) -> str:
    project = tomllib.loads((code / "services" / service / "pyproject.toml").read_text())
    return project["project"]["entry-points"]["crm.services"][service]


@pytest.fixture
def head_database(request: pytest.FixtureRequest) -> Iterator[str]:
    with infra.fresh_postgres("crm_upgrade") as url:
        migrations.upgrade(discover()[request.param], url)
        yield url


@pytest.mark.parametrize("head_database", SERVICES, indirect=True, ids=SERVICES)
def test_previous_release_models_read_and_write_the_schema_at_head(
    previous_code: pathlib.Path, head_database: str, request: pytest.FixtureRequest
) -> None:
    service = request.node.callspec.id
    old_paths = [previous_code / "libs" / "platform", *sorted((previous_code / "services").iterdir())]
    env = os.environ | {"PYTHONPATH": os.pathsep.join(map(str, old_paths))}
    read = subprocess.run(
        [
            sys.executable,
            "-c",
            READ_WITH_PREVIOUS_MODELS,
            str(previous_code),
            _entry_point(previous_code, service),
            head_database,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert read.returncode == 0, f"{service}: the previous release cannot read the new schema:\n{read.stderr}"
    previous_columns: dict[str, list[str]] = json.loads(read.stdout.splitlines()[-1])

    engine = create_db_engine(head_database, poolclass=pool.NullPool)
    try:
        inspector = inspect(engine)
        unwritable = [
            f"{table}.{column['name']}"
            for table, known in previous_columns.items()
            for column in inspector.get_columns(table)
            if column["name"] not in known and not column["nullable"] and column.get("default") is None
        ]
    finally:
        engine.dispose()
    assert previous_columns, f"{service}: the previous release maps no table"
    assert unwritable == [], f"{service}: NOT NULL columns without a default break the previous release's INSERTs"


def test_previous_release_creates_a_workspace_in_a_database_migrated_by_the_current_code(
    previous_code: pathlib.Path,
) -> None:
    """The old CLI's INSERTs, not only its SELECTs, on the new schema: what a rollback runs first."""
    with infra.fresh_postgres("crm_upgrade") as url:
        migrations.upgrade(discover()["contacts"], url)
        old_paths = [previous_code / "libs" / "platform", *sorted((previous_code / "services").iterdir())]
        env = os.environ | {
            "PYTHONPATH": os.pathsep.join(map(str, old_paths)),
            "CONTACTS_DATABASE_URL": url,
            "CRM_ENV": "production",
            "CRM_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
            "CRM_JWT_JWKS_URL": "https://login.example.org/.well-known/jwks.json",
        }
        env.pop("CRM_JWT_SECRET", None)
        created = subprocess.run(
            [
                *(sys.executable, "-c", RUN_PREVIOUS_CLI, str(previous_code)),
                *("workspace", "create", "Rollback Co", "--admin-email", "a@b.co"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert created.returncode == 0, created.stderr
        assert len(created.stdout.split()) == 2
