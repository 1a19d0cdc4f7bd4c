"""Contacts at scale (not part of CI; ``make bench``): lists, lookups, duplicates, import and export over HTTP.

On a fresh PostgreSQL database it loads 1,000,000 contacts into one workspace and 100,000 into each of nine
others with COPY (contacts, contact_emails, contact_phones, contact_tags, with name_key), starts the contacts
HTTP app under waitress in a subprocess with a bearer token, and prints each figure next to a raw baseline
measured in the same run (the same SQL issued directly with psycopg) and its target:

  lookup by email / phone, each single indexed filter with a page of 50     p95 < 30 ms
  name prefix search (case- and accent-insensitive)                          p95 < 50 ms
  duplicate check cost (median create with duplicates off - on)              < 2 ms
  import of 100,000 CSV rows (upload + the job, run as the worker runs it)   < 60 s
  export of 1,000,000 rows (streamed), peak RSS of the serving process       < 200 MB

``--scale 0.1`` divides every count by ten. Run: ``.venv/bin/python bench/contacts_scale.py``.
A missed target is reported, not an error; the exit status is non-zero only when something failed.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests
from support.infra import PG_ADMIN, BenchError, free_port_block

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "crm_contacts_scale_bench"
SQLA_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
PG_DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={DB_NAME}"
JWT_SECRET = "contacts-scale-bench-secret-0123456789abcdef"
RUN = random.Random().randrange(100)  # numbers and addresses created by this run differ from earlier runs' (--reuse)
SAMPLES = 200

FIRST = [
    "Ana",
    "Álvaro",
    "Lucía",
    "José",
    "María",
    "Íñigo",
    "Sofía",
    "Pablo",
    "Nuria",
    "Óscar",
    "Elena",
    "Raúl",
    "Marta",
    "Jesús",
    "Carmen",
    "Luis",
    "Beatriz",
    "Andrés",
    "Paula",
    "Ramón",
    "Irene",
    "Adrián",
    "Noelia",
    "Iván",
]
LAST = [
    "García",
    "Martínez",
    "López",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Alonso",
    "Gutiérrez",
    "Navarro",
    "Torres",
    "Domínguez",
    "Vázquez",
    "Ramos",
    "Gil",
    "Ramírez",
    "Serrano",
    "Blanco",
    "Molina",
    "Morales",
    "Suárez",
    "Ortega",
    "Delgado",
    "Castro",
    "Ortiz",
    "Rubio",
    "Marín",
    "Sanz",
    "Núñez",
    "Iglesias",
    "Medina",
    "Garrido",
    "Zubizarreta",
    "Echeverría",
    "Urquijo",
    "Olabarría",
    "Quintana",
    "Yáñez",
    "Xirau",
    "Vidal",
    "Calvo",
    "Prieto",
]
TAGS = [("vip", 0.3), ("hot", 0.05), ("investor", 0.02), ("newsletter", 0.5)]
# Indexes the list needs beyond the model's (see bench/contacts_scale.md): created by this script when missing.
EXTRA_INDEXES = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_contacts_name_key_trgm ON contacts USING gin (name_key gin_trgm_ops)",
)


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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def uuid7_at(moment: datetime, rng: random.Random) -> str:
    """A UUIDv7 carrying ``moment`` (ms), as the service's ids carry their creation time."""
    ms = int(moment.timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62) | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- database ---------------------------------------------------------------------------------------------
def fresh_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


@dataclass
class Tenant:
    id: str
    size: int
    members: list[str]
    stages: dict[str, list[str]]  # type id -> stage ids
    types: dict[str, str]  # key -> id
    sources: list[str]


