"""Reports at scale (not part of CI; ``make bench-reports``): every report over 90 days through the API, ingest by
one worker, and ``crm reports rebuild``, on PostgreSQL.

On a fresh database (migrated by the service's own migrations) it generates realistic event streams for 10
workspaces (conversation lifecycles: started, messages in and out, notes, assigned, archived, reopened; ticket
lifecycles: opened, replies, notes, statuses, solved, closed, reopened; contacts moving through the funnel, won
and lost; mail sent, bounced, suppressed) as the producers' protobuf events over the last year, turns them into
facts with the report features' own ``to_facts`` (the functions ``projection.subscribe`` wired, so the attrs are
theirs), COPYs the facts in and derives each workspace with ``projection.rebuild`` (what ``crm reports rebuild``
runs). Then, next to baselines measured in the same run:

  rebuild of one workspace (1,000,000 facts at full scale)             < 60 s
  each registered report, 90 days, through the Flask app in this process
  (auth, problem handling, the report's build; no gunicorn), p95      < 100 ms
      vs a plain SQL aggregate over the raw facts for the same range (count per kind of the report's projection)
  ingest: events handed to the reports' IdempotentConsumer in batches of the RabbitMQ worker's size
  (``handle_batch``, one transaction each, as the worker does), on the loaded database   >= 2,000 events/s
      vs the same deliveries through the consumer with no handler work (its dedup INSERT and commit only)

``--scale 0.01`` for a quick look (100,000 facts); ``--reuse`` keeps the loaded database of a previous run (the
rebuild is timed again). Run: ``.venv/bin/python bench/reports_scale.py --scale 0.01``. A missed target is
reported, not an error; the exit status is non-zero only when something failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from reports_events import WORKSPACES, Stream, Tenant, envelope_of, setup_events, tenants_of
from support.infra import PG_ADMIN, BenchError

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "crm_reports_scale_bench"
SQLA_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
PG_DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={DB_NAME}"
JWT_SECRET = "reports-scale-bench-secret-0123456789abcdef"
FACTS = 10_000_000  # at --scale 1
SAMPLES = 100
INGEST_EVENTS = 20_000
RANGE_DAYS = 90


def use_database(name: str) -> None:
    """Run on the database ``name`` (each engineer on the shared machine their own)."""
    global DB_NAME, SQLA_URL, PG_DSN
    DB_NAME = name
    SQLA_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
    PG_DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={DB_NAME}"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- facts, by the features' own to_facts ------------------------------------------------------------------
def wired_to_facts(subscriptions: Any) -> dict[str, list[Callable[[Any], list[Any]]]]:
    """Per event type, the ``to_facts`` function ``projection.subscribe`` wired for it (the reports' Intake keeps
    them with their projections): the features' code, not a copy."""
    intake = subscriptions.extras.get("reports.intake")
    if intake is None:
        raise SystemExit("the reports' projections are no longer wired through projection.Intake: update the bench")
    return {name: [to_facts] for name, (_projection, to_facts) in intake.routes.items()}


def fresh_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def load(tenants: list[Tenant], facts_each: int, now: datetime, seed: int) -> tuple[int, int, dict[str, int]]:
    """Generate each workspace's events over the last year until it has ``facts_each`` facts and COPY them
    (secondary indexes dropped meanwhile); returns the events, the facts and the facts per kind."""
    from crm_events import by_name
    from crm_platform.events import Event
    from crm_reports.app import subscriptions

    makers = wired_to_facts(subscriptions)
    if not makers:
        log("  no projection is wired yet (the foundation alone): no facts to generate")
        return 0, 0, {}
    rng = random.Random(seed)
    first = now - timedelta(days=365)
    events_total = facts_total = 0
    per_kind: dict[str, int] = {}
    with psycopg.connect(PG_DSN) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'facts' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ).fetchall()
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        (primary_key,) = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'facts'::regclass AND contype = 'p'"
        ).fetchone() or ("",)
        conn.execute("ALTER TABLE facts DROP CONSTRAINT pk_facts")  # the platform's naming convention
        started = time.perf_counter()
        for n, tenant in enumerate(tenants):
            stream = Stream(tenant, rng, now)
            kept = 0
            with conn.cursor().copy(
                "COPY facts (event_id, subject_id, workspace_id, kind, occurred_at, member_id, attrs) FROM STDIN"
            ) as copy:
                while kept < facts_each:
                    start = first + timedelta(seconds=rng.uniform(0, 365 * 86400))
                    for event_type, payload, at in stream.lifecycle(start):
                        if at > now or event_type.name not in makers:
                            continue
                        events_total += 1
                        envelope = envelope_of(event_type, payload, tenant.id, at, stream.id())
                        event = Event(by_name(event_type.name), payload, envelope)
                        for to_facts in makers[event_type.name]:
                            for fact in to_facts(event):
                                copy.write_row(
                                    (
                                        fact.event_id,
                                        fact.subject_id,
                                        fact.workspace_id,
                                        fact.kind,
                                        fact.occurred_at,
                                        fact.member_id,
                                        json.dumps(fact.attrs),
                                    )
                                )
                                kept += 1
                                per_kind[fact.kind] = per_kind.get(fact.kind, 0) + 1
            facts_total += kept
            conn.commit()
            log(f"  workspace {n + 1}/{len(tenants)}: {kept:,} facts ({time.perf_counter() - started:.0f} s)")
        index_started = time.perf_counter()
        conn.execute(f"ALTER TABLE facts ADD CONSTRAINT pk_facts {primary_key}")
        for _name, definition in indexes:
            conn.execute(definition)
        conn.commit()
        log(f"  indexes rebuilt in {time.perf_counter() - index_started:.0f} s")
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE facts")
    return events_total, facts_total, per_kind


