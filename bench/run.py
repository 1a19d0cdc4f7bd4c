"""Benchmarks of the microservices mode (``make bench``; not part of CI).

Each figure is printed next to a raw baseline measured in the same run, on the same machine, at the
same concurrency, as a ratio against a target:

1. contacts.create over HTTP (POST /v1/contacts on a stack this script starts: gunicorn, PostgreSQL,
   outbox row in the same transaction), on the contacts HTTP port and through the gateway,
   vs raw psycopg single-row INSERT+COMMIT into an equivalent table.            target >= 0.5
2. gRPC GetContact (crm.contacts.v1.ContactsService) vs a raw grpcio unary echo server, same client
   code.                                                                          target >= 0.5
3. OutboxRelay.relay_once() loops publishing N outbox rows vs raw pika publishing the same N bodies
   with publisher confirms, on the same fresh vhost and bound queue.             target >= 0.7
4. The ceiling of contacts.create on this machine, printed after figure 1: the SQL of one create alone
   (pgbench, bench/create_contact.pgbench.sql, pipelined and one round trip per statement) and a bare
   Flask app under the stack's gunicorn settings (bench/floor_app.py, the same wrk load). Their CPU per
   request added (CPUs / rate each) bounds the rate any implementation of the create can reach here;
   printed with its ratio against the same raw INSERT+COMMIT baseline as figure 1.

A missed target is reported, not an error: the exit status is non-zero only when something failed
(a service did not start, a request was answered with an error, a message went missing).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"
AMQP = "amqp://guest:guest@127.0.0.1:5672"


class BenchError(Exception):
    """Something failed: the benchmark's figures cannot be trusted."""


# --- results ----------------------------------------------------------------------------------------
@dataclass
class Measure:
    label: str
    count: int
    seconds: float
    latencies_ms: list[float] | None = None  # per operation, when measured by this process
    p50_ms: float | None = None
    p95_ms: float | None = None

    def __post_init__(self) -> None:
        if self.latencies_ms:
            ordered = sorted(self.latencies_ms)
            self.p50_ms = ordered[int(0.50 * (len(ordered) - 1))]
            self.p95_ms = ordered[int(0.95 * (len(ordered) - 1))]

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def text(self, unit: str) -> str:
        out = f"{self.label} {self.rate:,.0f} {unit}"
        if self.p50_ms is not None and self.p95_ms is not None:
            out += f" (p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms)"
        return out


def compare(figure: Measure, baseline: Measure, target: float, unit: str, lines: list[str]) -> None:
    ratio = figure.rate / baseline.rate if baseline.rate else 0.0
    verdict = "PASS" if ratio >= target else "MISS"
    line = f"{figure.text(unit)} | {baseline.text(unit)} | ratio {ratio:.2f} (target >= {target}) {verdict}"
    lines.append(line)
    print(line, flush=True)


def note(message: str) -> None:
    print(f"  . {message}", flush=True)


