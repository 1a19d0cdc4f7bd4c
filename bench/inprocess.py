"""In-process A/B figures of the contacts service: CPU and wall time per operation, and SQL statements.

Creates, GET /v1/contacts/{id} and the GetContact servicer, through the Flask test client on a fresh
PostgreSQL database (no network, no gunicorn). The CPU time of this process per operation stays steady on
a busy machine, unlike throughput, so it is the figure to compare before and after a change.

    .venv/bin/python bench/inprocess.py            # N=300 operations each; SHOW=1 prints the statements
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from sqlalchemy import event

from crm.contacts.v1 import contacts_pb2
from crm_contacts.app import SERVICE
from crm_contacts.contacts.grpc import ContactsServicer
from crm_platform import auth, context, migrations
from crm_platform.service import bootstrap
from crm_platform.settings import load
from crm_platform.web import create_app
from tests.support import infra


def timed(label: str, n: int, statements: int, operation: Any) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        operation(i)
    cpu_ms = (time.process_time() - cpu) / n * 1000
    wall_ms = (time.perf_counter() - wall) / n * 1000
    print(f"{label:8} cpu {cpu_ms:6.2f} ms  wall {wall_ms:6.2f} ms  statements {statements}")


def on_the_driver(operation: Any) -> list[str]:
    """The statements an operation sends on psycopg's cursors: ``Database.read`` runs its query there, where
    the engine's ``before_cursor_execute`` does not see it."""
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    psycopg.Cursor.execute = counted  # type: ignore[method-assign]
    try:
        operation()
    finally:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    return sent


def main() -> None:
    n = int(os.environ.get("N", "300"))
    name = "crm_inprocess_" + uuid.uuid4().hex[:6]
    url = infra.create_database(name)
    rt = None
    try:
        env = {
            "CONTACTS_DATABASE_URL": url,
            "CRM_LOCAL_BUS_URL": f"sqlite:///{tempfile.gettempdir()}/{name}-bus.db",
            "CRM_JWT_SECRET": "s" * 40,
        }
        settings = load("contacts", env)
        migrations.upgrade(SERVICE, url)
        rt = bootstrap(SERVICE, settings)
        workspace = SERVICE.demo_seed(rt)["workspace_id"]
        token = auth.mint_for(settings, workspace_id=workspace, user_id="u1", role="admin")
        client = create_app(rt).test_client()
        headers = {"Authorization": f"Bearer {token}"}
        sql: list[str] = []
        event.listen(rt.database.engine, "before_cursor_execute", lambda *args: sql.append(args[2]))

        def create(i: int) -> Any:
            body = {
                "name": f"Ana Ruiz {i}",
                "email": f"a{i}@example.com",
                "phone": f"6{random.randrange(10**7, 10**8)}",
            }
            answer = client.post("/v1/contacts", json=body, headers=headers)
            assert answer.status_code == 201, answer.json
            return answer

        for i in range(50):  # warm-up: caches, prepared statements
            create(i)
        sql.clear()
        contact_id = create(10**6).json["id"]
        shown = list(sql)
        timed("create", n, len(sql), lambda i: create(50 + i))

        sql.clear()
        client.get(f"/v1/contacts/{contact_id}", headers=headers)
        shown += ["-- GET", *sql]
        timed("get", n, len(sql), lambda _i: client.get(f"/v1/contacts/{contact_id}", headers=headers))

        servicer = ContactsServicer(rt)
        request = contacts_pb2.GetContactRequest(contact_id=contact_id)
        with context.bound(
            request_id="inprocess", caller=context.Caller(workspace_id=workspace, user_id="b", role="agent")
        ):
            sent = on_the_driver(lambda: servicer.GetContact(request, None))
            shown += ["-- GetContact", *sent]
            timed("grpc", n, len(sent), lambda _i: servicer.GetContact(request, None))
        if os.environ.get("SHOW"):
            print("\n".join(statement.replace("\n", " ")[:200] for statement in shown))
    finally:
        if rt is not None:
            rt.close()
        infra.drop_database(name)


if __name__ == "__main__":
    main()
