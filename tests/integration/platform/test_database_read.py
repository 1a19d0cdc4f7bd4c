"""Database.read: one SELECT outside a transaction, with the values SQLAlchemy gives, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, MetaData, String, Table, bindparam, create_engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from crm.events.v1 import contacts_pb2
from crm_events import EventType
from crm_platform.db import Database
from tests.integration.platform.tiny_service import NOTE_ADDED, NOTE_REMOVED, Note, count, new_id, tiny_database


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = tiny_database(database_url)
    yield db
    db.dispose()


def _outbox_query(database: Database):  # type: ignore[no-untyped-def]
    outbox = database.outbox
    return (
        select(outbox.c.event_type, outbox.c.created_at, outbox.c.unroutable, outbox.c.published_at)
        .where(outbox.c.workspace_id == bindparam("workspace_id"))
        .order_by(outbox.c.id)
    )


def _emit(database: Database, *event_types: EventType[contacts_pb2.ContactCreated]) -> None:
    with database.unit_of_work() as uow:
        for event_type in event_types:
            uow.emit(event_type, contacts_pb2.ContactCreated(contact_id=new_id()), workspace_id="ws-1")
        uow.commit()


def test_read_gives_the_rows_and_values_of_a_core_execute(database: Database) -> None:
    _emit(database, NOTE_ADDED, NOTE_REMOVED)
    query = _outbox_query(database)

    rows = database.read(query, {"workspace_id": "ws-1"})

    with database.engine.connect() as connection:
        expected = connection.execute(query, {"workspace_id": "ws-1"}).all()
    assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
    assert [row[0] for row in rows] == ["tiny.note.added", "tiny.note.removed"]
    _event_type, created_at, unroutable, published_at = rows[0]
    assert created_at.tzinfo is not None and abs(created_at - datetime.now(UTC)).total_seconds() < 60
    assert unroutable is False and published_at is None
    assert database.read(query, {"workspace_id": "ws-2"}) == []


def test_read_leaves_the_pooled_connection_ready_for_transactions(database: Database) -> None:
    for _ in range(3):  # every pooled connection has served a read
        database.read(_outbox_query(database), {"workspace_id": "ws-1"})

    with database.unit_of_work() as uow:
        uow.session.add(Note(id=new_id(), workspace_id="ws-1", text="never committed"))
        uow.session.flush()

    assert count(database, Note.__table__) == 0  # rolled back: the connection was not left in autocommit


def test_a_failed_read_raises_sqlalchemys_error_and_leaves_no_connection_in_autocommit(database: Database) -> None:
    missing = Table("missing", MetaData(), Column("id", String(36)))

    with pytest.raises(DBAPIError):
        database.read(select(missing.c.id).where(missing.c.id == bindparam("id")), {"id": "x"})

    with database.unit_of_work() as uow:
        uow.session.add(Note(id=new_id(), workspace_id="ws-1", text="never committed"))
        uow.session.flush()
    assert count(database, Note.__table__) == 0
    _emit(database, NOTE_ADDED)
    assert len(database.read(_outbox_query(database), {"workspace_id": "ws-1"})) == 1


def test_a_read_on_a_connection_the_server_closed_fails_once_then_reconnects(database: Database) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("terminating backends is PostgreSQL's")
    query = _outbox_query(database)
    database.read(query, {"workspace_id": "ws-1"})  # a connection in the pool, used a moment ago

    admin_engine = create_engine(database.engine.url, poolclass=NullPool)  # not one of the pool's connections
    with admin_engine.connect() as admin:
        terminated = admin.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    admin_engine.dispose()
    assert terminated >= 1

    outcomes = []
    for _ in range(2):
        try:
            outcomes.append(database.read(query, {"workspace_id": "ws-1"}))
        except DBAPIError as error:
            outcomes.append(type(error).__name__)
    assert outcomes[-1] == []  # at most one error: the broken connection is discarded, not handed out again