# --- measuring ---------------------------------------------------------------------------------------------
@dataclass
class Result:
    label: str
    value: float
    unit: str
    baseline: float | None
    target: float | None  # None: reported without a target
    higher_is_better: bool = False
    extra: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "-"
        met = self.value >= self.target if self.higher_is_better else self.value < self.target
        return "yes" if met else "NO"


def timed(call: Callable[[], Any], samples: int) -> list[float]:
    latencies = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def deliver_setup(database: Any, tenants: list[Tenant], now: datetime) -> None:
    """The setup events through the reports' consumer; then each workspace's time zone as its settings event gave
    it (written here where no feature keeps it from the event yet)."""
    from sqlalchemy.dialects.postgresql import insert

    from crm_platform.bus import Delivery
    from crm_platform.consumer import IdempotentConsumer
    from crm_platform.events import unpack
    from crm_reports.app import subscriptions
    from crm_reports.workspaces import ReportWorkspace

    consumer = IdempotentConsumer("reports", database, subscriptions)
    for tenant in tenants:
        bodies = setup_events(tenant, now)
        consumer.handle_batch([Delivery(body=b, event_type=unpack(b).type, attempt=1) for b in bodies])
    with database.unit_of_work() as uow:
        uow.session.execute(
            insert(ReportWorkspace)
            .values([{"workspace_id": t.id, "time_zone": t.zone, "version": 1} for t in tenants])
            .on_conflict_do_nothing()
        )
        uow.commit()


def ingest_events(tenants: list[Tenant], count: int, now: datetime, seed: int) -> list[bytes]:
    """New lifecycles of the last two days in every workspace, in the order they happened (how they arrive)."""
    from crm_reports.app import subscriptions

    rng = random.Random(seed)
    wanted = set(subscriptions.handlers)
    found: list[tuple[datetime, bytes]] = []
    streams = [Stream(tenant, rng, now) for tenant in tenants]
    while len(found) < count:
        stream = rng.choice(streams)
        for event_type, payload, at in stream.lifecycle(now - timedelta(days=2, seconds=rng.uniform(0, 86400))):
            if event_type.name in wanted and at <= now:
                body = envelope_of(event_type, payload, stream.t.id, at, stream.id()).SerializeToString()
                found.append((at, body))
    found.sort(key=lambda item: item[0])
    return [body for _at, body in found[:count]]


