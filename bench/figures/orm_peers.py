"""The contacts paths against the naive code a team would write on the same stack (issue 13), in one run:

- ``create-peer``: POST /v1/contacts vs Flask + SQLAlchemy ORM add + one commit of contact, email and phone
  rows (bench/peers/orm_create.py);                            targets: rate >= 1.0 x, CPU per request <= 1.0 x
- ``list-peer``: GET /v1/contacts?status=won&limit=50 vs one ORM query with ``selectinload`` of emails and
  phones (bench/peers/orm_list.py);                            target: rate >= 1.5 x
- ``grpc-peer``: GetContact vs a grpcio servicer with one Core SELECT (bench/peers/grpcio_get.py);
                                                               target: rate >= 2.0 x

One fresh contacts database (migrated, one workspace, ``--peer-seed`` contacts with an email and a phone
each, a quarter of them won) serves both sides: the project as ``crm serve contacts http`` / ``grpc``, the
HTTP peers under gunicorn with the same workers and threads, the gRPC peer with the same thread pool. Rounds
are interleaved (project, peer, then peer, project, ...), each side measured for ``--peer-seconds`` by the
same client code (8 keep-alive HTTP connections in threads, or one grpc.aio channel with 8 coroutines);
CPU per request is the server's process tree plus its PostgreSQL backends (``CpuMeter``), from /proc.
Medians over the rounds of the rate, of the CPU per request and of the rounds' ratios.
"""

from __future__ import annotations

import asyncio
import functools
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.cpu import CpuMeter
from support.infra import BENCH_DIR, BenchError, free_port_block, fresh_database, libpq, wait_for_port
from support.load import _grpc_closed_loop, closed_loop
from support.report import note

FIGURES = ("create-peer", "list-peer", "grpc-peer")
TARGETS = {"create-peer": 1.0, "list-peer": 1.5, "grpc-peer": 2.0}
LIST_QUERY = "status=won&limit=50"
JWT_SECRET = "bench-only-secret-0123456789abcdef-0123456789"


@dataclass
class Round:
    rate: float
    server_ms: float  # CPU per request of the server's processes
    db_ms: float  # ... and of its PostgreSQL backends

    @property
    def cpu_ms(self) -> float:
        return self.server_ms + self.db_ms


