"""Schemathesis over every operation of every service, as a client holding an admin token would call them.

Run in all-in-one mode (SQLite) and on PostgreSQL, in-process through the platform's WSGI front door.
Each operation gets a bounded number of generated requests (``CRM_SCHEMATHESIS_EXAMPLES``, 8 by default)
and every answer must pass: no 5xx, a documented status, a documented media type, a body that matches
the documented schema. The counts are printed; the bar is 0 failures.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crm_platform import discovery
from crm_platform.allinone import AllInOne, environment
from crm_platform.service import discover
from tests.support import infra

EXAMPLES = int(os.environ.get("CRM_SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Tally:
    operations: int = 0
    examples: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)  # answers that passed, by status


def fuzz(platform: AllInOne, label: str) -> Tally:
    """Every operation of the merged document, ``EXAMPLES`` requests each, with the demo workspace's admin."""
    demo = platform.seed_demo()
    headers = {"Authorization": f"Bearer {platform.admin_token(demo['workspace_id'], demo['admin_id'])}"}
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", platform.wsgi)
    tally = Tally()
    for result in schema.get_all_operations():
        tally.operations += 1
        fuzz_operation(result.ok(), headers, tally, label)
    print(
        f"\nschemathesis {label}: {tally.operations} operations, {tally.examples} examples, "
        f"{len(tally.failures)} failures; passing answers by status: {dict(sorted(tally.statuses.items()))}"
    )
    return tally


def fuzz_operation(operation: schemathesis.APIOperation, headers: dict[str, str], tally: Tally, label: str) -> None:
    """Valid and invalid requests to one operation; its first failure is recorded (the rest would repeat it)."""
    failed: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy() | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def call(case: schemathesis.Case) -> None:
        tally.examples += 1
        if failed:
            return
        try:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:
            found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
            failed.append(f"{label} {operation.label}: " + " | ".join(str(e)[:600] for e in found))
        else:
            tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1

    call()
    tally.failures += failed


@pytest.fixture
def sqlite_platform(tmp_path: Path) -> Iterator[AllInOne]:
    port = infra.free_port()
    env = environment(tmp_path / "var", grpc_port=port, base={"CRM_ENV": "test", "CRM_LOG_LEVEL": "CRITICAL"})
    platform = AllInOne(discover(), env, grpc_port=port)
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()


@pytest.fixture
def postgres_platform(tmp_path: Path) -> Iterator[AllInOne]:
    infra.require_postgres()
    prefix = f"crm_fuzz_{uuid.uuid4().hex[:8]}"
    urls = {service: infra.create_database(f"{prefix}_{service}") for service in discovery.names()}
    port = infra.free_port()
    base = {"CRM_ENV": "test", "CRM_LOG_LEVEL": "CRITICAL"}
    base |= {f"{service.upper()}_DATABASE_URL": url for service, url in urls.items()}
    platform = AllInOne(discover(), environment(tmp_path / "var", grpc_port=port, base=base), grpc_port=port)
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()
        for service in discovery.names():
            infra.drop_database(f"{prefix}_{service}")


def test_every_operation_passes_schemathesis_in_all_in_one_mode(sqlite_platform: AllInOne) -> None:
    tally = fuzz(sqlite_platform, "all-in-one (SQLite)")

    assert tally.operations >= 80 and tally.examples >= tally.operations
    assert tally.failures == [], "\n\n".join(tally.failures)


def test_every_operation_passes_schemathesis_on_postgresql(postgres_platform: AllInOne) -> None:
    tally = fuzz(postgres_platform, "PostgreSQL")

    assert tally.operations >= 80 and tally.examples >= tally.operations
    assert tally.failures == [], "\n\n".join(tally.failures)