def measure_ingest(database: Any, bodies: list[bytes]) -> tuple[float, float, float]:
    """Events per second through the reports' consumer, in batches of the RabbitMQ worker's size (one transaction
    each): the first half in the order they happened (types and workspaces interleaved, as they arrive), the second
    grouped by workspace and type (the batch form's best case: bursts of one kind); and the consumer with handlers
    that do nothing (its dedup INSERT and commit alone) over the first half."""
    from sqlalchemy import text

    from crm_platform.bus import Delivery
    from crm_platform.bus.rabbitmq import BATCH
    from crm_platform.consumer import IdempotentConsumer, Subscriptions
    from crm_platform.events import unpack
    from crm_reports.app import subscriptions

    envelopes = [unpack(body) for body in bodies]
    deliveries = [Delivery(body=b, event_type=e.type, attempt=1) for b, e in zip(bodies, envelopes, strict=True)]
    nothing = Subscriptions()
    for subscription in subscriptions.handlers.values():
        nothing.on(subscription.event_type, batch=lambda _rt, _uow, _batch: None)(lambda _rt, _uow, _event: None)

    def rate(consumer: IdempotentConsumer, batch: list[Delivery]) -> float:
        started = time.perf_counter()
        for first in range(0, len(batch), BATCH):
            consumer.handle_batch(batch[first : first + BATCH])
        return len(batch) / (time.perf_counter() - started)

    def facts() -> int:
        with database.unit_of_work() as uow:
            return int(uow.session.execute(text("SELECT count(*) FROM facts")).scalar_one())

    half = len(deliveries) // 2
    # The baseline records its ids under another consumer name, so both see every event as new.
    baseline = rate(IdempotentConsumer("reports-bench-baseline", database, nothing), deliveries[:half])
    before = facts()
    arrival = rate(IdempotentConsumer("reports", database, subscriptions), deliveries[:half])
    if facts() == before:
        raise BenchError(f"{half} events gave no new fact: were they handled before?")
    grouped = sorted(range(half, len(deliveries)), key=lambda n: (envelopes[n].workspace_id, envelopes[n].type, n))
    runs = rate(IdempotentConsumer("reports", database, subscriptions), [deliveries[n] for n in grouped])
    return arrival, runs, baseline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the issue's 10,000,000 facts")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="requests per report")
    parser.add_argument("--ingest", type=int, default=INGEST_EVENTS, help="events fed to the consumer")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database of a previous run")
    parser.add_argument(
        "--rebuilds", type=int, default=WORKSPACES, help="workspaces rebuilt and timed (all the first time)"
    )
    parser.add_argument("--database", default=DB_NAME, help="the PostgreSQL database to load (dropped and created)")
    args = parser.parse_args()
    use_database(args.database)
    sys.path[:0] = [str(ROOT), str(ROOT / "libs/platform"), str(ROOT / "services/reports")]
    logging.disable(logging.WARNING)

    from crm_platform import migrations
    from crm_platform.auth import mint_for
    from crm_platform.service import bootstrap
    from crm_platform.settings import load as load_settings
    from crm_platform.web import create_app
    from crm_reports import projection
    from crm_reports.app import PROJECTIONS, SERVICE
    from crm_reports.report import REPORTS

    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    tenants = tenants_of(seed=3)
    facts_each = int(FACTS * args.scale) // WORKSPACES
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "REPORTS_DATABASE_URL": SQLA_URL,
            "CRM_LOCAL_BUS_URL": f"sqlite:///{tmp}/bus.db",
            "CRM_JWT_SECRET": JWT_SECRET,
            "CRM_ENV": "test",
            "CRM_RATE_LIMIT_PER_TOKEN": "1000000000",  # counted, never refused: the figures are the API's
            "CRM_RATE_LIMIT_PER_WORKSPACE": "1000000000",
        }
        if not args.reuse:
            fresh_database()
        migrations.upgrade(SERVICE, SQLA_URL)
        rt = bootstrap(SERVICE, load_settings("reports", env))
        try:
            if not args.reuse:
                log(f"fresh database {DB_NAME}: {facts_each * WORKSPACES:,} facts in {WORKSPACES} workspaces")
                deliver_setup(rt.database, tenants, now)
                load_started = time.perf_counter()
                events, loaded, per_kind = load(tenants, facts_each, now, seed=5)
                log(f"generated {events:,} events into {loaded:,} facts in {time.perf_counter() - load_started:.0f} s")
                log("  " + ", ".join(f"{kind} {n:,}" for kind, n in sorted(per_kind.items())))
            with psycopg.connect(PG_DSN, autocommit=True) as raw:
                held = dict(raw.execute("SELECT workspace_id, count(*) FROM facts GROUP BY 1").fetchall())
            log(
                f"projections: {', '.join(p.name for p in PROJECTIONS) or 'none'}; reports: "
                f"{', '.join(sorted(REPORTS)) or 'none'}"
            )

            seconds = []
            rebuilt = tenants if not args.reuse else tenants[: max(1, args.rebuilds)]
            for n, tenant in enumerate(rebuilt):
                rebuild_started = time.perf_counter()
                read = projection.rebuild(rt.database, PROJECTIONS, tenant.id)
                seconds.append(time.perf_counter() - rebuild_started)
                log(f"  rebuild {n + 1}/{len(rebuilt)}: {read:,} facts in {seconds[-1]:.1f} s")
            biggest = max(held.values(), default=0)
            full = 1_000_000 / biggest * max(seconds) if biggest else 0.0
            results.append(
                Result(
                    f"rebuild of one workspace ({biggest:,} facts)",
                    max(seconds),
                    "s",
                    None,
                    60.0 if biggest >= 1_000_000 else None,
                    extra=f"median {statistics.median(seconds):.1f} s; "
                    f"{biggest / max(max(seconds), 1e-9):,.0f} facts/s; 1,000,000 facts: ~{full:.0f} s at this rate",
                )
            )
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")

            client = create_app(rt).test_client()
            client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
            tokens = {
                t.id: {
                    "Authorization": "Bearer "
                    + mint_for(rt.settings, workspace_id=t.id, user_id=t.members[0], role="admin")
                }
                for t in tenants
            }
            end = now.date()
            begin = end - timedelta(days=RANGE_DAYS - 1)
            rng = random.Random(9)
            raw = psycopg.connect(PG_DSN, autocommit=True)
            for key in sorted(REPORTS):
                kinds = sorted(
                    {k for p in PROJECTIONS if p.name == key for k in p.kinds}
                    or {k for p in PROJECTIONS for k in p.kinds}
                )
                served, baseline = report_calls(client, tokens, key, begin, end, raw, tenants, kinds, rng)
                for _ in range(5):  # warm both
                    served()
                    baseline()
                ours, theirs = timed(served, args.samples), timed(baseline, args.samples)
                results.append(
                    Result(
                        f"GET /v1/reports/{key} ({RANGE_DAYS} days)",
                        percentile(ours, 0.95),
                        "ms p95",
                        percentile(theirs, 0.95),
                        100.0,
                        extra=f"p50 {statistics.median(ours):.1f} ms (raw p50 {statistics.median(theirs):.1f})",
                    )
                )
                done = results[-1]
                log(f"  {done.label}: p95 {done.value:.1f} ms, {done.extra}, raw p95 {done.baseline:.1f}")
            raw.close()

            bodies = ingest_events(tenants, args.ingest, now, seed=time.time_ns())  # new ids every run
            arrival, runs, baseline_rate = measure_ingest(rt.database, bodies)
            half = len(bodies) // 2
            results.append(
                Result(
                    f"ingest, one worker ({half:,} events)",
                    arrival,
                    "ev/s",
                    baseline_rate,
                    2000.0,
                    higher_is_better=True,
                    extra="in the order they happened; baseline: the consumer with handlers that do nothing",
                )
            )
            results.append(
                Result(
                    f"  the same, in runs of one workspace and type ({len(bodies) - half:,})",
                    runs,
                    "ev/s",
                    baseline_rate,
                    None,
                    higher_is_better=True,
                    extra="the batch form's best case",
                )
            )
        finally:
            rt.close()
    report(results, sum(held.values()), time.perf_counter() - started, args.scale)
    return 0


