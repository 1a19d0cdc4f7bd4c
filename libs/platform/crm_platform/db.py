"""Database access: engines built from settings, the platform's own tables, and the unit of work."""

from __future__ import annotations

import functools
import json
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Insert,
    Integer,
    LargeBinary,
    MetaData,
    Select,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from crm_events import EventType
from crm_platform import events
from crm_platform.driver import _MISSING, _column_values, _DriverInsert, _DriverRead
from crm_platform.errors import NotFound, Word
from crm_platform.ids import is_uuid

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Row = TypeVar("Row")
M = TypeVar("M", bound=Message)

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_metadata() -> MetaData:
    """Metadata for one service's database, already holding the platform's tables."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    Table(
        "outbox",
        metadata,
        Column("id", BigIntId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(120), nullable=False),
        Column("workspace_id", String(36), nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
        Column("published_at", UtcDateTime()),
        Column("unroutable", Boolean, nullable=False, default=False),
        Index(
            "ix_outbox_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )
    Table(
        "processed_events",
        metadata,
        Column("consumer", String(60), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("workspace_id", String(36), nullable=False),
        Column("event_type", String(120), nullable=False),
        Column("processed_at", UtcDateTime(), nullable=False, default=utcnow),
    )
    Table(
        "idempotency_keys",
        metadata,
        Column("workspace_id", String(36), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status", Integer, nullable=False),
        Column("body", Text, nullable=False),
        Column("location", String(500)),
        Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    )
    return metadata


def get_in_workspace(session: Session, model: type[Row], row_id: str, *, workspace_id: str, what: str) -> Row:
    """The row with this id in the caller's workspace; another workspace's row is not found, like a missing one."""
    row = session.get(model, row_id) if is_uuid(row_id) else None
    if row is None or row.workspace_id != workspace_id:  # type: ignore[attr-defined]
        raise NotFound("{what} {id} not found", params={"what": Word(what), "id": row_id})
    return row


def json_loads(document: str | bytes) -> Any:
    """``json.loads`` for the values of JSON columns, with the empty object and list (most of them: a contact's
    location, messengers, custom fields) answered without the parser. Each call gives a new object, as
    ``json.loads`` does; bytes are UTF-8, as PostgreSQL sends them."""
    if document == b"{}" or document == "{}":
        return {}
    if document == b"[]" or document == "[]":
        return []
    return json.loads(document.decode() if isinstance(document, bytes) else document)


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the backend: WAL and a busy timeout on SQLite, a pool that pings idle connections on
    PostgreSQL; JSON values read with ``json_loads``."""
    kwargs.setdefault("json_deserializer", json_loads)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return engine


