"""Tickets at scale (not part of CI; ``make bench-tickets``): a contact's tickets, filtered list pages and the
views bar's counts over HTTP, on PostgreSQL.

On a fresh database it loads 1,000,000 tickets across 100,000 contacts and 10 workspaces with COPY (tickets,
their tags, the visibility copy of who owns each contact; ticket numbers, counters and the views bar's
counters computed in SQL), rebuilds the indexes, starts the tickets HTTP app under waitress in a subprocess and
times each query through the API as an admin of one workspace, next to a raw baseline measured in the same run
(the same kind of SQL issued directly with psycopg):

  the tickets of one contact                                           p95 < 10 ms
  each single-filter list page (status, responsible, priority, tag,
  number, q, created/updated ranges) and each sort, a page of 50       p95 < 30 ms
  the views bar's counts                                               p95 < 30 ms

and, reported without a target, an agent of a workspace whose agents see only their own contacts (their list
and counts are counted over their contacts' tickets). ``--tickets 100000`` for a quick look (contacts and
workspaces keep their ratios); ``--reuse`` keeps the load of the previous run. Run:
``.venv/bin/python bench/tickets_scale.py``. A missed target is reported, not an error; the exit status is
non-zero only when something failed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import requests
from support.infra import PG_ADMIN, BenchError, free_port_block

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "crm_tickets_scale_bench"
SQLA_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
PG_DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={DB_NAME}"
JWT_SECRET = "tickets-scale-bench-secret-0123456789abcdef"
SAMPLES = 200
WORKSPACES = 10
MEMBERS = 10  # per workspace

STATUSES = (("new", 8), ("open", 10), ("pending", 8), ("stopped", 4), ("solved", 10), ("closed", 60))
PRIORITIES = (("low", 15), ("normal", 60), ("high", 20), ("urgent", 5))
TAGS = [("billing", 0.2), ("hardware", 0.15), ("vip", 0.05), ("refund", 0.1), ("bug", 0.2), ("feature", 0.1)]
TAGS += [(f"tag{n}", 0.01) for n in range(20)]
WHAT = ["Printer", "Invoice", "Password", "Order", "Delivery", "Refund", "Account", "Login", "Payment", "Screen"]
HOW = ["not working", "missing", "reset needed", "late", "duplicated", "wrong", "blocked", "question", "broken"]
WHERE = ["at home", "in the office", "since Monday", "again", "urgently", "for my team", "on the app", "today"]
RARE_WORD = "zanzibar"  # in one subject of ten thousand


@dataclass
class Result:
    label: str
    value: float
    unit: str
    baseline: float | None
    target: float
    extra: str = ""

    @property
    def met(self) -> bool:
        return self.value < self.target


@dataclass
class Tenant:
    id: str
    members: list[str]
    contacts: list[str]
    restricted: bool = False


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def uuid7_at(moment: datetime, rng: random.Random) -> str:
    """A UUIDv7 carrying ``moment`` (ms), as the service's ids carry their creation time."""
    ms = int(moment.timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62) | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def use_database(name: str) -> None:
    """Point the benchmark at the database ``name`` (its own, so two people's runs never share one)."""
    global DB_NAME, SQLA_URL, PG_DSN
    DB_NAME = name
    SQLA_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    PG_DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={name}"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- database ---------------------------------------------------------------------------------------------
def fresh_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def secondary_indexes(conn: psycopg.Connection, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        [list(tables)],
    ).fetchall()
    return [(name, definition) for name, definition in rows]


def weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


