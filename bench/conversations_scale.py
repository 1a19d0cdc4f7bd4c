"""Conversations at scale (not part of CI; ``make bench-conversations``): the inbox's reads on PostgreSQL.

On a fresh PostgreSQL database (migrated by the service's own migrations) it loads 1,000,000 conversations
and 10,000,000 messages spread over 10 workspaces (50 members each, a quarter of the conversations
unassigned, a fifth archived, read markers for a member) with set-based INSERTs, then calls the service's
HTTP API in this process (the real Flask app: auth, problem handling, the service layer, SQLAlchemy) as an
admin and prints each figure next to a raw baseline measured in the same run (the same query issued
directly with psycopg) and its target:

  a view's page of 50 (all, mine, unassigned, a member's, archived, page 2 by cursor)   p95 < 30 ms
  search (a common and a rare name prefix, an email, a phone), counts per view        p95 < 30 ms
  a conversation's latest 50 messages                                                  p95 < 20 ms

``--scale 0.1`` divides every count by ten. Run: ``.venv/bin/python bench/conversations_scale.py``.
A missed target is reported, not an error; the exit status is non-zero only when something failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from support.infra import PG_ADMIN, BenchError

DB_NAME = "crm_conversations_scale_bench"
SQLA_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
PG_DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={DB_NAME}"


def use_database(name: str) -> None:
    """Every later step works on the database ``name`` (``--database``)."""
    global DB_NAME, SQLA_URL, PG_DSN
    DB_NAME = name
    SQLA_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    PG_DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={name}"


JWT_SECRET = "conversations-scale-bench-secret-0123456789"
SAMPLES = 200
WORKSPACES, MEMBERS = 10, 50
NAMES = ["Ana López", "Álvaro Núñez", "Begoña Ruiz", "Íñigo García", "Lucía Martín", "José Pérez", "Zoë Adams"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def fresh_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def load(conversations: int, messages_each: int) -> tuple[list[str], dict[str, list[str]]]:
    """Workspaces and their members; conversations and messages inserted set-based, in one transaction each."""
    from crm_conversations.conversations.rules import fold

    workspaces = [str(uuid.uuid4()) for _ in range(WORKSPACES)]
    members = {ws: [str(uuid.uuid4()) for _ in range(MEMBERS)] for ws in workspaces}
    names = [[n, fold(n)] for n in NAMES]
    per_workspace = conversations // WORKSPACES
    with psycopg.connect(PG_DSN) as conn:
        for w, ws in enumerate(workspaces):
            started = time.perf_counter()
            conn.execute(
                """
                INSERT INTO conversations (id, workspace_id, contact_id, contact_name, contact_name_key,
                  contact_email, contact_phone, subject, channel, status, assignee_id, message_count, version,
                  created_at, updated_at, last_activity_at, last_message_at)
                SELECT gen_random_uuid()::text, %(ws)s::text, md5(%(ws)s::text || (g %% 100000)::text)::uuid::text,
                  (%(names)s::text[])[1 + g %% %(n)s] || ' ' || g, (%(keys)s::text[])[1 + g %% %(n)s] || ' ' || g,
                  'c' || g || '@example.com', '+346' || lpad(g::text, 8, '0'), 'Question ' || g, 'email',
                  CASE WHEN g %% 5 = 0 THEN 'archived' ELSE 'open' END,
                  CASE WHEN g %% 4 = 0 THEN NULL ELSE (%(members)s::text[])[1 + g %% %(m)s] END,
                  %(each)s, 1, t, t, t, t
                FROM (SELECT g, now() - (g || ' seconds')::interval AS t FROM generate_series(1, %(count)s) g) s
                """,
                {
                    "ws": ws,
                    "names": [n for n, _ in names],
                    "keys": [k for _, k in names],
                    "n": len(names),
                    "members": members[ws],
                    "m": MEMBERS,
                    "each": messages_each,
                    "count": per_workspace,
                },
            )
            conn.execute(
                """
                INSERT INTO messages (id, workspace_id, conversation_id, body, text, direction, author_type,
                  author_id, channel, created_at)
                SELECT gen_random_uuid()::text, c.workspace_id, c.id, '<p>message ' || k || '</p>', 'message ' || k,
                  CASE WHEN k %% 2 = 0 THEN 'outbound' ELSE 'inbound' END,
                  CASE WHEN k %% 2 = 0 THEN 'member' ELSE 'contact' END, c.contact_id, 'email',
                  c.created_at - ((%(each)s - k) || ' minutes')::interval
                FROM conversations c CROSS JOIN generate_series(1, %(each)s) k WHERE c.workspace_id = %(ws)s
                """,
                {"ws": ws, "each": messages_each},
            )
            conn.execute(
                """
                INSERT INTO conversation_reads (workspace_id, conversation_id, member_id, read_count, read_at)
                SELECT workspace_id, id, %(me)s::text,
                  message_count - (CASE WHEN random() < 0.3 THEN 1 ELSE 0 END), now()
                FROM conversations WHERE workspace_id = %(ws)s::text AND assignee_id = %(me)s::text
                """,
                {"ws": ws, "me": members[ws][1]},
            )
            conn.execute(  # what the write paths keep (conversations.counts), for rows inserted around them
                """
                INSERT INTO conversation_view_counts (workspace_id, status, assignee_id, conversations, empty)
                SELECT workspace_id, status, coalesce(assignee_id, ''), count(*),
                  sum(CASE WHEN message_count = 0 THEN 1 ELSE 0 END)
                FROM conversations WHERE workspace_id = %(ws)s::text AND deleted_at IS NULL
                GROUP BY workspace_id, status, coalesce(assignee_id, '')
                """,
                {"ws": ws},
            )
            conn.commit()
            log(f"workspace {w + 1}/{WORKSPACES} loaded in {time.perf_counter() - started:.1f} s")
        conn.execute("ANALYZE")
        conn.commit()
    return workspaces, members


def timed(call: Callable[[], Any], samples: int) -> list[float]:
    latencies = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


LIST = (
    "SELECT c.*, c.message_count - coalesce(r.read_count, 0) AS unread FROM conversations c "
    "LEFT JOIN conversation_reads r ON r.workspace_id = c.workspace_id AND r.conversation_id = c.id "
    "AND r.member_id = %(me)s WHERE c.workspace_id = %(ws)s AND c.deleted_at IS NULL AND c.status = %(status)s {extra} "
    "ORDER BY c.last_activity_at DESC, c.id DESC LIMIT 51"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the issue's 1,000,000 conversations")
    parser.add_argument("--samples", type=int, default=SAMPLES)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database of an earlier run")
    parser.add_argument("--database", default=DB_NAME, help=f"the database's name (default {DB_NAME})")
    args = parser.parse_args()
    use_database(args.database)
    conversations = int(1_000_000 * args.scale)

    from crm_conversations.app import SERVICE
    from crm_platform import migrations
    from crm_platform.auth import mint_for
    from crm_platform.service import bootstrap
    from crm_platform.settings import load as load_settings
    from crm_platform.web import create_app

    if not args.reuse:
        fresh_database()
        migrations.upgrade(SERVICE, SQLA_URL)
        log(f"loading {conversations:,} conversations and {conversations * 10:,} messages")
        workspaces, members = load(conversations, 10)
    else:
        migrations.upgrade(SERVICE, SQLA_URL)  # a newer revision (an index) applies to the kept data
        with psycopg.connect(PG_DSN) as conn:
            rows = conn.execute("SELECT DISTINCT workspace_id, assignee_id FROM conversations").fetchall()
        workspaces = sorted({ws for ws, _ in rows})
        members = {ws: sorted(m for w, m in rows if w == ws and m) for ws in workspaces}
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "CONVERSATIONS_DATABASE_URL": SQLA_URL,
            "CRM_LOCAL_BUS_URL": f"sqlite:///{Path(tmp)}/bus.db",
            "CRM_JWT_SECRET": JWT_SECRET,
            "CRM_ENV": "test",
        }
        # Contacts, which owns workspaces, does not run here: it answers that the loaded ones exist, as a
        # running service's cache of its answers would (crm_platform.workspaces), with no call per request.
        known = set(workspaces)
        spec = dataclasses.replace(SERVICE, workspace_lookup=lambda _rt: known.__contains__)
        rt = bootstrap(spec, load_settings("conversations", env))
        logging.disable(logging.WARNING)
        client = create_app(rt).test_client()
        raw = psycopg.connect(PG_DSN, autocommit=True)
        rng = random.Random(5)
        failed = False

        def minted(ws: str) -> str:
            return mint_for(rt.settings, workspace_id=ws, user_id=members[ws][1], role="admin")

        tokens = {ws: {"Authorization": f"Bearer {minted(ws)}"} for ws in workspaces}

        def auth(ws: str, _me: str) -> dict[str, str]:
            return tokens[ws]  # minted before the timing: a client holds its token

        def picked() -> tuple[str, str]:
            ws = rng.choice(workspaces)
            return ws, members[ws][1]

        def http(path: Callable[[str, str], str]) -> Callable[[], Any]:
            def call() -> Any:
                nonlocal failed
                ws, me = picked()
                answer = client.get(path(ws, me), headers=auth(ws, me))
                if answer.status_code != 200:
                    failed = True
                    raise BenchError(f"{answer.status_code}: {answer.get_data(as_text=True)[:300]}")

            return call

        def sql(extra: str, params: Callable[[str, str], dict[str, Any]], status: str = "open") -> Callable[[], Any]:
            def call() -> Any:
                ws, me = picked()
                raw.execute(LIST.format(extra=extra), {"ws": ws, "me": me, "status": status, **params(ws, me)})

            return call

        def second_page(ws: str, me: str) -> str:
            first = client.get("/v1/conversations?limit=50", headers=auth(ws, me)).get_json()
            return f"/v1/conversations?limit=50&cursor={first['next_cursor']}"

        def latest_messages_path(ws: str, me: str) -> str:
            with rt.database.engine.connect() as conn:
                from sqlalchemy import text

                conversation = conn.execute(
                    text("SELECT id FROM conversations WHERE workspace_id = :ws OFFSET :n LIMIT 1"),
                    {"ws": ws, "n": rng.randrange(1000)},
                ).scalar_one()
            return f"/v1/conversations/{conversation}/messages?order=latest&limit=50"

        paths_cache: dict[str, list[str]] = {}

        def prepared(name: str, make: Callable[[str, str], str]) -> Callable[[str, str], str]:
            # Paths that need a lookup (a cursor, a conversation id) are made before the timing, per workspace.
            def path(ws: str, me: str) -> str:
                key = f"{name}:{ws}"
                if key not in paths_cache:
                    paths_cache[key] = [make(ws, me) for _ in range(5)]
                return rng.choice(paths_cache[key])

            for ws in workspaces:
                path(ws, members[ws][1])
            return path

        figures: list[tuple[str, Callable[[], Any], Callable[[], Any], float]] = [
            ("view all, page 1", http(lambda ws, me: "/v1/conversations?limit=50"), sql("", lambda ws, me: {}), 30),
            (
                "view mine",
                http(lambda ws, me: "/v1/conversations?view=mine&limit=50"),
                sql("AND c.assignee_id = %(me)s", lambda ws, me: {}),
                30,
            ),
            (
                "view unassigned",
                http(lambda ws, me: "/v1/conversations?view=unassigned&limit=50"),
                sql("AND c.assignee_id IS NULL", lambda ws, me: {}),
                30,
            ),
            (
                "view of a member",
                http(lambda ws, me: f"/v1/conversations?view=member&member_id={members[ws][7]}&limit=50"),
                sql("AND c.assignee_id = %(other)s", lambda ws, me: {"other": members[ws][7]}),
                30,
            ),
            (
                "archived",
                http(lambda ws, me: "/v1/conversations?status=archived&limit=50"),
                sql("", lambda ws, me: {}, status="archived"),
                30,
            ),
            (
                "view all, page 2 (cursor)",
                http(prepared("page2", second_page)),
                sql("", lambda ws, me: {}),
                30,
            ),
            (
                "name prefix search",
                http(lambda ws, me: "/v1/conversations?q=inigo%20ga&limit=50"),
                sql(
                    "AND (c.contact_name_key LIKE %(p)s OR c.contact_name_key LIKE %(w)s)",
                    lambda ws, me: {"p": "inigo ga%", "w": "% inigo ga%"},
                ),
                30,
            ),
            (
                "rare name prefix search",
                http(lambda ws, me: "/v1/conversations?q=lucia%20martin%2012345&limit=50"),
                sql(
                    "AND (c.contact_name_key LIKE %(p)s OR c.contact_name_key LIKE %(w)s)",
                    lambda ws, me: {"p": "lucia martin 12345%", "w": "% lucia martin 12345%"},
                ),
                30,
            ),
            (
                "email search",
                http(lambda ws, me: "/v1/conversations?q=c12345@example.com&limit=50"),
                sql("AND c.contact_email = %(e)s", lambda ws, me: {"e": "c12345@example.com"}),
                30,
            ),
            (
                "phone search",
                http(lambda ws, me: "/v1/conversations?q=600012345&limit=50"),
                sql("AND c.contact_phone LIKE %(p)s", lambda ws, me: {"p": "%600012345"}),
                30,
            ),
            (
                "counts per view",
                http(lambda ws, me: "/v1/conversations/counts"),
                lambda: raw.execute(
                    "SELECT c.assignee_id, count(*), sum(CASE WHEN c.message_count - coalesce(r.read_count, 0) > 0 "
                    "THEN 1 ELSE 0 END) FROM conversations c LEFT JOIN conversation_reads r ON "
                    "r.workspace_id = c.workspace_id AND r.conversation_id = c.id AND r.member_id = %(me)s "
                    "WHERE c.workspace_id = %(ws)s AND c.deleted_at IS NULL AND c.status = 'open' "
                    "GROUP BY c.assignee_id",
                    {"ws": picked()[0], "me": "x"},
                ).fetchall(),
                30,
            ),
            (
                "latest 50 messages",
                http(prepared("messages", latest_messages_path)),
                lambda: raw.execute(
                    "SELECT * FROM messages WHERE workspace_id = %s AND conversation_id = "
                    "(SELECT id FROM conversations WHERE workspace_id = %s LIMIT 1) ORDER BY id DESC LIMIT 51",
                    [workspaces[0], workspaces[0]],
                ).fetchall(),
                20,
            ),
        ]
        print(f"conversations at scale {args.scale} ({conversations:,} conversations), measured under load")
        print(f"{'figure':32} {'p50 ms':>8} {'p95 ms':>8} {'raw p95':>8} {'ratio':>6}  target")
        for name, served, baseline, target in figures:
            for _ in range(10):  # warm both
                served()
                baseline()
            ours, theirs = timed(served, args.samples), timed(baseline, args.samples)
            p95, raw95 = percentile(ours, 0.95), percentile(theirs, 0.95)
            verdict = "ok" if p95 < target else "MISSED"
            print(
                f"{name:32} {statistics.median(ours):8.2f} {p95:8.2f} {raw95:8.2f} {raw95 / p95:6.2f}  "
                f"p95 < {target} ms {verdict}"
            )
        raw.close()
        rt.close()
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