def create_tenants(rt: Any, sizes: list[int]) -> list[Tenant]:
    from sqlalchemy import select

    from crm_contacts.funnel.models import ContactType, Stage
    from crm_contacts.members import service as members
    from crm_contacts.sources.models import Source
    from crm_contacts.workspaces import service as workspaces

    tenants = []
    for index, size in enumerate(sizes):
        workspace = workspaces.create(rt.database.unit_of_work(), name=f"Scale {index}", default_region="ES")
        member_ids = [
            members.create(
                rt.database.unit_of_work(),
                workspace_id=workspace.id,
                name=f"Agent {n}",
                email=f"agent{n}@scale{index}.com",
                role="admin",
            ).id
            for n in range(5)
        ]
        with rt.database.unit_of_work() as uow:
            session = uow.session
            types = {
                t.key: t.id
                for t in session.scalars(select(ContactType).where(ContactType.workspace_id == workspace.id))
            }
            stages: dict[str, list[str]] = {}
            for stage in session.scalars(
                select(Stage).where(Stage.workspace_id == workspace.id).order_by(Stage.position)
            ):
                stages.setdefault(stage.type_id, []).append(stage.id)
            sources = list(session.scalars(select(Source.id).where(Source.workspace_id == workspace.id)))
        tenants.append(Tenant(workspace.id, size, member_ids, stages, types, sources))
    return tenants


def secondary_indexes(conn: psycopg.Connection, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        [list(tables)],
    ).fetchall()
    return [(name, definition) for name, definition in rows]


def load(tenants: list[Tenant], seed: int = 7) -> None:
    """COPY every tenant's contacts with their emails, phones and tags (indexes rebuilt afterwards)."""
    from crm_contacts.record.rules import search_key

    rng = random.Random(seed)
    tables = ("contacts", "contact_emails", "contact_phones", "contact_tags")
    now = datetime.now(UTC)
    with psycopg.connect(PG_DSN) as conn:
        indexes = secondary_indexes(conn, tables)
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("SET session_replication_role = replica")  # no FK triggers while loading
        cursor = conn.cursor()
        started = time.perf_counter()
        for t_index, tenant in enumerate(tenants):
            span = timedelta(days=3 * 365) / max(tenant.size, 1)
            start = now - timedelta(days=3 * 365)
            contact_type_ids = (
                [tenant.types["contact"]] * 90 + [tenant.types["collaborator"]] * 8 + [tenant.types["other"]] * 2
            )
            for chunk_start in range(0, tenant.size, 50_000):
                contacts, emails, phones, tags = [], [], [], []
                for n in range(chunk_start, min(chunk_start + 50_000, tenant.size)):
                    created = start + span * n
                    contact_id = uuid7_at(created, rng)
                    first, last = rng.choice(FIRST), rng.choice(LAST)
                    name = f"{first} {last} {rng.choice(LAST)}" if rng.random() < 0.3 else f"{first} {last}"
                    email, phone = f"c{n}@scale{t_index}.com", f"+346{n:08d}"
                    type_id = rng.choice(contact_type_ids)
                    contacts.append(
                        (
                            contact_id,
                            tenant.id,
                            name,
                            search_key(name),
                            email,
                            phone,
                            type_id,
                            rng.choice(tenant.stages[type_id]),
                            rng.choices(("active", "won", "lost"), (80, 10, 10))[0],
                            rng.randint(0, 3),
                            rng.choice(tenant.members) if rng.random() < 0.95 else None,
                            rng.choice(tenant.sources),
                            '{"city": "Madrid"}' if n % 7 == 0 else "{}",
                            "{}",
                            "{}",
                            False,
                            1,
                            created,
                            created,
                        )
                    )
                    emails.append((uuid7_at(created, rng), tenant.id, contact_id, email, True, 0, "active"))
                    phones.append((uuid7_at(created, rng), tenant.id, contact_id, phone, True, 0))
                    tags.extend((contact_id, tag, tenant.id) for tag, share in TAGS if rng.random() < share)
                for statement, rows in (
                    (
                        "COPY contacts (id, workspace_id, name, name_key, email, phone, type_id, stage_id, status, "
                        "stars, owner_id, source_id, location, messengers, custom_fields, blocked, version, "
                        "created_at, updated_at) FROM STDIN",
                        contacts,
                    ),
                    (
                        "COPY contact_emails (id, workspace_id, contact_id, address, is_primary, position, status) "
                        "FROM STDIN",
                        emails,
                    ),
                    (
                        "COPY contact_phones (id, workspace_id, contact_id, number, is_primary, position) FROM STDIN",
                        phones,
                    ),
                    ("COPY contact_tags (contact_id, tag, workspace_id) FROM STDIN", tags),
                ):
                    with cursor.copy(statement) as copy:
                        for row in rows:
                            copy.write_row(row)
            log(f"  loaded workspace {t_index} ({tenant.size:,} contacts) at {time.perf_counter() - started:.0f}s")
        conn.execute("SET session_replication_role = origin")
        conn.commit()
        for name, definition in indexes:
            log(f"  index {name}")
            conn.execute(definition)
        conn.commit()
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for statement in EXTRA_INDEXES:
            conn.execute(statement)
        conn.execute("VACUUM ANALYZE")