# A connection back in the pool for longer than this is pinged before it is handed out again.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_idle_connections(engine: Engine) -> None:
    """Pessimistic disconnect handling, but only for connections that sat idle in the pool.

    ``pool_pre_ping`` pings on every checkout: with psycopg that is two round trips (``BEGIN`` and
    ``SELECT 1``) per request, as many as the work itself on a read. Under load a connection comes back
    to the pool and is taken again within milliseconds, and a server that went away in between is rare;
    after a PostgreSQL restart the connections are idle (nothing could use them), so they are pinged and
    replaced here without an error. A connection that breaks while in use raises once; SQLAlchemy then
    invalidates the whole pool, so the next checkouts get fresh connections (a transient error, as with
    ``pool_pre_ping``, which cannot save a request whose connection breaks mid-transaction either).
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["crm_checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get("crm_checked_in")
        if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises, the connection is not usable
            raise DisconnectionError(f"pinging an idle connection failed: {exc}") from exc  # the pool reconnects


@dataclass
class Database:
    """One service's database: its engine, metadata and session factory."""

    service: str
    engine: Engine
    metadata: MetaData
    # Called in the transaction of every ``emit`` with what was emitted (the service's ``ServiceSpec.on_emit``):
    # a service keeps a record of its own events beside the change (conversations' realtime log).
    on_emit: Callable[[UnitOfWork, Sequence[Emitted]], None] | None = None

    def __post_init__(self) -> None:
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.outbox = self.metadata.tables["outbox"]
        self.processed_events = self.metadata.tables["processed_events"]
        self.idempotency_keys = self.metadata.tables["idempotency_keys"]
        # Built once and executed with parameters: the compiled form is cached, nothing is rebuilt per row.
        self.insert_processed_event = insert(self.processed_events)
        self._inserts: dict[Table, Insert] = {}  # UnitOfWork.insert's, one per table (the outbox's among them)
        # ... and on psycopg, compiled once per table and set of columns given (None: SQLAlchemy's path)
        self._driver_inserts: dict[tuple[Table, frozenset[str]], _DriverInsert | None] = {}
        self._reads_on_driver = self.engine.dialect.driver == "psycopg"
        # Compiled once per query object (``read`` is for prebuilt queries), forgotten with it.
        self._driver_reads: weakref.WeakKeyDictionary[Select[Any], _DriverRead] = weakref.WeakKeyDictionary()

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self)

    def insert_statement(self, table: Table) -> Insert:
        """The Core INSERT of a table, built once and then executed with parameters (its compiled form is cached).

        inline(): the statement returns nothing (no RETURNING, no sequence value fetched first), so it can be
        sent in a pipeline; the rows' ids are set before, or come from the column's sequence (the outbox)."""
        statement = self._inserts.get(table)
        if statement is None:
            statement = self._inserts[table] = insert(table).inline()
        return statement

    @property
    def on_driver(self) -> bool:
        """Whether statements may be sent on psycopg's cursor (``UnitOfWork.cursor``): PostgreSQL with psycopg."""
        return self._reads_on_driver

    def driver_insert(self, table: Table, keys: frozenset[str]) -> _DriverInsert | None:
        """The INSERT of ``table`` with these columns for psycopg's cursor, compiled once; None elsewhere."""
        if not self._reads_on_driver:
            return None
        found = self._driver_inserts.get((table, keys), _MISSING)
        if found is _MISSING:
            found = self._driver_inserts[(table, keys)] = _DriverInsert.compile(table, keys, self.engine.dialect)
        return found  # type: ignore[return-value]

    def read(self, query: Select[Any], parameters: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """The rows of one SELECT, for a use case that only reads: on a pooled connection, outside a
        transaction (no ``BEGIN`` and ``ROLLBACK`` round trips) and without an ORM session. The query sees
        what it would see inside a transaction: under READ COMMITTED each statement takes its own snapshot.

        On PostgreSQL the query runs on psycopg's cursor (see ``_DriverRead``); elsewhere through SQLAlchemy.
        Either way the rows hold the values SQLAlchemy would give (its type processing applies).
        """
        if self._reads_on_driver:
            return self._read_on_driver(query, parameters)
        with self.engine.connect() as connection:
            return connection.execution_options(isolation_level="AUTOCOMMIT").execute(query, parameters).all()

    def _read_on_driver(self, query: Select[Any], parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        read = self._driver_reads.get(query)
        if read is None:
            read = self._driver_reads[query] = _DriverRead.compile(query, self.engine.dialect)
        pooled = self.engine.raw_connection()  # the pool's checkout (and idle ping) as for any connection
        driver: Any = pooled.driver_connection
        try:
            driver.autocommit = True
            with driver.cursor() as cursor:
                cursor.execute(read.sql, read.bind(parameters))
                rows = cursor.fetchall()
            driver.autocommit = False
        except Exception as exc:
            # Whatever failed, this connection may be left in autocommit or broken: it is closed, not reused.
            pooled.invalidate(exc)
            dbapi: Any = self.engine.dialect.loaded_dbapi
            if isinstance(exc, dbapi.Error):
                raise DBAPIError.instance(read.sql, dict(parameters), exc, dbapi.Error) from exc
            raise
        finally:
            pooled.close()
        return read.rows(rows)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def outbox_backlog(self) -> tuple[float, int]:
        """(seconds since the oldest unpublished outbox row was written, how many are unpublished)."""
        outbox = self.outbox
        with self.engine.connect() as connection:
            oldest, pending = connection.execute(
                select(func.min(outbox.c.created_at), func.count()).where(outbox.c.published_at.is_(None))
            ).one()
        return ((utcnow() - oldest).total_seconds() if oldest else 0.0), pending

    def dispose(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class Emitted:
    """An event written to the outbox in this transaction, as ``Database.on_emit`` is told of it."""

    event_id: str
    event_type: str
    payload: Message
    workspace_id: str


class AlreadyProcessed(Exception):
    """The event was handled before; the consumer acknowledges it and does nothing."""


class UnitOfWork:
    """One transaction: changes and the events they cause are committed together, or not at all.

    The service layer is the only place that enters one and calls ``commit``; leaving the block
    without committing rolls everything back, outbox rows included.
    """

    session: Session

    def __init__(self, database: Database) -> None:
        self.database = database
        self._committed = False
        self._driver: Any = None  # psycopg's connection of this transaction, once ``cursor`` asked for it
        self._inserts_cursor: Any = None

    def __enter__(self) -> UnitOfWork:
        self.session = self.database.session_factory()
        self._committed = False
        self._driver = None
        return self

    def __exit__(self, *exc_info: object) -> None:
        # close() rolls back whatever was not committed and detaches the objects without expiring
        # them, so what a read-only use case returns stays readable.
        self.session.close()

    def commit(self) -> None:
        self._driver = None
        try:
            self.session.commit()
        except IntegrityError as exc:
            if _is_processed_events_conflict(exc):
                raise AlreadyProcessed() from exc
            raise
        self._committed = True

    def rollback(self) -> None:
        self._driver = None
        self.session.rollback()

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """Send the statements executed inside to PostgreSQL together, in one round trip (psycopg's pipeline
        mode), instead of waiting for each one's answer; on other databases this does nothing.

        Only for statements whose results nobody reads (INSERT, UPDATE, taking a lock): inside a pipeline
        SQLAlchemy sees no rows. The statements still run one after the other, in order, in this
        transaction. An error of any of them is raised at the latest when the block ends, as SQLAlchemy's
        exception (an ``IntegrityError`` for a violated constraint), and leaves the transaction aborted.
        The ORM's pending changes are flushed first (a flush checks the rows it updated, which a pipeline
        cannot tell it), and not inside: what the block adds to the session is flushed after it.
        """
        self.session.flush()
        connection = self.session.connection()
        driver: Any = connection.connection.driver_connection
        dbapi: Any = connection.dialect.dbapi
        if connection.dialect.name != "postgresql" or not hasattr(driver, "pipeline"):
            yield
            return
        try:
            with self.session.no_autoflush, driver.pipeline():
                yield
        except dbapi.Error as exc:  # raised by the final sync, outside SQLAlchemy: wrapped as SQLAlchemy would
            raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc

    def insert(self, target: Table | type[Any], rows: Any) -> None:
        """INSERT new rows now, with one Core statement on this transaction's connection, instead of
        ``session.add`` and a flush: the ORM's bookkeeping costs more CPU than the statement. Inside
        ``pipeline`` it is sent with the others.

        ``target`` is a table or a mapped class; ``rows`` one row or a list of them (one multi-row INSERT),
        each a dict of column values or a new object of the mapped class. An object's columns it did not set
        get their Python defaults, as a flush gives them, and the values are set on it; it stays out of the
        session (nothing later in the transaction changes it; afterwards it reads like a detached object).

        On PostgreSQL the statement is compiled once per table and set of columns and sent on this transaction's
        psycopg cursor (``_DriverInsert``: the same SQL and values, without SQLAlchemy's execution machinery); a
        failure is raised as SQLAlchemy's exception all the same (``IntegrityError`` for a violated constraint).
        """
        table: Table = target if isinstance(target, Table) else target.__table__
        many = rows if isinstance(rows, list | tuple) else [rows]
        if not many:
            return
        values = [row if isinstance(row, Mapping) else _column_values(row) for row in many]
        keys = frozenset(values[0])
        same_keys = all(v.keys() == keys for v in values)
        driver_insert = self.database.driver_insert(table, keys) if same_keys else None
        if driver_insert is not None:
            cursor = self._insert_cursor()
            try:
                if len(values) == 1:
                    cursor.execute(driver_insert.sql, driver_insert.parameters(values[0]))
                else:
                    cursor.executemany(driver_insert.sql, [driver_insert.parameters(v) for v in values])
            except self.database.engine.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would raise it
                dbapi: Any = self.database.engine.dialect.loaded_dbapi
                raise DBAPIError.instance(driver_insert.sql, None, exc, dbapi.Error) from exc
            return
        self.session.connection().execute(
            self.database.insert_statement(table), values if isinstance(rows, list | tuple) else values[0]
        )

    def copy(self, target: Table | type[Any], rows: Sequence[Mapping[str, Any]]) -> None:
        """Write many new rows (dicts of the same columns) with ``COPY ... FROM STDIN`` on PostgreSQL, several times
        cheaper than INSERTs for thousands of rows (a rebuild of read models); ``insert`` elsewhere."""
        table: Table = target if isinstance(target, Table) else target.__table__
        if not rows:
            return
        if not self.database.on_driver:
            self.insert(table, list(rows))
            return
        columns = list(rows[0])
        names = ", ".join(f'"{name}"' for name in columns)
        with self.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])

    def cursor(self) -> Any:
        """A psycopg cursor on this transaction's connection (PostgreSQL), for statements compiled once and sent
        without SQLAlchemy's execution machinery (inside ``pipeline`` they are sent with the others); close it
        after use (``with uow.cursor() as cursor``). Only where ``Database.driver_insert`` is not None."""
        return self._driver_connection().cursor()

    def _driver_connection(self) -> Any:
        if self._driver is None or not self.session.in_transaction():
            self._driver = self.session.connection().connection.driver_connection
            self._inserts_cursor = None
        return self._driver

    def _insert_cursor(self) -> Any:
        """One cursor for this transaction's INSERTs (nobody reads their results)."""
        driver = self._driver_connection()
        if self._inserts_cursor is None:
            self._inserts_cursor = driver.cursor()
        return self._inserts_cursor

    def emit(self, event_type: EventType[M], payload: M, *, workspace_id: str) -> str:
        """Write an event to the outbox in this transaction; the relay publishes it after commit.

        The service may emit only its own catalogue's types, with their payload message (``events.pack``)."""
        outgoing = events.pack(event_type, payload, workspace_id=workspace_id, producer=self.database.service)
        self.insert(
            self.database.outbox,
            {
                "event_id": outgoing.event_id,
                "event_type": outgoing.event_type,
                "workspace_id": workspace_id,
                "body": outgoing.body,
                "created_at": utcnow(),
            },
        )
        if self.database.on_emit is not None:
            self.database.on_emit(self, [Emitted(outgoing.event_id, event_type.name, payload, workspace_id)])
        return outgoing.event_id

    def emit_many(self, emitted: Sequence[tuple[EventType[Any], Message, str]]) -> list[str]:
        """``emit`` for many events at once, ``(event_type, payload, workspace_id)`` each: the outbox rows in one
        INSERT. Returns their event ids, in order."""
        now = utcnow()
        rows: list[dict[str, Any]] = []
        for event_type, payload, workspace_id in emitted:
            outgoing = events.pack(event_type, payload, workspace_id=workspace_id, producer=self.database.service)
            rows.append(
                {
                    "event_id": outgoing.event_id,
                    "event_type": outgoing.event_type,
                    "workspace_id": workspace_id,
                    "body": outgoing.body,
                    "created_at": now,
                }
            )
        self.insert(self.database.outbox, rows)
        if self.database.on_emit is not None:
            self.database.on_emit(
                self,
                [
                    Emitted(str(row["event_id"]), event_type.name, payload, workspace_id)
                    for row, (event_type, payload, workspace_id) in zip(rows, emitted, strict=True)
                ],
            )
        return [str(row["event_id"]) for row in rows]

    def mark_processed(self, *, consumer: str, event_id: str, event_type: str, workspace_id: str) -> None:
        """Record a handled event in this transaction; recording it twice raises AlreadyProcessed."""
        try:
            self.session.execute(
                self.database.insert_processed_event,
                {
                    "consumer": consumer,
                    "event_id": event_id,
                    "event_type": event_type,
                    "workspace_id": workspace_id,
                    "processed_at": utcnow(),
                },
            )
        except IntegrityError as exc:  # the insert runs now, not at commit: another transaction won
            if _is_processed_events_conflict(exc):
                raise AlreadyProcessed() from exc
            raise

    def mark_processed_many(self, consumer: str, handled: Sequence[tuple[str, str, str]]) -> set[str]:
        """Record handled events, ``(event_id, event_type, workspace_id)`` each, with one INSERT in this
        transaction; returns the ids not recorded before (one already there, or given twice, is left out).
        A concurrent transaction recording the same id makes this one wait, then leaves it out if it committed."""
        if not handled:
            return set()
        table = self.database.processed_events
        now = utcnow()
        dialect = self.session.get_bind().dialect.name
        if self.database.on_driver:
            # Arrays: one short statement text whatever the batch (a multi-row VALUES of 64 rows is longer than
            # psycopg caches, so it was parsed again for every batch), bound without SQLAlchemy's processing.
            parameters = (
                consumer,
                now,
                [id_ for id_, _type, _ws in handled],
                [type_ for _id, type_, _ws in handled],
                [ws for _id, _type, ws in handled],
            )
            try:
                with self.cursor() as cursor:
                    cursor.execute(_INSERT_NEW_IDS_ARRAYS, parameters)
                    return {event_id for (event_id,) in cursor.fetchall()}
            except self.database.engine.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would raise it
                dbapi: Any = self.database.engine.dialect.loaded_dbapi
                raise DBAPIError.instance(_INSERT_NEW_IDS_ARRAYS, None, exc, dbapi.Error) from exc
        rows = [
            {"consumer": consumer, "event_id": id_, "event_type": type_, "workspace_id": ws, "processed_at": now}
            for id_, type_, ws in handled
        ]
        statement = _insert_new_ids(table, dialect)  # executemany: compiled once
        return set(self.session.execute(statement, rows).scalars())


_INSERT_NEW_IDS_ARRAYS = (
    "INSERT INTO processed_events (consumer, event_id, event_type, workspace_id, processed_at) "
    "SELECT %s, ids.event_id, ids.event_type, ids.workspace_id, %s "
    "FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[]) AS ids (event_id, event_type, workspace_id) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


@functools.cache
def _insert_new_ids(table: Table, dialect: str) -> Insert:
    insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert_of(table).on_conflict_do_nothing().returning(table.c.event_id)


def _is_processed_events_conflict(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "processed_events" in text
