"""Figure 4: the ceiling of contacts.create here: its SQL alone (pgbench) and a bare Flask app (gunicorn)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from support.cpu import CpuMeter, StackCpu
from support.infra import BENCH_DIR, BenchError, free_port_block, fresh_database, libpq
from support.load import contact_body, python_http_load, wrk_load
from support.report import Measure, note

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


def normalising_ms(rounds: int = 2000) -> float:
    """CPU ms, in this process, to normalise one email and one phone with the service's own rules
    (email-validator, phonenumbers): work any create of this API must do, whatever serves it."""
    from crm_contacts.record import rules

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