# --- infrastructure ----------------------------------------------------------------------------------
def free_port_block(size: int = 60) -> int:
    """The first of ``size`` consecutive free ports below 32000 (no TCP self-connects)."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - size)
        sockets = []
        try:
            for port in range(base, base + size):
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                sockets.append(sock)
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise BenchError("no free port block")


def rabbitmqctl(*args: str) -> None:
    result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise BenchError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()}")


def fresh_vhost(stack: ExitStack, name: str) -> str:
    rabbitmqctl("add_vhost", name)
    stack.callback(lambda: subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True, timeout=60))
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return f"{AMQP}/{quote(name, safe='')}"


def fresh_database(stack: ExitStack, name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    stack.callback(drop)
    return f"{PG_URL}/{name}"


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


# --- closed-loop load in threads (raw psycopg, and HTTP when wrk is missing) --------------------------
def closed_loop(label: str, concurrency: int, seconds: float, setup: Callable[[], Callable[[], None]]) -> Measure:
    """``concurrency`` threads, each calling its own operation back to back for ``seconds``."""
    start_barrier = threading.Barrier(concurrency + 1)
    results: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[BaseException] = []
    deadline = [0.0]

    def run(index: int) -> None:
        try:
            operation = setup()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            start_barrier.abort()
            return
        start_barrier.wait()
        mine = results[index]
        clock = time.perf_counter
        try:
            while True:
                began = clock()
                if began >= deadline[0]:
                    break
                operation()
                mine.append((clock() - began) * 1000)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        deadline[0] = time.perf_counter() + 3600  # set for real once every thread is connected
        start_barrier.wait(timeout=60)
        began = time.perf_counter()
        deadline[0] = began + seconds
    except threading.BrokenBarrierError:
        pass
    for thread in threads:
        thread.join()
    if errors:
        raise BenchError(f"{label}: {errors[0]!r}") from errors[0]
    elapsed = time.perf_counter() - began
    latencies = [x for r in results for x in r]
    return Measure(label, len(latencies), elapsed, latencies)


# --- 1. contact creation over HTTP vs raw psycopg ------------------------------------------------------
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


# Each load run numbers its contacts from a fresh million, so no two requests of a bench create duplicates.
_OFFSETS = iter(range(1_000_000, 90_000_000, 1_000_000))


def contact_body(n: int) -> str:
    return json.dumps({"name": f"Bench Contact {n}", "email": f"Bench.{n}@Example.COM", "phone": f"6{n:08d}"})


def wrk_load(label: str, url: str, token: str, concurrency: int, seconds: float) -> Measure:
    env = dict(os.environ, BENCH_TOKEN=token, BENCH_PATH="/v1/contacts", BENCH_OFFSET=str(next(_OFFSETS)))
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH_DIR / "create_contact.lua"),
        url,
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise BenchError(f"wrk failed: {result.stderr.strip() or result.stdout.strip()}")
    summary = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    failed = {k: v for k, v in summary.items() if k.endswith(("_errors", "timeouts")) and v}
    if failed:
        raise BenchError(f"{label}: requests failed {failed}; see the stack logs")
    return Measure(
        label,
        summary["requests"],
        summary["duration_us"] / 1e6,
        p50_ms=summary["p50_us"] / 1000,
        p95_ms=summary["p95_us"] / 1000,
    )


def python_http_load(label: str, url: str, token: str, concurrency: int, seconds: float) -> Measure:
    """Fallback when wrk is not installed: keep-alive connections in threads (the client costs CPU)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    offset = next(_OFFSETS)
    counter = iter(range(offset, offset + 1_000_000))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def setup() -> Callable[[], None]:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)

        def post() -> None:
            connection.request("POST", "/v1/contacts", body=contact_body(next(counter)), headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 201:
                raise BenchError(f"POST /v1/contacts answered {response.status}")

        return post

    return closed_loop(label, concurrency, seconds, setup)


def http_load(
    label: str, url: str, token: str, concurrency: int, seconds: float, warmup: float, meter: Any = None
) -> Measure:
    """Warm up, then measure; ``meter`` (a context manager, e.g. ``StackCpu``) is entered around the measure."""
    load = wrk_load if shutil.which("wrk") else python_http_load
    load("warm-up", url, token, concurrency, warmup)
    with meter if meter is not None else nullcontext():
        return load(label, url, token, concurrency, seconds)


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


# --- 2. gRPC GetContact vs a raw echo server ----------------------------------------------------------
async def _grpc_closed_loop(
    target: str, method: str, request: object, metadata: tuple[tuple[str, str], ...], concurrency: int, seconds: float
) -> tuple[int, float, list[float]]:
    import grpc

    from crm.contacts.v1 import contacts_pb2

    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(
            method,
            request_serializer=contacts_pb2.GetContactRequest.SerializeToString,
            response_deserializer=contacts_pb2.Contact.FromString,
        )
        await asyncio.wait_for(channel.channel_ready(), 10)
        latencies: list[float] = []
        clock = time.perf_counter
        deadline = clock() + seconds

        async def client() -> None:
            while (began := clock()) < deadline:
                reply = await call(request, metadata=metadata, timeout=10)
                latencies.append((clock() - began) * 1000)
                if not reply.id:
                    raise BenchError(f"{method} answered an empty message")

        began = clock()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return len(latencies), clock() - began, latencies


def grpc_load(
    label: str,
    target: str,
    method: str,
    request: object,
    metadata: tuple[tuple[str, str], ...],
    concurrency: int,
    seconds: float,
    warmup: float,
) -> Measure:
    asyncio.run(_grpc_closed_loop(target, method, request, metadata, concurrency, warmup))
    count, elapsed, latencies = asyncio.run(_grpc_closed_loop(target, method, request, metadata, concurrency, seconds))
    return Measure(label, count, elapsed, latencies)


def start_echo_server(stack: ExitStack, port: int, threads: int) -> str:
    process = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "grpc_echo_server.py"), str(port), str(threads)],
        stdout=subprocess.PIPE,
        text=True,
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    stack.callback(stop)
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise BenchError("the gRPC echo server did not start")
    return f"127.0.0.1:{port}"


