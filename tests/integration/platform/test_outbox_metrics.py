"""The outbox gauges come from the outbox table at scrape, so a process that relays nothing reports the lag."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from crm.events.v1 import contacts_pb2
from crm_platform import metrics
from crm_platform.db import Database, create_db_engine, utcnow
from tests.integration.platform.tiny_service import NOTE_ADDED, Base, tiny_database


@pytest.fixture
def service() -> str:
    return f"lag{uuid.uuid4().hex[:6]}"


@pytest.fixture
def database(database_url: str, service: str) -> Iterator[Database]:
    db = tiny_database(database_url)
    metrics.OUTBOX.watch(service, db)
    yield db
    db.dispose()


def gauge(service: str, what: str) -> float:
    exposition, _ = metrics.exposition()
    match = re.search(rf"^crm_{service}_{what} (\S+)$", exposition.decode(), re.MULTILINE)
    assert match, f"crm_{service}_{what} not exported"
    return float(match.group(1))


def test_the_lag_of_an_event_nobody_relays_is_exported_by_any_process_and_grows(
    database: Database, service: str
) -> None:
    assert (gauge(service, "outbox_lag_seconds"), gauge(service, "outbox_pending_events")) == (0.0, 0.0)
    with database.unit_of_work() as uow:  # no relay runs in this process: the worker is "down"
        uow.emit(NOTE_ADDED, contacts_pb2.ContactCreated(contact_id="c"), workspace_id="ws-1")
        uow.commit()
    with database.engine.begin() as connection:
        connection.execute(update(database.outbox).values(created_at=utcnow() - timedelta(seconds=90)))

    metrics.OUTBOX.watch(service, database)  # forget the cached answer instead of waiting for it to expire
    assert 90 <= gauge(service, "outbox_lag_seconds") < 120
    assert gauge(service, "outbox_pending_events") == 1.0


def test_gunicorns_multiprocess_exposition_reads_the_outbox_at_scrape_too(
    database: Database, service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "multiproc").mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "multiproc"))
    assert gauge(service, "outbox_pending_events") == 0.0


def test_an_outbox_the_database_cannot_read_leaves_the_gauges_out_and_the_scrape_answers(
    service: str, tmp_path: Path
) -> None:
    unreadable = Database(service, create_db_engine(f"sqlite:///{tmp_path}/missing/x.db"), Base.metadata)
    metrics.OUTBOX.watch(service, unreadable)

    exposition, _ = metrics.exposition()

    assert f"crm_{service}_outbox_lag_seconds" not in exposition.decode()
    assert b"# TYPE python_gc_objects_collected_total counter" in exposition
