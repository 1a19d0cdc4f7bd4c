"""One conversations request, in process, on a database ``conversations_scale.py`` loaded (not part of CI).

For each request of the inbox (a view's page, counts, the latest 50 messages): the CPU time it takes in this
process (``time.process_time``, median of ``--samples``), the wall time, and how many SQL statements it
issues; ``--profile NAME`` prints a cProfile (CPU clock) of that request. What it shows is the per-request
overhead outside the database, which a noisy machine hides in wall-clock figures.

Run: ``cd bench && ../.venv/bin/python conversations_profile.py --database crm_conversations_scale_bench``.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import logging
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import event


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="crm_conversations_scale_bench")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--profile", default=None, help="the name of a request to profile")
    parser.add_argument("--only", default=None, help="comma-separated names of the requests to measure")
    args = parser.parse_args()

    from crm_conversations.app import SERVICE
    from crm_platform.auth import mint_for
    from crm_platform.service import bootstrap
    from crm_platform.settings import load as load_settings
    from crm_platform.web import create_app

    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.database}"
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={args.database}") as conn:
        ws, me, other = conn.execute(
            "SELECT workspace_id, min(assignee_id), max(assignee_id) FROM conversations "
            "WHERE workspace_id = (SELECT workspace_id FROM conversations LIMIT 1) GROUP BY workspace_id"
        ).fetchone()  # type: ignore[misc]
        conversation = conn.execute(
            "SELECT id FROM conversations WHERE workspace_id = %s OFFSET 500 LIMIT 1", [ws]
        ).fetchone()[0]  # type: ignore[index]
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "CONVERSATIONS_DATABASE_URL": url,
            "CRM_LOCAL_BUS_URL": f"sqlite:///{Path(tmp)}/bus.db",
            "CRM_JWT_SECRET": "conversations-scale-bench-secret-0123456789",
            "CRM_ENV": "test",
        }
        # Contacts does not run here: the workspace exists, as a running service's cache would answer.
        spec = dataclasses.replace(SERVICE, workspace_lookup=lambda _rt: {ws}.__contains__)
        rt = bootstrap(spec, load_settings("conversations", env))
        logging.disable(logging.WARNING)
        app = create_app(rt)
        client = app.test_client()
        statements = [0]

        @event.listens_for(rt.database.engine, "before_cursor_execute")
        def _count(*_args: object) -> None:
            statements[0] += 1

        headers = {"Authorization": f"Bearer {mint_for(rt.settings, workspace_id=ws, user_id=me, role='admin')}"}
        first = client.get("/v1/conversations?limit=50", headers=headers).get_json()
        paths = {
            "all": "/v1/conversations?limit=50",
            "mine": "/v1/conversations?view=mine&limit=50",
            "unassigned": "/v1/conversations?view=unassigned&limit=50",
            "member": f"/v1/conversations?view=member&member_id={other}&limit=50",
            "archived": "/v1/conversations?status=archived&limit=50",
            "page2": f"/v1/conversations?limit=50&cursor={first['next_cursor']}",
            "search": "/v1/conversations?q=inigo%20ga&limit=50",
            "email": "/v1/conversations?q=c12345@example.com&limit=50",
            "counts": "/v1/conversations/counts",
            "messages": f"/v1/conversations/{conversation}/messages?order=latest&limit=50",
            "get": f"/v1/conversations/{conversation}",
        }
        print(
            f"{'request':12} {'cpu ms':>8} {'wall ms':>8} {'sql':>4}   load {Path('/proc/loadavg').read_text().strip()}"
        )
        for name, path in paths.items():
            if args.only and name not in args.only.split(","):
                continue
            answers = [client.get(path, headers=headers) for _ in range(5)]
            if answers[-1].status_code != 200:
                print(f"{name:12} {answers[-1].status_code}: {answers[-1].get_data(as_text=True)[:200]}")
                continue
            cpu, wall = [], []
            statements[0] = 0
            for _ in range(args.samples):
                c0, w0 = time.process_time(), time.perf_counter()
                client.get(path, headers=headers)
                cpu.append((time.process_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
            print(
                f"{name:12} {statistics.median(cpu):8.2f} {statistics.median(wall):8.2f} "
                f"{statements[0] / args.samples:4.1f}",
                flush=True,
            )
            if name == args.profile:
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                for _ in range(args.samples):
                    client.get(path, headers=headers)
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