def _start(exits: ExitStack, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[Any]:
    out = log.open("w")
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        out.close()

    exits.callback(stop)
    return process


SEED = """
CREATE TEMP TABLE seed AS
    SELECT n, gen_random_uuid()::text AS id FROM generate_series(1, %(count)s) AS n;
INSERT INTO contacts (id, workspace_id, name, name_key, email, phone, type_id, stage_id, status, source_id,
                      stars, blocked, location, messengers, custom_fields, version, created_at, updated_at)
    SELECT id, %(workspace)s, 'Seeded Contact ' || n, 'seeded contact ' || n, 'seeded.' || n || '@example.com',
           '+3471' || lpad(n::text, 7, '0'), %(type)s, %(stage)s,
           CASE WHEN n %% 4 = 0 THEN 'won' ELSE 'active' END, %(source)s, 0, false, '{}', '{}', '{}', 1,
           now() - n * interval '1 minute', now() - n * interval '1 minute'
    FROM seed;
INSERT INTO contact_emails (id, workspace_id, contact_id, address, is_primary, position, status)
    SELECT gen_random_uuid()::text, %(workspace)s, id, 'seeded.' || n || '@example.com', true, 0, 'active' FROM seed;
INSERT INTO contact_phones (id, workspace_id, contact_id, number, is_primary, position)
    SELECT gen_random_uuid()::text, %(workspace)s, id, '+3471' || lpad(n::text, 7, '0'), true, 0 FROM seed;
"""


def _seed(url: str, workspace_id: str, count: int) -> str:
    """``count`` contacts with one email and one phone each in the workspace; returns one of their ids."""
    import psycopg

    with psycopg.connect(libpq(url), autocommit=True) as db:
        type_id, stage_id = db.execute(
            "SELECT t.id, s.id FROM contact_types t JOIN stages s ON s.type_id = t.id"
            " WHERE t.workspace_id = %s AND t.key = 'contact' ORDER BY s.position LIMIT 1",
            (workspace_id,),
        ).fetchone()
        (source_id,) = db.execute(
            "SELECT id FROM sources WHERE workspace_id = %s AND key = 'manual'", (workspace_id,)
        ).fetchone()
        values = {"count": count, "workspace": workspace_id, "type": type_id, "stage": stage_id, "source": source_id}
        with db.transaction():
            for statement in filter(str.strip, SEED.split(";")):
                db.execute(statement, values)
        db.execute("ANALYZE")
        (contact_id,) = db.execute("SELECT id FROM contacts ORDER BY created_at DESC LIMIT 1 OFFSET 7").fetchone()
    return contact_id


def _http_side(port: int, method: str, path: str, token: str | None, body: Callable[[], str] | None, status: int):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    def setup() -> Callable[[], None]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def call() -> None:
            connection.request(method, path, body=body() if body else None, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if response.status != status:
                raise BenchError(f"{method} {path} on {port} answered {response.status}: {answer[:300]!r}")

        return call

    return setup


def _measure(meter_of: Callable[[], CpuMeter], run: Callable[[], tuple[int, float]]) -> Round:
    with meter_of() as meter:
        count, seconds = run()
    if not count:
        raise BenchError("no request completed in a round")
    server = meter.seconds - meter.backend_seconds
    return Round(count / seconds, server / count * 1000, meter.backend_seconds / count * 1000)


def _report(figure: str, ours_label: str, peer_label: str, rounds: list[tuple[Round, Round]], lines: list[str]) -> None:
    ours = [o for o, _p in rounds]
    peer = [p for _o, p in rounds]
    for index, (o, p) in enumerate(rounds, 1):
        note(
            f"round {index}: ours {o.rate:,.0f}/s {o.server_ms:.2f}+{o.db_ms:.2f} ms | "
            f"peer {p.rate:,.0f}/s {p.server_ms:.2f}+{p.db_ms:.2f} ms"
        )

    def med(values: list[float]) -> float:
        return statistics.median(values)

    rate_ratio = med([o.rate / p.rate for o, p in rounds])
    cpu_ratio = med([o.cpu_ms / p.cpu_ms for o, p in rounds])
    target = TARGETS[figure]
    verdicts = [f"rate ratio {rate_ratio:.2f} (target >= {target}) {'PASS' if rate_ratio >= target else 'MISS'}"]
    if figure == "create-peer":
        verdicts.append(f"CPU ratio {cpu_ratio:.2f} (target <= 1.0) {'PASS' if cpu_ratio <= 1.0 else 'MISS'}")
    else:
        verdicts.append(f"CPU ratio {cpu_ratio:.2f}")

    def side(label: str, sides: list[Round]) -> str:
        return (
            f"{label} {med([s.rate for s in sides]):,.0f}/s, {med([s.server_ms for s in sides]):.2f} ms server"
            f" + {med([s.db_ms for s in sides]):.2f} ms PG per request"
        )

    line = f"{side(ours_label, ours)} | {side(peer_label, peer)} | {', '.join(verdicts)}"
    line += f" (medians of {len(rounds)} rounds)"
    lines.append(line)
    print(line, flush=True)


def _interleave(rounds: int, ours: Callable[[], Round], peer: Callable[[], Round]) -> list[tuple[Round, Round]]:
    measured = []
    for index in range(rounds):
        if index % 2 == 0:
            o = ours()
            p = peer()
        else:
            p = peer()
            o = ours()
        measured.append((o, p))
    return measured


def orm_peers_bench(
    exits: ExitStack,
    run_id: str,
    figures: set[str],
    *,
    rounds: int,
    seconds: float,
    warmup: float,
    concurrency: int,
    seed: int,
    http_workers: int,
    http_threads: int,
    lines: list[str],
) -> None:
    from crm_contacts.app import SERVICE as CONTACTS
    from crm_contacts.workspaces import service as workspaces
    from crm_platform import auth, migrations, service_tokens
    from crm_platform.service import bootstrap
    from crm_platform.settings import DEFAULT_GRPC_WORKERS, load

    folder = Path(tempfile.mkdtemp(prefix="crm-bench-peers-"))
    keys = service_tokens.local_keys(folder / "keys", ("contacts", "tickets"))
    database = f"crm_bench_{run_id}_peers"
    url = fresh_database(exits, database)
    migrations.upgrade(CONTACTS, url)
    common = {
        "CRM_JWT_SECRET": JWT_SECRET,
        "CRM_ENV": "test",
        "CRM_LOCAL_BUS_URL": f"sqlite:///{folder}/bus.db",
        "CRM_LOG_LEVEL": "WARNING",
        "CONTACTS_DATABASE_URL": url,
        "CRM_RATE_LIMIT_PER_TOKEN": "1000000000",
        "CRM_RATE_LIMIT_PER_WORKSPACE": "1000000000",
        **keys,
    }
    rt = bootstrap(CONTACTS, load("contacts", common))
    try:
        workspace_id = workspaces.create(rt.database.unit_of_work(), name="Bench", default_region="ES").id
    finally:
        rt.close()
    began = time.perf_counter()
    contact_id = _seed(url, workspace_id, seed)
    note(f"{seed:,} contacts seeded in {time.perf_counter() - began:.1f}s; logs in {folder}")
    token = auth.mint(secret=JWT_SECRET, production=False, workspace_id=workspace_id, user_id="bench", role="admin")
    peer_env = {"PEER_DATABASE_URL": url, "PEER_WORKSPACE_ID": workspace_id, "PYTHONPATH": str(BENCH_DIR / "peers")}
    base = free_port_block(10)
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", str(http_workers), "--threads", str(http_threads)]

    def cpu_of(process: subprocess.Popen[Any]) -> Callable[[], CpuMeter]:
        return lambda: CpuMeter(trees=(process.pid,), database=database, existing=True)

    servers: dict[str, subprocess.Popen[Any]] = {}
    if figures & {"create-peer", "list-peer"}:
        env = {**common, "CRM_HTTP_PORT": str(base), "CRM_METRICS_PORT": str(base + 1)}
        env |= {"CRM_HTTP_WORKERS": str(http_workers), "CRM_HTTP_THREADS": str(http_threads)}
        servers["http"] = _start(
            exits, [sys.executable, "-m", "crm_platform.cli", "serve", "contacts", "http"], env, folder / "http.log"
        )
        wait_for_port(base, 60.0, servers["http"])
    counter = iter(range(10**9))

    def body() -> str:
        n = next(counter)
        return json.dumps({"name": f"Bench Contact {n}", "email": f"Bench.{n}@Example.COM", "phone": f"6{n:08d}"})

    def http_round(process: subprocess.Popen[Any], port: int, method: str, path: str, auth_token: str | None,
                   status: int, length: float) -> Round:  # fmt: skip
        setup = _http_side(port, method, path, auth_token, body if method == "POST" else None, status)

        def run() -> tuple[int, float]:
            measure = closed_loop(path, concurrency, length, setup)
            return measure.count, measure.seconds

        return _measure(cpu_of(process), run)

    for figure, peer_module, method, ours_path, peer_path, status, labels in (
        ("create-peer", "orm_create", "POST", "/v1/contacts", "/contacts", 201,
         ("contacts create (project)", "Flask + ORM add + commit")),
        ("list-peer", "orm_list", "GET", f"/v1/contacts?{LIST_QUERY}", f"/contacts?{LIST_QUERY}", 200,
         ("contacts list page (project)", "Flask + ORM + selectinload")),
    ):  # fmt: skip
        if figure not in figures:
            continue
        print(f"[{figure}] {method} {ours_path} vs bench/peers/{peer_module}.py, {rounds} rounds", flush=True)
        port = base + (2 if figure == "create-peer" else 3)
        with ExitStack() as peer_exits:  # the peer stops before the next figure
            peer = _start(
                peer_exits,
                [*gunicorn, "-b", f"127.0.0.1:{port}", "--chdir", str(BENCH_DIR / "peers"), f"{peer_module}:app"],
                peer_env,
                folder / f"{peer_module}.log",
            )
            wait_for_port(port, 60.0, peer)
            ours_http = servers["http"]
            http_round(ours_http, base, method, ours_path, token, status, warmup)
            http_round(peer, port, method, peer_path, None, status, warmup)
            measured = _interleave(
                rounds,
                functools.partial(http_round, ours_http, base, method, ours_path, token, status, seconds),
                functools.partial(http_round, peer, port, method, peer_path, None, status, seconds),
            )
        _report(figure, *labels, measured, lines)

    if "grpc-peer" in figures:
        from crm.contacts.v1 import contacts_pb2
        from crm_platform.service_tokens import SERVICE_TOKEN_METADATA, ServiceTokenMinter

        threads = int(os.environ.get("CRM_GRPC_WORKERS", DEFAULT_GRPC_WORKERS))
        print(f"[grpc-peer] GetContact vs bench/peers/grpcio_get.py, {threads} threads each", flush=True)
        env = {**common, "CRM_GRPC_PORT": str(base + 4), "CRM_METRICS_PORT": str(base + 5)}
        servers["grpc"] = _start(
            exits, [sys.executable, "-m", "crm_platform.cli", "serve", "contacts", "grpc"], env, folder / "grpc.log"
        )
        peer = _start(
            exits,
            [sys.executable, str(BENCH_DIR / "peers" / "grpcio_get.py"), str(base + 6), str(threads)],
            peer_env,
            folder / "grpcio_get.log",
        )
        wait_for_port(base + 5, 60.0, servers["grpc"])
        wait_for_port(base + 4, 60.0, servers["grpc"])
        wait_for_port(base + 6, 60.0, peer)
        request = contacts_pb2.GetContactRequest(contact_id=contact_id)
        service_token = ServiceTokenMinter("tickets", keys["TICKETS_SERVICE_KEY"]).token(
            "crm.contacts.v1.ContactsService"
        )
        metadata = ((SERVICE_TOKEN_METADATA, service_token), ("authorization", f"Bearer {token}"))
        method = "/crm.contacts.v1.ContactsService/GetContact"

        def grpc_round(process: subprocess.Popen[Any], target: str, length: float) -> Round:
            def run() -> tuple[int, float]:
                count, elapsed, _latencies = asyncio.run(
                    _grpc_closed_loop(target, method, request, metadata, concurrency, length)
                )
                return count, elapsed

            return _measure(cpu_of(process), run)

        ours_target, peer_target = f"127.0.0.1:{base + 4}", f"127.0.0.1:{base + 6}"
        grpc_round(servers["grpc"], ours_target, warmup)
        grpc_round(peer, peer_target, warmup)
        measured = _interleave(
            rounds,
            lambda: grpc_round(servers["grpc"], ours_target, seconds),
            lambda: grpc_round(peer, peer_target, seconds),
        )
        _report("grpc-peer", "GetContact (project)", "grpcio + one Core SELECT", measured, lines)