# --- 3. outbox relay vs raw pika ---------------------------------------------------------------------
def relay_bench(exits: ExitStack, run_id: str, events: int) -> tuple[Measure, Measure]:
    import pika

    from crm.events.v1 import contacts_pb2 as events_pb2
    from crm_platform.bus import EXCHANGE, RetryPolicy
    from crm_platform.bus.rabbitmq import RabbitBus
    from crm_platform.db import Database, create_db_engine, new_metadata
    from crm_platform.ids import new_id
    from crm_platform.metrics import ServiceMetrics
    from crm_platform.outbox import OutboxRelay

    amqp_url = fresh_vhost(exits, f"crm-bench-{run_id}-relay")
    db_url = fresh_database(exits, f"crm_bench_{run_id}_relay")
    engine = create_db_engine(db_url)
    exits.callback(engine.dispose)
    metadata = new_metadata()
    metadata.create_all(engine)
    database = Database("contacts", engine, metadata)
    workspace = new_id()
    event_type = "contacts.contact.created"

    began = time.perf_counter()
    for first in range(0, events, 1000):
        with database.unit_of_work() as uow:
            for n in range(first, min(first + 1000, events)):
                payload = events_pb2.ContactCreated(
                    contact_id=new_id(), name=f"Bench Contact {n}", email=f"bench.{n}@example.com", phone="+34612345678"
                )
                payload.created_at.GetCurrentTime()
                uow.emit(event_type, payload, workspace_id=workspace)
            uow.commit()
    note(f"{events} outbox rows written with UnitOfWork.emit in {time.perf_counter() - began:.1f}s")
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT event_id, event_type, workspace_id, body FROM outbox ORDER BY id"
        ).all()

    queue = "crm.bench"
    bus = RabbitBus(amqp_url, retry=RetryPolicy())
    exits.callback(bus.close)
    bus.declare(queue, [event_type])  # a quorum queue bound to the type, like a service's queue

    def depth(expected: int) -> int:
        """Messages in the queue (waiting up to 5s for ``expected``), which is then purged."""
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        try:
            channel = connection.channel()
            for _ in range(50):  # quorum queues count deliveries a moment after the confirm
                count = channel.queue_declare(queue, passive=True).method.message_count
                if count >= expected:
                    break
                time.sleep(0.1)
            channel.queue_purge(queue)
            return count
        finally:
            connection.close()

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    exits.callback(connection.close)
    channel = connection.channel()
    channel.confirm_delivery()

    def raw_publish(batch: list) -> float:  # type: ignore[type-arg]
        started = time.perf_counter()
        for row in batch:
            channel.basic_publish(
                EXCHANGE,
                row.event_type,
                row.body,
                pika.BasicProperties(
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=row.event_id,
                    type=row.event_type,
                    content_type="application/x-protobuf",
                    headers={"x-crm-workspace": row.workspace_id},
                ),
                mandatory=True,
            )
        return time.perf_counter() - started

    raw_publish(rows[:1000])  # warm-up of the broker and the queue
    depth(1000)

    # Interleaved: one relay_once() batch, then raw pika publishes the same bodies, and so on until the
    # outbox is empty. Both see the same broker and disk conditions, whose drift over a run is larger
    # than the difference being measured.
    relay = OutboxRelay(database, lambda: bus, ServiceMetrics("bench"))
    bus.ping()  # connected beforehand, like the raw publisher
    relay_seconds = raw_seconds = 0.0
    published = 0
    while True:
        started = time.perf_counter()
        batch = relay.relay_once()
        relay_seconds += time.perf_counter() - started
        if batch == 0:
            break
        raw_seconds += raw_publish(rows[published : published + batch])
        published += batch
    if published != events:
        raise BenchError(f"relay published {published} of {events} rows")
    if (count := depth(2 * events)) != 2 * events:
        raise BenchError(f"{count} of {2 * events} messages (relay + raw) reached the queue")
    with engine.connect() as db:
        left = db.exec_driver_sql("SELECT count(*) FROM outbox WHERE published_at IS NULL").scalar()
    if left:
        raise BenchError(f"relay left {left} rows unpublished")
    raw = Measure("raw pika confirmed publish", events, raw_seconds)
    return Measure(f"OutboxRelay.relay_once x{events}", events, relay_seconds), raw


# --- 4. the ceiling of contacts.create: its SQL alone (pgbench) and a bare HTTP app -----------------------
PGBENCH_SCRIPT = BENCH_DIR / "create_contact.pgbench.sql"
# The outbox row's payload in the pgbench script: the size of the contacts.contact.created event of a create
# (measured with bench/inprocess.py); what the bytes are does not matter to PostgreSQL.
OUTBOX_BODY = random.Random(0).randbytes(680)


@dataclass
class Floor:
    """A floor figure, with the CPU its processes used while it was measured (see ``CpuMeter``)."""

    measure: Measure
    cpu: CpuMeter

    @property
    def cpu_ms_each(self) -> float:
        return self.cpu.seconds / self.measure.count * 1000 if self.measure.count else 0.0


