"""The side panel at scale (not part of CI): ``GET /v1/conversations/{id}/panel`` on the loaded database of
``bench/conversations_scale.py`` (1,000,000 conversations, 10,000,000 messages, 10 workspaces), with contacts
and tickets answering over gRPC from processes of their own, as in production.

Contacts and tickets run as ``crm serve contacts grpc`` and ``crm serve tickets grpc`` on fresh databases
(``crm_panelbench_*``, migrated, dropped at the end), seeded with what the sampled conversations name: their
workspaces, the members who answer them (the assignees), their contacts (rows placed with the conversations'
contact ids) and a few tickets each. Conversations runs in this process (the real Flask app, as in
``conversations_scale.py``); every answer must be 200 with the contact and its tickets available (a panel that
degraded does not count). Target (issue 11): p95 < 50 ms.

Run: ``.venv/bin/python bench/panel_scale.py --database crm_conv_speed_scale`` (load that database first with
``bench/conversations_scale.py --database crm_conv_speed_scale``; this bench only reads it).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
from conversations_scale import JWT_SECRET, log, percentile
from support.infra import BenchError, free_port_block, fresh_database, wait_for_port

PER_WORKSPACE, TICKETS_EACH, NOTES_EACH, TARGET_MS = 50, 3, 2, 50


def _serve(exits: ExitStack, service: str, env: dict[str, str]) -> int:
    """``crm serve <service> grpc`` in a process of its own; its gRPC port once it listens."""
    port = free_port_block(4)
    process = subprocess.Popen(
        [sys.executable, "-m", "crm_platform.cli", "serve", service, "grpc"],
        env={**os.environ, **env, "CRM_GRPC_PORT": str(port), "CRM_METRICS_PORT": str(port + 1)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    exits.callback(process.wait)
    exits.callback(process.terminate)
    wait_for_port(port, timeout=60)
    wait_for_port(port + 1, timeout=60)
    return port


def _sample(dsn: str, rng: random.Random) -> dict[str, list[tuple[str, str, str, str]]]:
    """~PER_WORKSPACE assigned conversations per workspace (id, contact id, contact name, assignee id)."""
    with psycopg.connect(dsn) as conn:
        workspaces = [r[0] for r in conn.execute("SELECT DISTINCT workspace_id FROM conversations").fetchall()]
        picked = {}
        for ws in sorted(workspaces):
            start = str(uuid.UUID(int=rng.getrandbits(128)))  # ids are random uuids: a range read is a sample
            rows = conn.execute(
                "SELECT id, contact_id, contact_name, assignee_id FROM conversations WHERE workspace_id = %s "
                "AND assignee_id IS NOT NULL AND deleted_at IS NULL AND id >= %s ORDER BY id LIMIT %s",
                [ws, start, PER_WORKSPACE],
            ).fetchall()
            picked[ws] = [tuple(r) for r in rows]
    return picked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="crm_conv_speed_scale", help="the loaded conversations database")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    sqla_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.database}"
    dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={args.database}"

    from sqlalchemy import select

    from crm_contacts.app import SERVICE as CONTACTS
    from crm_contacts.members.models import Member
    from crm_contacts.notes.models import Note
    from crm_contacts.record.models import Contact
    from crm_contacts.record.rules import search_key
    from crm_contacts.record.workspace import Workspace
    from crm_contacts.sources.defaults import seed as seed_sources
    from crm_contacts.sources.models import Source
    from crm_conversations.app import SERVICE
    from crm_platform import migrations, service_tokens
    from crm_platform.auth import mint_for
    from crm_platform.ids import new_id
    from crm_platform.service import bootstrap
    from crm_platform.settings import load as load_settings
    from crm_platform.web import create_app
    from crm_tickets.app import SERVICE as TICKETS
    from crm_tickets.tickets.models import Ticket

    rng = random.Random(11)
    sample = _sample(dsn, rng)
    workspaces = sorted(sample)
    log(f"sampled {sum(map(len, sample.values()))} conversations in {len(workspaces)} workspaces")
    with ExitStack() as exits, tempfile.TemporaryDirectory() as tmp:
        run = uuid.uuid4().hex[:8]
        common = {
            "CRM_JWT_SECRET": JWT_SECRET,
            "CRM_ENV": "test",
            "CRM_LOCAL_BUS_URL": f"sqlite:///{Path(tmp)}/bus.db",
            "CRM_LOG_LEVEL": "WARNING",
            **service_tokens.local_keys(Path(tmp) / "keys", ("contacts", "tickets", "conversations")),
        }
        contacts_url = fresh_database(exits, f"crm_panelbench_contacts_{run}")
        tickets_url = fresh_database(exits, f"crm_panelbench_tickets_{run}")
        migrations.upgrade(CONTACTS, contacts_url)
        migrations.upgrade(TICKETS, tickets_url)

        # The rows the sampled conversations name, placed with their ids (a bench's seed, not a use case).
        seeder = bootstrap(CONTACTS, load_settings("contacts", {**common, "CONTACTS_DATABASE_URL": contacts_url}))
        with psycopg.connect(dsn) as conn:
            assignees = conn.execute(
                "SELECT DISTINCT workspace_id, assignee_id FROM conversations WHERE assignee_id IS NOT NULL"
            ).fetchall()
        with seeder.database.unit_of_work() as uow:
            for w, ws in enumerate(workspaces):
                uow.session.add(Workspace(id=ws, name=f"Bench {w}", default_region="ES"))
            uow.session.flush()
            for ws in workspaces:
                seed_sources(uow.session, ws)
            uow.session.flush()
            web = dict(uow.session.execute(select(Source.workspace_id, Source.id).where(Source.key == "web")).all())
            for ws, member in assignees:
                uow.session.add(
                    Member(
                        id=member,
                        workspace_id=ws,
                        name=f"Agent {member[:8]}",
                        email=f"{member}@bench.test",
                        role="agent",
                    )
                )
            seen = set()
            for ws, rows in sample.items():
                for _id, contact_id, name, _assignee in rows:
                    if contact_id in seen:
                        continue
                    seen.add(contact_id)
                    uow.session.add(
                        Contact(
                            id=contact_id,
                            workspace_id=ws,
                            name=name,
                            name_key=search_key(name),
                            emails=[],
                            phones=[],
                            tags=[],
                            interests=[],
                            source_id=web[ws],
                        )
                    )
                    for k in range(NOTES_EACH):
                        note = Note(id=new_id(), workspace_id=ws, contact_id=contact_id, author_id="b", body=f"N{k}")
                        uow.session.add(note)
            uow.commit()
        seeder.close()
        tickets_seeder = bootstrap(TICKETS, load_settings("tickets", {**common, "TICKETS_DATABASE_URL": tickets_url}))
        with tickets_seeder.database.unit_of_work() as uow:
            for ws, rows in sample.items():
                number = 0
                for _id, contact_id, _name, assignee in {r[1]: r for r in rows}.values():
                    for k in range(TICKETS_EACH):
                        number += 1
                        uow.session.add(
                            Ticket(
                                id=new_id(),
                                workspace_id=ws,
                                number=number,
                                contact_id=contact_id,
                                subject=f"Ticket {k} of {contact_id[:8]}",
                                opened_by=assignee,
                            )
                        )
            uow.commit()
            tickets_count = len(uow.session.scalars(select(Ticket.id)).all())
        tickets_seeder.close()
        log(f"seeded {len(workspaces)} workspaces, {len(assignees)} members, {len(seen)} contacts")
        log(f"seeded {tickets_count} tickets")

        contacts_port = _serve(exits, "contacts", {**common, "CONTACTS_DATABASE_URL": contacts_url})
        tickets_port = _serve(
            exits,
            "tickets",
            {**common, "TICKETS_DATABASE_URL": tickets_url, "CRM_CONTACTS_GRPC_TARGET": f"127.0.0.1:{contacts_port}"},
        )
        env = {
            **common,
            "CONVERSATIONS_DATABASE_URL": sqla_url,
            "CRM_CONTACTS_GRPC_TARGET": f"127.0.0.1:{contacts_port}",
            "CRM_TICKETS_GRPC_TARGET": f"127.0.0.1:{tickets_port}",
        }
        known = set(workspaces)  # as in conversations_scale.py: the workspace check answered from a cache
        spec = dataclasses.replace(SERVICE, workspace_lookup=lambda _rt: known.__contains__)
        rt = bootstrap(spec, load_settings("conversations", env))
        exits.callback(rt.close)
        logging.disable(logging.WARNING)
        client = create_app(rt).test_client()
        tokens = {
            ws: {"Authorization": f"Bearer {mint_for(rt.settings, workspace_id=ws, user_id=rows[0][3], role='admin')}"}
            for ws, rows in sample.items()
        }
        requests = [(ws, row) for ws, rows in sample.items() for row in rows]

        def panel(ws: str, row: tuple[str, str, str, str]) -> dict[str, Any]:
            answer = client.get(f"/v1/conversations/{row[0]}/panel", headers=tokens[ws])
            if answer.status_code != 200:
                raise BenchError(f"{answer.status_code}: {answer.get_data(as_text=True)[:300]}")
            return answer.get_json()

        def check(row: tuple[str, str, str, str], body: dict[str, Any]) -> None:
            contact, tickets, assignee = body["contact"], body["tickets"], body["assignee"]
            if not (contact["available"] and contact["id"] == row[1] and contact["name"] == row[2]):
                raise BenchError(f"the contact did not come from contacts: {contact}")
            if not (assignee and assignee["id"] == row[3] and assignee["name"] == f"Agent {row[3][:8]}"):
                raise BenchError(f"the assignee did not come from contacts: {assignee}")
            if not (tickets["available"] and len(tickets["items"]) == TICKETS_EACH):
                raise BenchError(f"the tickets did not come from tickets: {tickets}")
            if not (body["notes"]["available"] and len(body["notes"]["items"]) == NOTES_EACH):
                raise BenchError(f"the notes did not come from contacts: {body['notes']}")
            if not (contact["source"] and contact["source"]["key"] == "web"):
                raise BenchError(f"the source did not come from contacts: {contact['source']}")
            # The loaded database gives each contact one conversation: the list of its others is asked for
            # (the same query) and is empty.
            if any(c["id"] == row[0] for c in body["recent_conversations"]):
                raise BenchError("the panel's conversation among the contact's others")

        for ws, row in rng.sample(requests, args.warmup):
            check(row, panel(ws, row))
        latencies, cpu = [], []
        for ws, row in rng.choices(requests, k=args.samples):
            started, started_cpu = time.perf_counter(), time.process_time()
            body = panel(ws, row)
            latencies.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            check(row, body)
        p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
        loadavg = Path("/proc/loadavg").read_text().split()[:3]
        print(f"side panel on {args.database}: {args.samples} requests over {len(requests)} conversations")
        print(
            f"side panel  p50 {p50:.2f} ms  p95 {p95:.2f} ms  (conversations' CPU p50 {statistics.median(cpu):.2f} ms)"
            f"  target p95 < {TARGET_MS} ms {'ok' if p95 < TARGET_MS else 'MISSED'}  load average {' '.join(loadavg)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