# --- the server -------------------------------------------------------------------------------------------
SERVER = """
import os, sys
from waitress import serve
from crm_contacts.app import SERVICE
from crm_platform.service import bootstrap
from crm_platform.settings import load
from crm_platform.web import create_app
app = create_app(bootstrap(SERVICE, load("contacts")))
serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
"""


def service_env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CONTACTS_DATABASE_URL": SQLA_URL,
        "CRM_LOCAL_BUS_URL": f"sqlite:///{tmp}/bus.db",
        "CRM_JWT_SECRET": JWT_SECRET,
        "CRM_ENV": "test",
        "CRM_LOG_LEVEL": "WARNING",
        "CONTACTS_STORAGE_DIR": str(tmp / "files"),
        "CRM_RATE_LIMIT_PER_TOKEN": "1000000000",  # counted, never refused: the figures are the API's, not the limit's
        "CRM_RATE_LIMIT_PER_WORKSPACE": "1000000000",
    }


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port_block(1)
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=service_env(tmp))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except requests.ConnectionError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise BenchError("the contacts HTTP server exited at start")
    raise BenchError("the contacts HTTP server did not start")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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


LIST_COLUMNS = "*"


def page_sql(where: str, order: str = "id DESC") -> str:
    return (
        f"SELECT {LIST_COLUMNS} FROM contacts WHERE workspace_id = %s AND deleted_at IS NULL AND {where} "
        f"ORDER BY {order} LIMIT 51"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count (0.1 = a tenth)")
    parser.add_argument("--samples", type=int, default=SAMPLES)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database of a previous run")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT / "libs/platform"), str(ROOT / "services/contacts")]
    from crm_contacts.app import SERVICE
    from crm_contacts.bulk import loops
    from crm_platform import migrations
    from crm_platform.auth import mint_for
    from crm_platform.service import bootstrap
    from crm_platform.settings import load as load_settings

    big, small, import_rows = int(1_000_000 * args.scale), int(100_000 * args.scale), int(100_000 * args.scale)
    results: list[Result] = []
    tmp = Path(tempfile.mkdtemp(prefix="contacts-scale-"))
    env = service_env(tmp)
    started = time.perf_counter()
    if not args.reuse:
        log(f"fresh database {DB_NAME}: {big:,} + 9 x {small:,} contacts")
        fresh_database()
        migrations.upgrade(SERVICE, SQLA_URL)
    rt = bootstrap(SERVICE, load_settings("contacts", env))
    if args.reuse:
        tenants = reuse_tenants(rt)
    else:
        tenants = create_tenants(rt, [big] + [small] * 9 + [0])
        load_started = time.perf_counter()
        load(tenants[:-1])
        log(f"loaded in {time.perf_counter() - load_started:.0f}s")
    target_tenant, import_tenant = tenants[0], tenants[-1]
    server, base = start_server(tmp)
    try:
        token = mint_for(rt.settings, workspace_id=target_tenant.id, user_id=target_tenant.members[0], role="admin")
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        raw = psycopg.connect(PG_DSN, autocommit=True)
        rng = random.Random(11)
        ws = target_tenant.id
        n = args.samples

        def compare(label: str, urls: list[str], sqls: list[tuple[str, list[Any]]], target: float) -> None:
            for url in urls[:5]:  # warm both paths
                http_get(http, url)()
            http_latencies = timed([http_get(http, url) for url in urls])
            raw_latencies = timed([sql_call(raw, s, p) for s, p in sqls])
            results.append(
                Result(
                    label,
                    percentile(http_latencies, 0.95),
                    "ms p95",
                    percentile(raw_latencies, 0.95),
                    target,
                    f"p50 {statistics.median(http_latencies):.1f} ms (raw {statistics.median(raw_latencies):.2f})",
                )
            )
            log(f"  {label}: done")

        numbers = [rng.randrange(target_tenant.size) for _ in range(n)]
        compare(
            "lookup by email",
            [f"{base}/v1/contacts?email=C{i}@scale0.com" for i in numbers],
            [
                (
                    page_sql("id IN (SELECT contact_id FROM contact_emails WHERE workspace_id = %s AND address = %s)"),
                    [ws, ws, f"c{i}@scale0.com"],
                )
                for i in numbers
            ],
            30,
        )
        compare(
            "lookup by phone",
            [f"{base}/v1/contacts?phone=6{i:08d}" for i in numbers],
            [
                (
                    page_sql("id IN (SELECT contact_id FROM contact_phones WHERE workspace_id = %s AND number = %s)"),
                    [ws, ws, f"+346{i:08d}"],
                )
                for i in numbers
            ],
            30,
        )
        stage_ids = [s for stages in target_tenant.stages.values() for s in stages]
        single_filters: list[tuple[str, list[tuple[str, str, list[Any]]]]] = [
            ("filter owner", [(f"owner={m}", "owner_id = %s", [m]) for m in target_tenant.members]),
            ("filter stage", [(f"stage={s}", "stage_id = %s", [s]) for s in stage_ids]),
            ("filter status", [(f"status={s}", "status = %s", [s]) for s in ("active", "won", "lost")]),
            ("filter source", [(f"source={s}", "source_id = %s", [s]) for s in target_tenant.sources]),
            ("filter type", [(f"type={k}", "type_id = %s", [i]) for k, i in target_tenant.types.items()]),
            (
                "filter tag",
                [
                    (
                        f"tag={t}",
                        "EXISTS (SELECT 1 FROM contact_tags WHERE contact_tags.workspace_id = %s AND tag = %s "
                        "AND contact_tags.contact_id = contacts.id)",
                        [ws, t],
                    )
                    for t, _share in TAGS
                ],
            ),
        ]
        for label, choices in single_filters:
            picks = [rng.choice(choices) for _ in range(n)]
            compare(
                label,
                [f"{base}/v1/contacts?{q}&limit=50" for q, _w, _p in picks],
                [(page_sql(w), [ws, *p]) for _q, w, p in picks],
                30,
            )
        ranges = []
        for _ in range(n):
            day = datetime.now(UTC).date() - timedelta(days=rng.randrange(30, 1000))
            ranges.append((day, day + timedelta(days=rng.choice((1, 7, 30)))))
        compare(
            "filter created range",
            [f"{base}/v1/contacts?created_from={a}&created_to={b}&limit=50" for a, b in ranges],
            [
                (
                    page_sql("created_at >= %s AND created_at < %s", "created_at DESC, id DESC"),
                    [ws, datetime.combine(a, datetime.min.time(), UTC), datetime.combine(b, datetime.min.time(), UTC)],
                )
                for a, b in ranges
            ],
            30,
        )
        from crm_contacts.record.rules import search_key

        prefixes = []
        for _ in range(n):
            if rng.random() < 0.2:  # a prefix no one has: the whole workspace unless an index answers it
                prefixes.append("".join(rng.choice("bcdfgjkqvwxz") for _ in range(4)))
                continue
            word = rng.choice(FIRST + LAST)
            prefixes.append(word[: rng.choice((3, 4, len(word)))].upper())
        compare(
            "name prefix (case/accent-insensitive)",
            [f"{base}/v1/contacts?name={p}&limit=50" for p in prefixes],
            [
                (page_sql("(name_key LIKE %s OR name_key LIKE %s)"), [ws, f"{search_key(p)}%", f"% {search_key(p)}%"])
                for p in prefixes
            ],
            50,
        )
        results.append(duplicate_cost(http, base, raw, ws, n))
        log("  duplicate check: done")
        results.append(import_run(rt, loops, import_tenant, import_rows, base, tmp, raw))
        log("  import: done")
        results.extend(export_run(http, base, raw, ws, server.pid, target_tenant.size))
        log("  export: done")
        raw.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        rt.close()
    report(results, args.scale, time.perf_counter() - started)
    return 0


def reuse_tenants(rt: Any) -> list[Tenant]:
    from sqlalchemy import func, select

    from crm_contacts.funnel.models import ContactType, Stage
    from crm_contacts.members.models import Member
    from crm_contacts.record.models import Contact
    from crm_contacts.record.workspace import Workspace
    from crm_contacts.sources.models import Source

    tenants = []
    with rt.database.unit_of_work() as uow:
        s = uow.session
        for workspace in s.scalars(select(Workspace).where(Workspace.name.like("Scale %")).order_by(Workspace.name)):
            wid = workspace.id
            stages: dict[str, list[str]] = {}
            for stage in s.scalars(select(Stage).where(Stage.workspace_id == wid).order_by(Stage.position)):
                stages.setdefault(stage.type_id, []).append(stage.id)
            tenants.append(
                Tenant(
                    wid,
                    s.scalar(select(func.count()).where(Contact.workspace_id == wid)) or 0,
                    list(s.scalars(select(Member.id).where(Member.workspace_id == wid))),
                    stages,
                    {t.key: t.id for t in s.scalars(select(ContactType).where(ContactType.workspace_id == wid))},
                    list(s.scalars(select(Source.id).where(Source.workspace_id == wid))),
                )
            )
    tenants.sort(key=lambda t: -t.size)
    empty = [t for t in tenants if t.size == 0] or [tenants[-1]]
    return [tenants[0], *[t for t in tenants[1:] if t.size], empty[0]]


def duplicate_cost(http: requests.Session, base: str, raw: psycopg.Connection, ws: str, n: int) -> Result:
    """Median create time with duplicates off minus on, alternating blocks so drift cancels out."""
    timings: dict[bool, list[float]] = {False: [], True: []}
    counter = iter(range(10**9))

    def create() -> None:
        i = next(counter)
        answer = http.post(
            f"{base}/v1/contacts",
            json={"name": f"Dup Probe {i}", "email": f"probe{RUN}-{i}@dup.com", "phone": f"+3471{RUN:02d}{i:05d}"},
        )
        if answer.status_code != 201:
            raise BenchError(f"create answered {answer.status_code}: {answer.text[:300]}")

    for _ in range(10):
        create()
    for block in range(8):
        allow = block % 2 == 1
        raw.execute("UPDATE workspaces SET allow_duplicates = %s WHERE id = %s", [allow, ws])
        timings[allow].extend(timed([create] * max(n // 4, 10)))
    raw.execute("UPDATE workspaces SET allow_duplicates = false WHERE id = %s", [ws])
    cost = statistics.median(timings[False]) - statistics.median(timings[True])
    lookups = timed(
        [
            sql_call(
                raw,
                "SELECT e.contact_id FROM contact_emails e JOIN contacts c ON c.id = e.contact_id "
                "WHERE e.workspace_id = %s AND e.address = %s AND c.deleted_at IS NULL LIMIT 1",
                [ws, f"c{i}@scale0.com"],
            )
            for i in range(n)
        ]
        + [
            sql_call(
                raw,
                "SELECT p.contact_id FROM contact_phones p JOIN contacts c ON c.id = p.contact_id "
                "WHERE p.workspace_id = %s AND p.number = %s AND c.deleted_at IS NULL LIMIT 1",
                [ws, f"+346{i:08d}"],
            )
            for i in range(n)
        ]
    )
    return Result(
        "duplicate check cost (create: off - on)",
        max(cost, 0.0),
        "ms",
        statistics.median(lookups) * 2,
        2,
        f"create median off {statistics.median(timings[False]):.1f} ms, on {statistics.median(timings[True]):.1f} ms"
        f" (raw: email + phone lookups)",
    )


def csv_rows(count: int) -> Iterator[str]:
    rng = random.Random(5)
    yield "name,email,phone,tags,stars,location.city\r\n"
    for i in range(count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        yield f"{name},imported{RUN}-{i}@import.com,+3469{RUN % 10}{i:06d},vip;hot,{i % 4},Madrid\r\n"


def import_run(rt: Any, loops: Any, tenant: Tenant, rows: int, base: str, tmp: Path, raw: psycopg.Connection) -> Result:
    """Upload over HTTP, then the job exactly as the worker runs it (in this process); wall time of both."""
    from crm_platform.auth import mint_for

    path = tmp / "import.csv"
    path.write_text("".join(csv_rows(rows)), encoding="utf-8")
    token = mint_for(rt.settings, workspace_id=tenant.id, user_id=tenant.members[0], role="admin")
    started = time.perf_counter()
    with path.open("rb") as handle:
        answer = requests.post(
            f"{base}/v1/contacts/imports",
            files={"file": ("import.csv", handle, "text/csv")},
            headers={"Authorization": f"Bearer {token}"},
        )
    if answer.status_code != 202:
        raise BenchError(f"import upload answered {answer.status_code}: {answer.text[:300]}")
    if not loops.run_once(rt):
        raise BenchError("no import job was waiting")
    wall = time.perf_counter() - started
    job = requests.get(f"{base}{answer.headers['Location']}", headers={"Authorization": f"Bearer {token}"}).json()
    if job["state"] != "done" or job["succeeded"] != rows:
        raise BenchError(f"import job ended {job['state']} with {job['succeeded']}/{rows}: {job['errors'][:3]}")
    # raw baseline: the same rows through COPY (contacts only, no checks, no events)
    with raw.cursor() as cursor:
        raw.execute("CREATE TEMP TABLE IF NOT EXISTS import_baseline (LIKE contacts INCLUDING DEFAULTS)")
        copy_started = time.perf_counter()
        columns = "id, workspace_id, name, name_key, email, phone, version, created_at, updated_at"
        now = datetime.now(UTC)
        with cursor.copy(f"COPY import_baseline ({columns}) FROM STDIN") as copy:
            for i, line in enumerate(csv_rows(rows)):
                if i:
                    name, email, phone = line.split(",")[:3]
                    copy.write_row((str(uuid.uuid4()), tenant.id, name, name.lower(), email, phone, 1, now, now))
        baseline = time.perf_counter() - copy_started
        raw.execute("DROP TABLE import_baseline")
    return Result(f"import {rows:,} CSV rows", wall, "s", baseline, 60, f"{rows / wall:,.0f} rows/s")


def export_run(
    http: requests.Session, base: str, raw: psycopg.Connection, ws: str, pid: int, size: int
) -> list[Result]:
    before = peak_rss_mb(pid)
    started = time.perf_counter()
    lines = 0
    with http.get(f"{base}/v1/contacts/export.csv", stream=True) as answer:
        if answer.status_code != 200:
            raise BenchError(f"export answered {answer.status_code}")
        for chunk in answer.iter_content(chunk_size=1 << 16):
            lines += chunk.count(b"\n")
    wall = time.perf_counter() - started
    peak = peak_rss_mb(pid)
    if lines - 1 < size:
        raise BenchError(f"the export held {lines - 1} rows, expected at least {size}")
    copy_started = time.perf_counter()
    sink = io.BytesIO()
    with (
        raw.cursor() as cursor,
        cursor.copy(
            "COPY (SELECT c.id, c.name, c.email, c.phone, c.status, c.stars, c.created_at FROM contacts c "
            "WHERE c.workspace_id = %s AND c.deleted_at IS NULL ORDER BY c.id) TO STDOUT WITH CSV",
            [ws],
        ) as copy,
    ):
        for data in copy:
            sink.write(bytes(data))
            if sink.tell() > 1 << 24:
                sink.seek(0)
                sink.truncate()
    baseline = time.perf_counter() - copy_started
    return [
        Result(
            f"export {lines - 1:,} rows (wall)", wall, "s", baseline, float("inf"), f"{(lines - 1) / wall:,.0f} rows/s"
        ),
        Result("export: peak RSS of the server", peak, "MB", before, 200, f"peak before the export {before:.0f} MB"),
    ]


def report(results: list[Result], scale: float, seconds: float) -> None:
    print(f"\ncontacts at scale {scale:g} (1,000,000 x {scale:g} + 9 x 100,000 x {scale:g}), run {seconds:.0f}s\n")
    print(f"{'measure':44} {'value':>12} {'raw baseline':>14} {'target':>10}  ok   notes")
    for r in results:
        baseline = f"{r.baseline:.2f}" if r.baseline is not None else "-"
        target = f"< {r.target:g}" if r.target != float("inf") else "-"
        ok = "yes" if r.met else "NO"
        print(f"{r.label:44} {r.value:>9.2f} {r.unit:<4} {baseline:>12} {target:>10}  {ok:4} {r.extra}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        sys.exit(1)