def process_stat(pid: int) -> tuple[str, int, float] | None:
    """A process's command name, parent pid and user + system CPU seconds so far, or None once it has exited."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return text[text.index("(") + 1 : text.rindex(")")], int(fields[1]), cpu


def all_processes() -> dict[int, tuple[str, int, float]]:
    """``process_stat`` of every process on the machine, by pid."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return {pid: stat for pid in pids if (stat := process_stat(pid)) is not None}


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process so far (0 once it has exited)."""
    stat = process_stat(pid)
    return stat[2] if stat else 0.0


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy so far (all CPUs; not idle, not waiting for I/O)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def process_tree_cpu(root: int) -> float:
    """CPU seconds so far of a process and its children (a gunicorn master and its workers)."""
    return sum(cpu for pid, (_command, parent, cpu) in all_processes().items() if root in (pid, parent))


class CpuMeter:
    """CPU seconds used while entered by the processes of one figure: this process's children that were
    waited for meanwhile (wrk, pgbench), this process itself if ``include_self`` (Python load threads), the
    process trees ``trees`` (a gunicorn master and its workers), and the server backends connected to
    ``database`` (found every 0.5 s and sampled every 50 ms while they run, since they exit with their
    client; the last 50 ms of each can be missed). PostgreSQL's shared processes (WAL writer, checkpointer,
    autovacuum) are not counted, so this is a little less than what the figure cost the machine."""

    def __init__(self, *, include_self: bool = False, trees: tuple[int, ...] = (), database: str | None = None) -> None:
        self.include_self = include_self
        self.trees = trees
        self.database = database
        self.seconds = 0.0  # CPU seconds, once exited
        self.wall = 0.0
        self.machine = 0.0  # CPU seconds the whole machine was busy meanwhile
        self.backends: dict[int, float] = {}
        self._ignore: set[int] = set()
        self._began = (0.0, 0.0, 0.0)
        self._db: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="backend-cpu", daemon=True)

    def _own(self) -> float:
        import resource

        usages = [resource.getrusage(resource.RUSAGE_CHILDREN)]
        if self.include_self:
            usages.append(resource.getrusage(resource.RUSAGE_SELF))
        return sum(u.ru_utime + u.ru_stime for u in usages) + sum(process_tree_cpu(root) for root in self.trees)

    def _backend_pids(self) -> set[int]:
        rows = self._db.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
            (self.database,),
        ).fetchall()
        return {pid for (pid,) in rows}

    def _sample(self) -> None:
        found = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= found:
                for pid in self._backend_pids() - self._ignore:
                    self.backends.setdefault(pid, 0.0)
                found = time.monotonic() + 0.5
            for pid, seen in self.backends.items():
                self.backends[pid] = max(seen, process_cpu(pid))
            self._stop.wait(0.05)

    def __enter__(self) -> CpuMeter:
        self._began = self._own(), machine_busy(), time.perf_counter()
        if self.database is not None:
            import psycopg

            self._db = psycopg.connect(PG_ADMIN, autocommit=True)  # one connection: sampling costs little
            self._ignore = self._backend_pids()  # connections of an earlier run (their CPU is not ours)
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.database is not None:
            self._stop.set()
            self._thread.join()
            self._db.close()
        own, machine, began = self._began
        self.wall = time.perf_counter() - began
        self.seconds = self._own() - own + sum(self.backends.values())
        self.machine = machine_busy() - machine

    @property
    def cpus(self) -> float:
        """The share of the machine the figure's processes got: CPU seconds per wall second."""
        return self.seconds / self.wall if self.wall else 0.0

    @property
    def busy(self) -> float:
        """How many CPUs the whole machine kept busy meanwhile, this figure's processes included."""
        return self.machine / self.wall if self.wall else 0.0


class StackCpu:
    """Where the CPU goes while a figure runs against the stack: the CPU seconds of every process of the
    machine between entering and leaving, summed by what it is (the contacts HTTP API, the services' workers
    that relay and consume the events, the other stack processes, PostgreSQL, RabbitMQ, the load generator,
    anything else). A process that exits meanwhile is missed; one that starts counts from zero."""

    def __init__(self, stack: Any, api: tuple[str, str]) -> None:
        self.roots: dict[int, str] = {}
        for process in stack.processes:
            if process.popen is not None:
                if (process.service, process.kind) == api:
                    self.roots[process.popen.pid] = f"{process.service} {process.kind}"
                elif process.kind == "worker":
                    self.roots[process.popen.pid] = "workers (relay, consumers)"
                else:
                    self.roots[process.popen.pid] = "other stack processes"
        self.by_group: dict[str, float] = {}
        self.machine = 0.0
        self.wall = 0.0
        self._began: tuple[dict[int, tuple[str, float]], float, float] = ({}, 0.0, 0.0)

    def _group(self, pid: int, parents: dict[int, int], command: str) -> str:
        seen = pid
        while seen in parents and seen not in self.roots:
            seen = parents[seen]
        if seen in self.roots:
            return self.roots[seen]
        if command == "postgres":
            return "PostgreSQL"
        if command in ("beam.smp", "erl_child_setup", "inet_gethost", "epmd"):
            return "RabbitMQ"
        if command == "wrk":
            return "load generator"
        return "other"

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        stats = all_processes()
        parents = {pid: parent for pid, (_command, parent, _cpu) in stats.items()}
        return {pid: (self._group(pid, parents, command), cpu) for pid, (command, _parent, cpu) in stats.items()}

    def __enter__(self) -> StackCpu:
        self._began = self._snapshot(), machine_busy(), time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        before, machine, began = self._began
        for pid, (group, cpu) in self._snapshot().items():
            spent = cpu - before[pid][1] if pid in before else cpu
            self.by_group[group] = self.by_group.get(group, 0.0) + spent
        self.machine, self.wall = machine_busy() - machine, time.perf_counter() - began

    def ms_each(self, count: int) -> dict[str, float]:
        return {group: seconds / count * 1000 for group, seconds in self.by_group.items() if count}

    def report(self, count: int) -> None:
        each = sorted(self.ms_each(count).items(), key=lambda item: -item[1])
        shown = ", ".join(f"{group} {ms:.2f}" for group, ms in each if ms >= 0.005)
        note(
            f"CPU per request while it ran, in ms: {shown}; in all {sum(ms for _, ms in each):.2f}"
            f" (the machine was busy on {self.machine / self.wall:.2f} CPUs)"
        )