def report_calls(
    client: Any,
    tokens: dict[str, dict[str, str]],
    key: str,
    begin: date,
    end: date,
    raw: psycopg.Connection,
    tenants: list[Tenant],
    kinds: list[str],
    rng: random.Random,
) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """One report's request for a random workspace, and the raw aggregate over the facts of the same range."""
    from zoneinfo import ZoneInfo

    url = f"/v1/reports/{key}?from={begin.isoformat()}&to={end.isoformat()}"

    def served() -> None:
        tenant = rng.choice(tenants)
        answer = client.get(url, headers=tokens[tenant.id])
        if answer.status_code != 200:
            raise BenchError(f"GET {url} answered {answer.status_code}: {answer.get_data(as_text=True)[:300]}")

    def baseline() -> None:
        tenant = rng.choice(tenants)
        zone = ZoneInfo(tenant.zone)
        first = datetime.combine(begin, datetime.min.time(), tzinfo=zone)
        after = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        raw.execute(
            "SELECT kind, count(*), count(DISTINCT subject_id) FROM facts WHERE workspace_id = %s "
            "AND kind = ANY(%s) AND occurred_at >= %s AND occurred_at < %s GROUP BY kind",
            [tenant.id, kinds, first, after],
        ).fetchall()

    return served, baseline


def report(results: list[Result], facts: int, seconds: float, scale: float) -> None:
    print(
        f"\nreports at scale {scale:g}: {facts:,} facts, {WORKSPACES} workspaces; run {seconds:.0f} s "
        "(measured under load: other processes share the machine)\n"
    )
    print(f"{'measure':44} {'value':>14} {'baseline':>10} {'ratio':>7} {'target':>10}  ok   notes")
    for r in results:
        base = f"{r.baseline:.1f}" if r.baseline is not None else "-"
        ratio = f"{(r.value / r.baseline if r.higher_is_better else r.baseline / r.value):.2f}" if r.baseline else "-"
        target = "-" if r.target is None else (f">= {r.target:g}" if r.higher_is_better else f"< {r.target:g}")
        print(f"{r.label:44} {r.value:>9.1f} {r.unit:<4} {base:>10} {ratio:>7} {target:>10}  {r.verdict:4} {r.extra}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        sys.exit(1)
