"""Figure 1: contacts.create over HTTP on the stack, against raw psycopg INSERT+COMMIT in the same run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack

from support.cpu import CpuMeter
from support.infra import BenchError, fresh_database, libpq
from support.load import closed_loop
from support.report import Measure

RAW_TABLE = """
CREATE TABLE workspaces (id varchar(36) PRIMARY KEY, name varchar(200) NOT NULL);
CREATE TABLE contacts (
    id varchar(36) PRIMARY KEY,
    workspace_id varchar(36) NOT NULL REFERENCES workspaces (id),
    name varchar(200) NOT NULL,
    email varchar(320),
    phone varchar(20),
    version integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX ix_contacts_workspace_id_id ON contacts (workspace_id, id);
CREATE INDEX ix_contacts_workspace_id_email ON contacts (workspace_id, email);
CREATE INDEX ix_contacts_workspace_id_phone ON contacts (workspace_id, phone);
"""


def raw_insert(url: str, concurrency: int, seconds: float, warmup: float) -> Measure:
    """Single-row INSERT + COMMIT per operation, one psycopg connection per client thread."""
    import psycopg
    import uuid6

    workspace = str(uuid6.uuid7())
    with psycopg.connect(libpq(url), autocommit=True) as connection:
        connection.execute(RAW_TABLE)
        connection.execute("INSERT INTO workspaces (id, name) VALUES (%s, 'bench')", (workspace,))
    sql = (
        "INSERT INTO contacts (id, workspace_id, name, email, phone, version, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, 1, now(), now())"
    )
    connections: list[psycopg.Connection] = []
    lock = threading.Lock()
    counter = iter(range(10**9))

    def setup() -> Callable[[], None]:
        connection = psycopg.connect(libpq(url))
        with lock:
            connections.append(connection)
        cursor = connection.cursor()

        def insert() -> None:
            n = next(counter)
            cursor.execute(
                sql, (str(uuid6.uuid7()), workspace, f"Bench Contact {n}", f"bench.{n}@example.com", f"+346{n:08d}")
            )
            connection.commit()

        return insert

    try:
        closed_loop("warm-up", concurrency, warmup, setup)
        for connection in connections:
            connection.close()
        connections.clear()
        return closed_loop("raw psycopg INSERT+COMMIT", concurrency, seconds, setup)
    finally:
        for connection in connections:
            connection.close()


def raw_baseline(
    exits: ExitStack, run_id: str, concurrency: int, seconds: float, warmup: float, with_cpu: bool
) -> tuple[Measure, CpuMeter | None]:
    """Figure 1's baseline (raw psycopg INSERT+COMMIT) on a fresh database; with the CPU it used (client
    threads and backends, its warm-up included) when the ceiling is to be printed."""
    name = f"crm_bench_{run_id}_raw"
    url = fresh_database(exits, name)
    if not with_cpu:
        return raw_insert(url, concurrency, seconds, warmup), None
    with CpuMeter(include_self=True, database=name) as cpu:
        raw = raw_insert(url, concurrency, seconds, warmup)
    return raw, cpu


def wait_drained(stack, amqp_url: str, timeout: float = 180.0) -> float:  # type: ignore[no-untyped-def]
    """Wait until the contacts outbox is relayed and the reports queue consumed; returns seconds waited."""
    import pika
    import psycopg

    began = time.monotonic()
    quiet = 0
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        with psycopg.connect(libpq(stack.database_url("contacts")), autocommit=True) as db:
            while quiet < 2:
                pending = db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]
                queued = channel.queue_declare("crm.reports", passive=True).method.message_count
                quiet = quiet + 1 if pending == 0 and queued == 0 else 0
                if time.monotonic() - began > timeout:
                    raise BenchError(
                        f"events not drained after {timeout:.0f}s: outbox {pending}, reports queue {queued}"
                    )
                time.sleep(0.5)
    finally:
        connection.close()
    return time.monotonic() - began - 1.0