def ceiling_database(exits: ExitStack, run_id: str, var: Path) -> tuple[str, dict[str, str]]:
    """A fresh database migrated to the contacts schema (``crm migrate contacts``) with a workspace made by
    ``crm workspace create``; returns its libpq URL and the script's ``pgbench -D`` constants."""
    import psycopg

    url = libpq(fresh_database(exits, f"crm_bench_{run_id}_ceiling"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_") and not k.endswith("_DATABASE_URL")}
    env.update(
        {
            "CRM_ENV": "development",
            "CONTACTS_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
            "CRM_LOCAL_BUS_URL": f"sqlite:///{var}/ceiling-bus.db",  # migrate declares the service's queue there
            "CRM_JWT_SECRET": "bench-ceiling-" * 3,
            "CRM_LOG_LEVEL": "WARNING",
        }
    )
    workspace = ""
    for command in (("migrate", "contacts"), ("workspace", "create", "Bench")):
        result = subprocess.run(
            [sys.executable, "-m", "crm_platform.cli", *command], env=env, capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise BenchError(f"crm {' '.join(command)} failed: {result.stderr.strip()}")
        workspace = result.stdout.strip().splitlines()[-1]
    with psycopg.connect(url) as db:  # what the create's context query finds: default type, first stage, source
        row = db.execute(
            "SELECT t.id, (SELECT s.id FROM stages s WHERE s.type_id = t.id ORDER BY s.position, s.id LIMIT 1),"
            " (SELECT s.id FROM sources s WHERE s.workspace_id = t.workspace_id AND s.key = 'manual')"
            " FROM contact_types t WHERE t.workspace_id = %s AND t.key = 'contact'",
            (workspace,),
        ).fetchone()
    if row is None or None in row:
        raise BenchError(f"workspace {workspace!r} has no default type, first stage or manual source")
    type_id, stage_id, source_id = row
    constants = {
        "workspace_id": workspace,
        "type_id": type_id,
        "stage_id": stage_id,
        "source_id": source_id,
        "body": "\\x" + OUTBOX_BODY.hex(),
    }
    return url, constants


def pgbench_run(
    label: str, url: str, script: Path, constants: dict[str, str], concurrency: int, seconds: float, log: Path | None
) -> Floor:
    """One pgbench run: prepared statements, one thread, ``concurrency`` clients. p50/p95 come from its
    per-transaction log when ``log`` (a file prefix) is given; the CPU is pgbench's and its backends'."""
    from urllib.parse import urlsplit

    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise BenchError("pgbench is not installed (apt-get install -y postgresql-client)")
    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    command = [pgbench, "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    command += ["-U", parts.username or "postgres", "-n", "-M", "prepared", "-j", "1", "-c", str(concurrency)]
    command += ["-T", str(max(1, round(seconds))), "-f", str(script)]
    command += [f"-D{name}={value}" for name, value in constants.items()]
    if log is not None:
        command += ["-l", f"--log-prefix={log}"]
    with CpuMeter(database=dbname) as cpu:
        result = subprocess.run([*command, dbname], capture_output=True, text=True, timeout=seconds + 120)
    if result.returncode != 0:
        raise BenchError(f"{label}: pgbench exited with {result.returncode}: {(result.stdout + result.stderr)[-2000:]}")

    def number(prefix: str) -> float:
        for line in result.stdout.splitlines():
            if line.startswith(prefix):
                return float(line[len(prefix) :].split()[0])
        raise BenchError(f"{label}: no {prefix!r} in pgbench's output:\n{result.stdout}")

    if number("number of failed transactions:"):
        raise BenchError(f"{label}: pgbench reported failed transactions:\n{result.stdout}")
    count = int(number("number of transactions actually processed:"))
    tps = number("tps =")  # without the initial connection time
    latencies = None
    if log is not None:  # lines of "client transaction latency_us script epoch us"
        latencies = []
        for path in sorted(log.parent.glob(log.name + ".*")):
            with path.open() as lines:
                latencies += [int(line.split()[2]) / 1000 for line in lines]
            path.unlink()
    return Floor(Measure(label, count, count / tps if tps else 0.0, latencies), cpu)


def sql_floors(
    url: str, constants: dict[str, str], var: Path, concurrency: int, seconds: float, warmup: float
) -> tuple[Floor, Floor]:
    """The create's SQL alone, pipelined and with one round trip per statement, each after its warm-up.
    Checks afterwards that every create wrote all its rows and that no email or phone came twice."""
    import psycopg

    plain = var / "create_contact.plain.pgbench.sql"  # the same script without \startpipeline / \endpipeline
    plain.write_text(
        "".join(
            line
            for line in PGBENCH_SCRIPT.read_text().splitlines(keepends=True)
            if line.strip() not in ("\\startpipeline", "\\endpipeline")
        )
    )
    floors = []
    committed = 0
    for label, script in (
        ("create SQL alone (pgbench, pipelined)", PGBENCH_SCRIPT),
        ("create SQL alone (pgbench, one round trip per statement)", plain),
    ):
        warm = pgbench_run("warm-up", url, script, constants, concurrency, warmup, None)
        floor = pgbench_run(label, url, script, constants, concurrency, seconds, var / "pgbench_log")
        committed += warm.measure.count + floor.measure.count
        floors.append(floor)
    with psycopg.connect(url) as db:
        counts = db.execute(
            "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM contact_emails),"
            " (SELECT count(*) FROM contact_phones), (SELECT count(*) FROM outbox), (SELECT count(*) FROM history),"
            " (SELECT count(DISTINCT address) FROM contact_emails), (SELECT count(DISTINCT number) FROM contact_phones)"
        ).fetchone()
    if counts is None or set(counts) != {committed}:
        raise BenchError(
            f"pgbench processed {committed} creates, but the database holds (contacts, emails, phones, outbox rows,"
            f" history entries, distinct emails, distinct phones) = {counts}"
        )
    note(f"{committed} creates committed, each with its 5 rows; no email or phone used twice")
    return floors[0], floors[1]


def start_floor_app(exits: ExitStack, port: int, workers: int, threads: int, log: Path) -> int:
    """Starts bench/floor_app.py under gunicorn (the stack's worker class, workers and threads) and waits
    until it answers; returns the gunicorn master's pid. Stopped (its process group, if need be) on exit."""
    import http.client
    import signal

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "PROMETHEUS_"))}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "floor_app.py"), str(port), str(workers), str(threads)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own: the master and its workers
        )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    exits.callback(stop)
    body = contact_body(0)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise BenchError(f"bench/floor_app.py exited with {process.returncode}; see {log}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("POST", "/v1/contacts", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError(f"bench/floor_app.py did not answer within 30s; see {log}") from None
            time.sleep(0.2)
            continue
        finally:
            connection.close()
        if response.status != 201 or json.loads(answer) != json.loads(body):
            raise BenchError(f"bench/floor_app.py answered {response.status}: {answer[:200]!r}")
        return process.pid


def http_floor(
    exits: ExitStack, var: Path, workers: int, threads: int, concurrency: int, seconds: float, warmup: float
) -> Floor:
    """The bare Flask app under the load of the create figure (wrk, bench/create_contact.lua), after a warm-up;
    the CPU is gunicorn's (master and workers) and the load generator's."""
    port = free_port_block(1)
    master = start_floor_app(exits, port, workers, threads, var / "floor_app.log")
    url = f"http://127.0.0.1:{port}"
    python_load = not shutil.which("wrk")
    load = python_http_load if python_load else wrk_load
    load("warm-up", url, "floor", concurrency, warmup)
    with CpuMeter(include_self=python_load, trees=(master,)) as cpu:
        measure = load("HTTP floor (bare Flask under gunicorn)", url, "floor", concurrency, seconds)
    return Floor(measure, cpu)


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


def normalising_ms(rounds: int = 2000) -> float:
    """CPU ms, in this process, to normalise one email and one phone with the service's own rules
    (email-validator, phonenumbers): work any create of this API must do, whatever serves it."""
    from crm_contacts.contacts import rules

    emails = [f"Ana.Ruiz{n}@Example.com" for n in range(rounds)]
    phones = [f"6{random.randrange(10**7, 10**8)}" for _ in range(rounds)]
    for email, phone in zip(emails[:100], phones[:100], strict=True):  # warm-up: imports, caches
        rules.normalize_email(email)
        rules.normalize_phone(phone, "ES")
    began = time.process_time()
    for email, phone in zip(emails, phones, strict=True):
        rules.normalize_email(email)
        rules.normalize_phone(phone, "ES")
    return (time.process_time() - began) / rounds * 1000


def ceiling(
    pipelined: Floor,
    plain: Floor,
    http: Floor,
    raw: Measure,
    raw_cpu: CpuMeter | None,
    target: float,
    lines: list[str],
    measured: tuple[Measure, StackCpu] | None = None,
) -> None:
    """Prints the floors and what they imply. The bound is by CPU: what the floors' own processes used per
    operation (``CpuMeter``), added, is the least CPU a create over HTTP can cost on this machine; all its CPUs
    at that cost give the highest rate. (Not CPUs / rate: a figure that leaves CPU idle would look dearer
    than it is.) Then what the target leaves beyond the floors, next to work every create must do."""
    cpus = os.cpu_count() or 1
    for floor, unit, who in (
        (pipelined, "tx/s", "pgbench and its backends"),
        (plain, "tx/s", "pgbench and its backends"),
        (http, "req/s", "gunicorn and the load generator"),
    ):
        line = floor.measure.text(unit)
        lines.append(line)
        print(line, flush=True)
        note(
            f"{who} used {floor.cpu_ms_each:.2f} ms of CPU each ({floor.cpu.cpus:.2f} CPUs; the machine was busy"
            f" on {floor.cpu.busy:.2f})"
        )
    floors_ms = pipelined.cpu_ms_each + http.cpu_ms_each
    rate = cpus / floors_ms * 1000
    ratio = rate / raw.rate
    allowed_ms = cpus / (target * raw.rate) * 1000
    left_ms = allowed_ms - floors_ms
    verdict = (
        f"target >= {target} out of reach even with nothing beyond the floors"
        if ratio < target
        else f"target >= {target} leaves {left_ms:.2f} ms beyond the floors"
    )
    line = (
        f"create ceiling, the floors' CPU: {pipelined.cpu_ms_each:.2f} ms (SQL, pipelined) + {http.cpu_ms_each:.2f} ms"
        f" (bare HTTP) = {floors_ms:.2f} ms per create -> at most {rate:,.0f} req/s on {cpus} CPUs"
        f" | {raw.text('req/s')} | ratio at most {ratio:.2f}; {verdict}"
    )
    lines.append(line)
    print(line, flush=True)
    note(
        f"at the target ({target} x {raw.rate:,.0f} = {target * raw.rate:,.0f} req/s) a create may cost"
        f" {allowed_ms:.2f} ms of CPU in all: {left_ms:.2f} ms beyond the floors for the service's own work"
        " (token, body, rules, event, answer) and for relaying and consuming its event"
    )
    note(f"normalising one email and one phone alone (email-validator, phonenumbers): {normalising_ms():.3f} ms")
    if measured is not None:
        figure, stack_cpu = measured
        each = stack_cpu.ms_each(figure.count)
        pipeline = sum(ms for group, ms in each.items() if group in ("workers (relay, consumers)", "RabbitMQ"))
        note(
            f"the create measured above cost {sum(each.values()):.2f} ms of CPU per request in all; its events'"
            f" relay, consumers and broker alone {pipeline:.2f} ms"
        )
    meters = [(f.measure.label, f.cpu) for f in (pipelined, plain, http)]
    if raw_cpu is not None:
        meters.insert(0, (raw.label, raw_cpu))
    note(
        "CPUs each figure's processes got / the machine was busy on: "
        + ", ".join(f"{label} {meter.cpus:.2f} / {meter.busy:.2f}" for label, meter in meters)
    )


# --- the run ------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per figure (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up before each (default 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--relay-events", type=int, default=20000, help="outbox rows to relay (default 20000)")
    parser.add_argument("--http-workers", type=int, default=2, help="gunicorn workers per service (default 2)")
    parser.add_argument(
        "--http-threads", type=int, default=None, help="gunicorn threads per worker (default: CRM_HTTP_THREADS's)"
    )
    parser.add_argument(
        "--only", choices=("http", "grpc", "relay", "ceiling"), action="append", help="run only these figures"
    )
    parser.add_argument("--keep", action="store_true", help="keep the stack's logs directory")
    args = parser.parse_args()
    only = set(args.only or ("http", "grpc", "relay", "ceiling"))

    from crm_platform import auth, devstack, settings
    from crm_platform.processes import DEFAULT_HTTP_THREADS

    http_threads = args.http_threads or DEFAULT_HTTP_THREADS

    run_id = uuid.uuid4().hex[:8]
    lines: list[str] = []
    var = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    print(
        f"crm bench {run_id}: {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), "
        f"{args.concurrency} concurrent clients, "
        f"{args.duration:g}s measured after {args.warmup:g}s warm-up; load generator: "
        f"{'wrk' if shutil.which('wrk') else 'Python threads (wrk not installed)'} for HTTP, grpc.aio for gRPC",
        flush=True,
    )
    failed = False
    raw_create: Measure | None = None  # the raw INSERT+COMMIT baseline of figure 1, shared with the ceiling
    raw_cpu: CpuMeter | None = None
    direct: Measure | None = None  # figure 1 and where its CPU went, for the ceiling's notes
    stack_cpu: StackCpu | None = None
    with ExitStack() as exits:
        try:
            if "relay" in only:
                print(f"[relay] {args.relay_events} events, fresh database and vhost", flush=True)
                relay, raw = relay_bench(exits, run_id, args.relay_events)
                compare(relay, raw, 0.7, "msg/s", lines)

            if only & {"http", "grpc"}:
                base = free_port_block()
                stack_vhost = fresh_vhost(exits, f"crm-bench-{run_id}")
                config = devstack.StackConfig(
                    var=var,
                    amqp_url=stack_vhost,
                    db_prefix=f"crm_bench_{run_id}",
                    gateway_port=base + 55,
                    smtp_port=base + 56,
                    base_port=base,
                    http_workers=args.http_workers,
                    extra_env={
                        "CRM_LOG_LEVEL": "WARNING",
                        "CRM_HTTP_THREADS": str(http_threads),
                        # the limiter still counts every request, it just never refuses one of the load
                        "CRM_RATE_LIMIT_PER_TOKEN": "1000000000",
                        "CRM_RATE_LIMIT_PER_WORKSPACE": "1000000000",
                    },
                    drop_databases_on_stop=True,
                )
                stack = devstack.Stack(config)
                began = time.perf_counter()
                print(f"[stack] starting {len(config.services)} services (HTTP, gRPC, worker each)", flush=True)
                exits.callback(stack.stop)
                stack.start()
                note(f"ready in {time.perf_counter() - began:.1f}s; logs in {var / 'logs'}")
                created = subprocess.run(
                    [sys.executable, "-m", "crm_platform.cli", "workspace", "create", "Bench"],
                    env=stack.env_for("contacts", "cli"),
                    capture_output=True,
                    text=True,
                )
                if created.returncode != 0:
                    raise BenchError(f"crm workspace create failed: {created.stderr}")
                workspace = created.stdout.strip().splitlines()[-1]
                token = auth.mint(
                    secret=config.jwt_secret, production=False, workspace_id=workspace, user_id="bench", role="admin"
                )
                contacts = devstack.ports(config, "contacts")

            if "http" in only:
                print("[http] POST /v1/contacts", flush=True)
                raw, raw_cpu = raw_baseline(
                    exits, run_id, args.concurrency, args.duration, args.warmup, with_cpu="ceiling" in only
                )
                raw_create = raw
                stack_cpu = StackCpu(stack, ("contacts", "http"))
                direct = http_load(
                    "contacts.create over HTTP",
                    f"http://127.0.0.1:{contacts['http']}",
                    token,
                    args.concurrency,
                    args.duration,
                    args.warmup,
                    meter=stack_cpu,
                )
                compare(direct, raw, 0.5, "req/s", lines)
                stack_cpu.report(direct.count)
                note(f"events of the run relayed and consumed by reports {wait_drained(stack, stack_vhost):.1f}s later")
                gateway = http_load(
                    "contacts.create via gateway", stack.url, token, args.concurrency, args.duration, args.warmup
                )
                compare(gateway, raw, 0.5, "req/s", lines)
                note(f"events of the run relayed and consumed by reports {wait_drained(stack, stack_vhost):.1f}s later")

            if "ceiling" in only:
                print("[ceiling] the create's SQL alone (pgbench) and a bare Flask app (gunicorn)", flush=True)
                if raw_create is None:
                    raw_create, raw_cpu = raw_baseline(
                        exits, run_id, args.concurrency, args.duration, args.warmup, with_cpu=True
                    )
                ceiling_url, constants = ceiling_database(exits, run_id, var)
                pipelined, plain = sql_floors(ceiling_url, constants, var, args.concurrency, args.duration, args.warmup)
                with ExitStack() as floor_app:  # stopped before the next figure
                    bare = http_floor(
                        floor_app, var, args.http_workers, http_threads, args.concurrency, args.duration, args.warmup
                    )
                measured = (direct, stack_cpu) if direct is not None and stack_cpu is not None else None
                ceiling(pipelined, plain, bare, raw_create, raw_cpu, 0.5, lines, measured)

            if "grpc" in only:
                print("[grpc] GetContact", flush=True)
                import requests

                from crm.contacts.v1 import contacts_pb2

                answer = requests.post(
                    f"http://127.0.0.1:{contacts['http']}/v1/contacts",
                    json={"name": "Ada Lovelace", "email": "ada@example.com", "phone": "699 999 999"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
                if answer.status_code != 201:
                    raise BenchError(f"POST /v1/contacts answered {answer.status_code}: {answer.text}")
                request = contacts_pb2.GetContactRequest(contact_id=answer.json()["id"])
                metadata = (("x-workspace-id", workspace), ("x-user-id", "bench"))
                # The echo gets the thread pool of the stack's contacts gRPC server: the same machinery.
                threads = settings.load("contacts", stack.env_for("contacts", "grpc")).grpc_workers
                echo = start_echo_server(exits, base + 57, threads)
                raw_grpc = grpc_load(
                    "raw grpcio echo",
                    echo,
                    "/bench.Echo/Echo",
                    request,
                    metadata,
                    args.concurrency,
                    args.duration,
                    args.warmup,
                )
                get = grpc_load(
                    "gRPC GetContact",
                    f"127.0.0.1:{contacts['grpc']}",
                    "/crm.contacts.v1.ContactsService/GetContact",
                    request,
                    metadata,
                    args.concurrency,
                    args.duration,
                    args.warmup,
                )
                compare(get, raw_grpc, 0.5, "req/s", lines)
        except BenchError as exc:
            print(f"ERROR: {exc}", file=sys.stderr, flush=True)
            failed = True
        except Exception:  # noqa: BLE001 - reported, then the run exits non-zero after cleaning up
            import traceback

            traceback.print_exc()
            failed = True
        print("[cleanup] stopping the stack, dropping databases and vhosts", flush=True)
    if not (failed or args.keep):
        shutil.rmtree(var, ignore_errors=True)
    else:
        print(f"logs kept in {var / 'logs'}", file=sys.stderr)
    if lines:
        print("\nsummary")
        for line in lines:
            print("  " + line)
        load = os.getloadavg()[1]
        if load > (os.cpu_count() or 1):
            print(
                f"  note: the 5-minute load average was {load:.1f} on {os.cpu_count()} CPUs: "
                "other work shared the machine, so the figures are noisy"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