def load(workspace_ids: list[str], tickets: int, contacts: int, seed: int = 7) -> list[Tenant]:
    """COPY the tickets, their tags and the visibility copy (indexes dropped while loading, rebuilt after)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=2 * 365)
    tenants = [
        Tenant(
            id=workspace_ids[index],
            members=[str(uuid.uuid4()) for _ in range(MEMBERS)],
            contacts=[],
            restricted=(index == 1),  # workspace 1: agents see only their own contacts
        )
        for index in range(WORKSPACES)
    ]
    per_tenant = tickets // WORKSPACES
    contacts_per_tenant = max(1, contacts // WORKSPACES)
    span = (now - start) / max(per_tenant, 1)
    tables = ("tickets", "ticket_tags")
    with psycopg.connect(PG_DSN) as conn:
        indexes = secondary_indexes(conn, tables)
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("SET session_replication_role = replica")  # no FK triggers while loading
        cursor = conn.cursor()
        started = time.perf_counter()
        for t_index, tenant in enumerate(tenants):
            owners: list[str | None] = []
            visibility = []
            for c in range(contacts_per_tenant):
                contact_id = uuid7_at(start, rng)
                tenant.contacts.append(contact_id)
                owner = tenant.members[c % MEMBERS] if rng.random() < 0.95 else None
                owners.append(owner)
                visibility.append((tenant.id, contact_id, owner, False, None, start))
            with cursor.copy(
                "COPY visibility_contacts (workspace_id, contact_id, owner_id, deleted, merged_into, changed_at) "
                "FROM STDIN"
            ) as copy:
                for row in visibility:
                    copy.write_row(row)
            rows, tags = [], []
            for n in range(per_tenant):
                created = start + span * n
                ticket_id = uuid7_at(created, rng)
                c = rng.randrange(contacts_per_tenant)
                status = weighted(rng, STATUSES)
                updated = min(now, created + timedelta(minutes=rng.randrange(60 * 24 * 30)))
                subject = f"{rng.choice(WHAT)} {rng.choice(HOW)} {rng.choice(WHERE)}"
                if rng.random() < 0.0001:
                    subject += f" {RARE_WORD}"
                rows.append(
                    (
                        ticket_id,
                        tenant.id,
                        n + 1,
                        tenant.contacts[c],
                        f"Contact {c}",
                        f"c{c}@ws{t_index}.example.com",
                        subject,
                        status,
                        weighted(rng, PRIORITIES),
                        rng.choice(tenant.members) if rng.random() < 0.85 else None,
                        tenant.members[0],
                        "email" if rng.random() < 0.7 else "api",
                        1,
                        created,
                        updated,
                        updated if status == "solved" else None,
                        updated if status == "closed" else None,
                    )
                )
                tags.extend((tenant.id, ticket_id, tag, created) for tag, share in TAGS if rng.random() < share)
            with cursor.copy(
                "COPY tickets (id, workspace_id, number, contact_id, contact_name, contact_email, subject, status, "
                "priority, responsible_id, opened_by, channel, version, created_at, updated_at, solved_at, closed_at) "
                "FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            with cursor.copy("COPY ticket_tags (workspace_id, ticket_id, tag, created_at) FROM STDIN") as copy:
                for row in tags:
                    copy.write_row(row)
            log(f"  loaded workspace {t_index} ({per_tenant:,} tickets) at {time.perf_counter() - started:.0f}s")
        conn.execute("SET session_replication_role = origin")
        conn.execute(
            "INSERT INTO visibility_workspaces (workspace_id, agents_see_all, changed_at) VALUES "
            + ", ".join("(%s, %s, now())" for _ in tenants),
            [value for tenant in tenants for value in (tenant.id, not tenant.restricted)],
        )
        conn.execute(
            "INSERT INTO ticket_counters (workspace_id, last_number) SELECT workspace_id, MAX(number) FROM tickets "
            "GROUP BY workspace_id"
        )
        conn.execute(
            "INSERT INTO ticket_view_counts (workspace_id, status, responsible_id, tickets) SELECT workspace_id, "
            "status, COALESCE(responsible_id, ''), COUNT(*) FROM tickets GROUP BY 1, 2, 3"
        )
        conn.commit()
        for name, definition in indexes:
            index_started = time.perf_counter()
            conn.execute(definition)
            conn.commit()
            log(f"  index {name} ({time.perf_counter() - index_started:.0f}s)")
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return tenants


def reuse_tenants() -> list[Tenant]:
    """The tenants of a load kept from an earlier run: a workspace whose agents see all first, then the
    restricted one, then the others."""
    with psycopg.connect(PG_DSN) as conn:
        settings = conn.execute(
            "SELECT workspace_id, agents_see_all FROM visibility_workspaces ORDER BY agents_see_all DESC, workspace_id"
        ).fetchall()
        tenants = []
        for workspace_id, sees_all in settings:
            members = [
                row[0]
                for row in conn.execute(
                    "SELECT DISTINCT owner_id FROM visibility_contacts WHERE workspace_id = %s "
                    "AND owner_id IS NOT NULL ORDER BY 1",
                    [workspace_id],
                )
            ]
            contacts = [
                row[0]
                for row in conn.execute(
                    "SELECT contact_id FROM visibility_contacts WHERE workspace_id = %s", [workspace_id]
                )
            ]
            tenants.append(Tenant(workspace_id, members, contacts, restricted=not sees_all))
    if len(tenants) < 2 or not tenants[-1].restricted:
        raise BenchError("no kept load to reuse: run once without --reuse")
    return [tenants[0], tenants[-1], *tenants[1:-1]]


# --- the server -------------------------------------------------------------------------------------------
SERVER = """
import sys
from waitress import serve
from crm_tickets.app import SERVICE
from crm_platform.service import bootstrap
from crm_platform.settings import load
from crm_platform.web import create_app
app = create_app(bootstrap(SERVICE, load("tickets")))
serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
"""


def contacts_peer(tmp: Path, reuse: list[str] | None = None) -> tuple[Any, list[str]]:
    """The contacts service on SQLite in this process, answering gRPC (tickets asks it, once per ten minutes,
    whether a token's workspace exists), with the benchmark's workspaces (``reuse``: those of the kept load)."""
    from crm_contacts.app import SERVICE as CONTACTS
    from crm_contacts.workspaces import service as workspaces
    from crm_platform import migrations
    from crm_platform.grpc_server import GrpcServer
    from crm_platform.service import bootstrap
    from crm_platform.settings import load as load_settings

    url = f"sqlite:///{tmp}/contacts.db"
    migrations.upgrade(CONTACTS, url)
    env = {**service_env(tmp, ""), "CONTACTS_DATABASE_URL": url, "CONTACTS_STORAGE_DIR": str(tmp / "files")}
    rt = bootstrap(CONTACTS, load_settings("contacts", env))
    if reuse is not None:
        from crm_contacts.record.workspace import Workspace

        with rt.database.unit_of_work() as uow:
            for n, workspace_id in enumerate(reuse):
                uow.session.add(Workspace(id=workspace_id, name=f"Tickets scale {n}", default_region="ES"))
            uow.commit()
        ids = reuse
    else:
        ids = [
            workspaces.create(rt.database.unit_of_work(), name=f"Tickets scale {n}", default_region="ES").id
            for n in range(WORKSPACES)
        ]
    server = GrpcServer(
        [(b, rt.metrics) for b in CONTACTS.grpc_bindings(rt)], address="127.0.0.1:0", settings=rt.settings
    )
    server.start()
    return (server, f"127.0.0.1:{server.port}"), ids


def service_env(tmp: Path, contacts_target: str) -> dict[str, str]:
    from tests.support import service_keys  # the test suite's fixed service keys: useless anywhere else

    return {
        **os.environ,
        **service_keys.env(),
        "CRM_CONTACTS_GRPC_TARGET": contacts_target,
        "TICKETS_DATABASE_URL": SQLA_URL,
        "CRM_LOCAL_BUS_URL": f"sqlite:///{tmp}/bus.db",
        "CRM_JWT_SECRET": JWT_SECRET,
        "CRM_ENV": "test",
        "CRM_LOG_LEVEL": "WARNING",
        "CRM_RATE_LIMIT_PER_TOKEN": "1000000000",  # counted, never refused: the figures are the API's, not the limit's
        "CRM_RATE_LIMIT_PER_WORKSPACE": "1000000000",
    }


def start_server(tmp: Path, contacts_target: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port_block(1)
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=service_env(tmp, contacts_target))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except requests.ConnectionError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise BenchError("the tickets HTTP server exited at start")
    raise BenchError("the tickets HTTP server did not start")


# --- measuring --------------------------------------------------------------------------------------------
def timed(calls: list[Callable[[], Any]]) -> list[float]:
    latencies = []
    for call in calls:
        started = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def http_get(http: requests.Session, url: str) -> Callable[[], Any]:
    def call() -> Any:
        answer = http.get(url)
        if answer.status_code != 200:
            raise BenchError(f"GET {url} answered {answer.status_code}: {answer.text[:300]}")
        return answer

    return call


def sql_call(conn: psycopg.Connection, statement: str, params: list[Any]) -> Callable[[], Any]:
    return lambda: conn.execute(statement, params).fetchall()


def page_sql(where: str, order: str = "created_at DESC, id DESC") -> str:
    return f"SELECT * FROM tickets WHERE workspace_id = %s AND {where} ORDER BY {order} LIMIT 51"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets in all (contacts: a tenth)")
    parser.add_argument("--samples", type=int, default=SAMPLES)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database of a previous run")
    parser.add_argument("--database", default=DB_NAME, help=f"the PostgreSQL database to load or reuse ({DB_NAME})")
    args = parser.parse_args()
    use_database(args.database)
    sys.path[:0] = [
        str(ROOT),
        str(ROOT / "libs/platform"),
        str(ROOT / "services/tickets"),
        str(ROOT / "services/contacts"),
    ]
    from crm_platform import migrations
    from crm_platform.auth import mint_for
    from crm_platform.settings import load as load_settings
    from crm_tickets.app import SERVICE

    results: list[Result] = []
    tmp = Path(tempfile.mkdtemp(prefix="tickets-scale-"))
    started = time.perf_counter()
    contacts = args.tickets // 10
    if args.reuse:
        migrations.upgrade(SERVICE, SQLA_URL)  # the kept load, on the schema of this checkout
        tenants = reuse_tenants()
        (peer, contacts_target), _ = contacts_peer(tmp, [tenant.id for tenant in tenants])
        with psycopg.connect(PG_DSN) as conn:
            args.tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]  # type: ignore[index]
    else:
        log(f"fresh database {DB_NAME}: {args.tickets:,} tickets, {contacts:,} contacts, {WORKSPACES} workspaces")
        fresh_database()
        migrations.upgrade(SERVICE, SQLA_URL)
        (peer, contacts_target), workspace_ids = contacts_peer(tmp)
        load_started = time.perf_counter()
        tenants = load(workspace_ids, args.tickets, contacts)
        log(f"loaded in {time.perf_counter() - load_started:.0f}s")
    settings = load_settings("tickets", service_env(tmp, contacts_target))
    server, base = start_server(tmp, contacts_target)
    try:
        tenant, restricted = tenants[0], tenants[1]
        ws, me = tenant.id, tenant.members[0]
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {mint_for(settings, workspace_id=ws, user_id=me, role='admin')}"
        agent = requests.Session()
        agent_token = mint_for(settings, workspace_id=restricted.id, user_id=restricted.members[0], role="agent")
        agent.headers["Authorization"] = f"Bearer {agent_token}"
        raw = psycopg.connect(PG_DSN, autocommit=True)
        rng = random.Random(11)
        n = args.samples
        per_tenant = args.tickets // WORKSPACES

        def compare(
            label: str, urls: list[str], sqls: list[tuple[str, list[Any]]], target: float, session: Any = http
        ) -> None:
            for url in urls[:5]:  # warm both paths
                http_get(session, url)()
            http_latencies = timed([http_get(session, url) for url in urls])
            raw_latencies = timed([sql_call(raw, s, p) for s, p in sqls])
            results.append(
                Result(
                    label,
                    percentile(http_latencies, 0.95),
                    "ms p95",
                    percentile(raw_latencies, 0.95) if raw_latencies else None,
                    target,
                    f"p50 {statistics.median(http_latencies):.1f} ms"
                    + (f" (raw p50 {statistics.median(raw_latencies):.2f})" if raw_latencies else ""),
                )
            )
            log(f"  {label}: p95 {results[-1].value:.1f} ms")

        def same(url: str, sql: str, params: list[Any]) -> tuple[list[str], list[tuple[str, list[Any]]]]:
            return [f"{base}{url}"] * n, [(sql, params)] * n

        picked = [rng.choice(tenant.contacts) for _ in range(n)]
        compare(
            "tickets of one contact",
            [f"{base}/v1/tickets?contact_id={c}" for c in picked],
            [(page_sql("contact_id = %s"), [ws, c]) for c in picked],
            10,
        )
        for label, query, where, params in (
            ("status=open", "status=open", "status = %s", ["open"]),
            ("status=new&status=pending", "status=new&status=pending", "status IN (%s, %s)", ["new", "pending"]),
            ("status=closed", "status=closed", "status = %s", ["closed"]),
            ("responsible=me", "responsible=me", "responsible_id = %s", [me]),
            ("responsible=unassigned", "responsible=unassigned", "responsible_id IS NULL", []),
            ("responsible=<member>", f"responsible={tenant.members[3]}", "responsible_id = %s", [tenant.members[3]]),
            ("priority=urgent", "priority=urgent", "priority = %s", ["urgent"]),
            ("q=printer (common)", "q=printer", "subject ILIKE %s", ["%printer%"]),
            (f"q={RARE_WORD} (rare)", f"q={RARE_WORD}", "subject ILIKE %s", [f"%{RARE_WORD}%"]),
        ):
            urls, sqls = same(f"/v1/tickets?{query}", page_sql(where), [ws, *params])
            compare(f"list {label}", urls, sqls, 30)
        # A tag's page: the tag's rows in creation order (the tag index carries the ticket's created_at), limit + 1
        # of them, then their tickets by primary key.
        tag_sql = (
            "SELECT tickets.* FROM (SELECT ticket_id FROM ticket_tags WHERE workspace_id = %s AND tag = %s "
            "ORDER BY created_at DESC, ticket_id DESC LIMIT 51) t JOIN tickets ON tickets.id = t.ticket_id "
            "WHERE tickets.workspace_id = %s ORDER BY tickets.created_at DESC, tickets.id DESC"
        )
        for label, tag in (("tag=vip (5%)", "vip"), ("tag=tag7 (1%)", "tag7")):
            urls, sqls = same(f"/v1/tickets?tag={tag}", tag_sql, [ws, tag, ws])
            compare(f"list {label}", urls, sqls, 30)
        numbers = [rng.randrange(1, per_tenant + 1) for _ in range(n)]
        compare(
            "list number=<n>",
            [f"{base}/v1/tickets?number={k}" for k in numbers],
            [(page_sql("number = %s"), [ws, k]) for k in numbers],
            30,
        )
        now = datetime.now(UTC)
        week_ago, year_ago = (now - timedelta(days=7)).isoformat(), (now - timedelta(days=365)).isoformat()
        for label, query, where, params in (
            ("created_after=<7 days ago>", f"created_after={quote(week_ago)}", "created_at >= %s", [week_ago]),
            ("created_before=<a year ago>", f"created_before={quote(year_ago)}", "created_at < %s", [year_ago]),
            ("updated_after=<7 days ago>", f"updated_after={quote(week_ago)}", "updated_at >= %s", [week_ago]),
            (
                "updated_before=<a year ago>",
                f"updated_before={quote(year_ago)}",
                "updated_at < %s AND created_at < %s",
                [year_ago, year_ago],
            ),
        ):
            urls, sqls = same(f"/v1/tickets?{query}", page_sql(where), [ws, *params])
            compare(f"list {label}", urls, sqls, 30)
        for label, sort, order in (
            ("sort=-created (default)", "-created", "created_at DESC, id DESC"),
            ("sort=-updated", "-updated", "updated_at DESC, id DESC"),
            ("sort=number", "number", "number"),
            ("sort=-priority (urgent first)", "-priority", "created_at DESC, id DESC"),
        ):
            where = "priority = 'urgent'" if sort == "-priority" else "TRUE"  # its first query (of one per priority)
            urls, sqls = same(f"/v1/tickets?sort={sort}", page_sql(where, order), [ws])
            compare(f"list {label}", urls, sqls, 30)
        second = http.get(f"{base}/v1/tickets?status=open").json()["next_cursor"]
        urls, sqls = same(
            f"/v1/tickets?status=open&cursor={second}",
            page_sql("status = %s AND created_at <= now()"),
            [ws, "open"],
        )
        compare("list status=open, second page", urls, sqls, 30)
        low_cursor = http.get(f"{base}/v1/tickets?sort=-priority&limit=200").json()["next_cursor"]
        for _ in range(per_tenant // 4000):  # into the normal tickets: the cursor's priority, then the next ones
            low_cursor = http.get(f"{base}/v1/tickets?sort=-priority&limit=200&cursor={low_cursor}").json()[
                "next_cursor"
            ]
        urls, sqls = same(
            f"/v1/tickets?sort=-priority&cursor={low_cursor}",
            page_sql("priority = 'normal'", "created_at DESC, id DESC"),
            [ws],
        )
        compare("list sort=-priority, a later page", urls, sqls, 30)
        urls, sqls = same(
            "/v1/tickets/counts",
            "SELECT status, responsible_id, tickets FROM ticket_view_counts WHERE workspace_id = %s",
            [ws],
        )
        compare("views bar counts (counters)", urls, sqls, 30)
        count_sql = "SELECT status, responsible_id, count(*) FROM tickets WHERE workspace_id = %s GROUP BY 1, 2"
        raw_counts = timed([sql_call(raw, count_sql, [ws]) for _ in range(max(5, n // 10))])
        results.append(
            Result(
                "  the same counts by COUNT(*) (raw SQL)",
                percentile(raw_counts, 0.95),
                "ms p95",
                None,
                float("inf"),
                f"p50 {statistics.median(raw_counts):.1f} ms: why the counters",
            )
        )
        own_where = (
            "EXISTS (SELECT 1 FROM visibility_contacts v WHERE v.workspace_id = tickets.workspace_id AND "
            "v.contact_id = tickets.contact_id AND v.owner_id = %s AND NOT v.deleted)"
        )
        urls, sqls = same("/v1/tickets", page_sql(own_where), [restricted.id, restricted.members[0]])
        compare("restricted agent: list", urls, sqls, float("inf"), agent)
        urls, sqls = same(
            "/v1/tickets/counts",
            "SELECT status, responsible_id, count(*) FROM tickets WHERE workspace_id = %s AND "
            + own_where
            + " GROUP BY 1, 2",
            [restricted.id, restricted.members[0]],
        )
        compare("restricted agent: counts (COUNT over own)", urls, sqls, float("inf"), agent)
    finally:
        server.terminate()
        server.wait(timeout=30)
        peer.stop(grace=0)
    report(results, args.tickets, time.perf_counter() - started)
    return 0


def report(results: list[Result], tickets: int, seconds: float) -> None:
    print(f"\ntickets at scale: {tickets:,} tickets, {tickets // 10:,} contacts, {WORKSPACES} workspaces; ", end="")
    print(f"run {seconds:.0f}s (measured under load: other processes share the machine)\n")
    print(f"{'measure':48} {'value':>12} {'raw baseline':>14} {'target':>10}  ok   notes")
    for r in results:
        baseline = f"{r.baseline:.2f}" if r.baseline is not None else "-"
        target = f"< {r.target:g}" if r.target != float("inf") else "-"
        ok = ("yes" if r.met else "NO") if r.target != float("inf") else "-"
        print(f"{r.label:48} {r.value:>9.2f} {r.unit:<4} {baseline:>12} {target:>10}  {ok:4} {r.extra}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        sys.exit(1)
