"""Where the reports' ingest spends its time, on a database ``bench/reports_scale.py`` loaded (not part of CI).

New lifecycles (``reports_scale.ingest_events``) are handed to the reports' ``IdempotentConsumer.handle_batch``
in batches of the RabbitMQ worker's size, as the scale bench does; printed: events/s, CPU of this process per event
(``time.process_time``) and of its PostgreSQL backends (``/proc``), and the wall time of each statement the
batches sent (a psycopg cursor class: SQLAlchemy's statements and those sent on psycopg's cursor; the server's work
plus the round trip), summed per statement text. ``--profile`` adds cProfile with a CPU clock;
``--explain`` runs one batch's statements again under ``EXPLAIN (ANALYZE, BUFFERS)`` in a transaction rolled back.

    .venv/bin/python bench/reports_scale.py --database crm_reports_ingest --scale 0.05 --samples 5 --ingest 2000
    .venv/bin/python bench/reports_ingest_profile.py --database crm_reports_ingest --events 4000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import reports_scale
from reports_scale import ROOT, ingest_events, tenants_of


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="a database reports_scale.py loaded")
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--profile", action="store_true", help="cProfile with a CPU clock")
    parser.add_argument("--sort", default="cumulative", help="the profile's order (pstats: cumulative, tottime)")
    parser.add_argument("--code", type=Path, default=ROOT, help="the tree whose services run (another checkout)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) one batch's statements")
    args = parser.parse_args()
    reports_scale.use_database(args.database)
    sys.path[:0] = [str(args.code / "libs/platform"), str(args.code / "services/reports"), str(ROOT)]
    logging.disable(logging.WARNING)

    from datetime import UTC, datetime

    import psycopg
    from sqlalchemy import event

    from crm_platform.bus import Delivery
    from crm_platform.bus.rabbitmq import BATCH
    from crm_platform.consumer import IdempotentConsumer
    from crm_platform.events import unpack
    from crm_platform.service import bootstrap
    from crm_platform.settings import load as load_settings
    from crm_reports.app import SERVICE, subscriptions

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "REPORTS_DATABASE_URL": reports_scale.SQLA_URL,
            "CRM_LOCAL_BUS_URL": f"sqlite:///{tmp}/bus.db",
            "CRM_JWT_SECRET": reports_scale.JWT_SECRET,
            "CRM_ENV": "test",
        }
        rt = bootstrap(SERVICE, load_settings("reports", env))
        now = datetime.now(UTC).replace(microsecond=0)
        bodies = ingest_events(tenants_of(seed=3), args.events, now, seed=time.time_ns())
        deliveries = [Delivery(body=b, event_type=unpack(b).type, attempt=1) for b in bodies]
        consumer = IdempotentConsumer("reports", rt.database, subscriptions)
        spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

        explaining = [False]

        class Timed(psycopg.Cursor[Any]):
            """Every statement of the consumer's connections, SQLAlchemy's and those sent on psycopg's cursor."""

            def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
                text = query if isinstance(query, str) else str(query)
                if explaining[0] and text.lstrip().upper().startswith(("INSERT", "SELECT", "DELETE")):
                    # The statement once under EXPLAIN ANALYZE, undone, then for real (on the state it would see).
                    super().execute("SAVEPOINT explained")
                    super().execute("EXPLAIN (ANALYZE, BUFFERS) " + text, params, **kwargs)
                    plan = "\n    ".join(row[0] for row in super().fetchall())
                    super().execute("ROLLBACK TO SAVEPOINT explained")
                    print(f"\n{' '.join(text.split())[:200]}\n    {plan}")
                started = time.perf_counter()
                try:
                    return super().execute(query, params, **kwargs)
                finally:
                    found = spent[" ".join(text.split())[:150]]
                    found[0] += 1
                    found[1] += time.perf_counter() - started

            def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
                text = query if isinstance(query, str) else str(query)
                started = time.perf_counter()
                try:
                    super().executemany(query, params_seq, **kwargs)
                finally:
                    found = spent[" ".join(text.split())[:150]]
                    found[0] += 1
                    found[1] += time.perf_counter() - started

        @event.listens_for(rt.database.engine, "connect")
        def timed(connection: Any, _record: Any) -> None:
            connection.cursor_factory = Timed

        rt.database.engine.dispose()  # connections opened from now on, with the timed cursor

        profiler = cProfile.Profile(time.process_time) if args.profile else None
        consumer.handle_batch(deliveries[:BATCH])  # the pool's connection opened, its backend known
        deliveries = deliveries[BATCH:]
        backends = server_cpu(reports_scale.DB_NAME)
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for first in range(0, len(deliveries), BATCH):
            consumer.handle_batch(deliveries[first : first + BATCH])
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        after = server_cpu(reports_scale.DB_NAME)
        server = sum(after[pid] - backends[pid] for pid in after if pid in backends)
        count = len(deliveries)
        print(
            f"{count} events: {count / wall:,.0f} events/s, {cpu / count * 1000:.3f} ms CPU per event "
            f"+ {server / count * 1000:.3f} ms PostgreSQL (its backends' CPU, /proc)"
        )
        total = sum(seconds for _n, seconds in spent.values())
        print(f"statements: {total / count * 1000:.3f} ms per event (wall, round trips included)")
        for text, (n, seconds) in sorted(spent.items(), key=lambda item: -item[1][1])[:15]:
            print(f"  {seconds / count * 1000:7.3f} ms/event  {n:6d}x  {text}")
        if profiler:
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(35)
        if args.explain:
            explaining[0] = True
            extra = ingest_events(tenants_of(seed=3), BATCH, now, seed=time.time_ns())
            consumer.handle_batch([Delivery(body=b, event_type=unpack(b).type, attempt=1) for b in extra])
    return 0


def server_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to ``database`` (the server runs on this machine)."""
    import os

    import psycopg

    with psycopg.connect(reports_scale.PG_ADMIN, autocommit=True) as c:
        pids = [pid for (pid,) in c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found


if __name__ == "__main__":
    raise SystemExit(main())
