"""The naive peer of GetContact: a grpcio servicer of crm.contacts.v1.ContactsService answering GetContact
with one SQLAlchemy Core SELECT of the contact's row (its primary email and phone are columns of it).

Run as ``python bench/peers/grpcio_get.py PORT THREADS`` with PEER_DATABASE_URL; prints ``ready`` once it
listens and serves until SIGTERM. THREADS is the project's gRPC thread pool (CRM_GRPC_WORKERS)."""

from __future__ import annotations

import signal
import sys
import threading
from concurrent import futures
from typing import Any

import grpc
from orm_models import Contact, engine_from_env
from sqlalchemy import select

from crm.contacts.v1 import contacts_pb2, contacts_pb2_grpc

contacts = Contact.__table__


class Servicer(contacts_pb2_grpc.ContactsServiceServicer):
    def __init__(self) -> None:
        self.engine = engine_from_env()

    def GetContact(self, request: contacts_pb2.GetContactRequest, context: Any) -> contacts_pb2.Contact:  # noqa: N802
        with self.engine.connect() as connection:
            row = connection.execute(
                select(contacts).where(contacts.c.id == request.contact_id, contacts.c.deleted_at.is_(None))
            ).first()
        if row is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such contact")
        message = contacts_pb2.Contact(
            id=row.id,
            workspace_id=row.workspace_id,
            name=row.name,
            email=row.email or "",
            phone=row.phone or "",
            stage_id=row.stage_id or "",
            status=row.status,
            owner_id=row.owner_id or "",
            blocked=row.blocked,
            language=row.language or "",
        )
        message.created_at.FromDatetime(row.created_at)
        return message


def main() -> None:
    port, threads = int(sys.argv[1]), int(sys.argv[2])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads))
    contacts_pb2_grpc.add_ContactsServiceServicer_to_server(Servicer(), server)
    if server.add_insecure_port(f"127.0.0.1:{port}") == 0:
        raise SystemExit(f"cannot listen on {port}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print("ready", flush=True)
    stop.wait()
    server.stop(1).wait()


if __name__ == "__main__":
    main()
