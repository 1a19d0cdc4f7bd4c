"""A tiny service schema on the platform's tables (notes and the effects events have), and bus helpers."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Column, ForeignKey, String, Table, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from crm.events.v1 import contacts_pb2
from crm_events import EventType
from crm_platform.bus import Bus, Delivery
from crm_platform.db import Database, create_db_engine, new_metadata
from crm_platform.events import unpack

# The tiny service's own events (it publishes as "tiny"); any payload message does, ContactCreated is at hand.
NOTE_ADDED = EventType("tiny.note.added", contacts_pb2.ContactCreated)
NOTE_REMOVED = EventType("tiny.note.removed", contacts_pb2.ContactCreated)


def tiny_event(entity: str) -> EventType[contacts_pb2.ContactCreated]:
    """``tiny.<entity>.added``: an entity name no other test uses keeps a shared vhost's bindings apart."""
    return EventType(f"tiny.{entity}.added", contacts_pb2.ContactCreated)


class Base(DeclarativeBase):
    metadata = new_metadata()


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(36))
    text: Mapped[str] = mapped_column(String(200))
    tags: Mapped[list[Tag]] = relationship(lazy="selectin")


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    note_id: Mapped[str] = mapped_column(ForeignKey("notes.id"))
    name: Mapped[str] = mapped_column(String(50))


# What the consumer's handler writes: one row per applied event.
effects = Table(
    "effects",
    Base.metadata,
    Column("event_id", String(36), nullable=False),
    Column("workspace_id", String(36), nullable=False),
    Column("applied_by", String(60), nullable=False),
)


def tiny_database(url: str, name: str = "tiny") -> Database:
    database = Database(name, create_db_engine(url), Base.metadata)
    Base.metadata.create_all(database.engine)
    return database


def count(database: Database, table: Table, *where: object) -> int:
    with database.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()  # type: ignore[arg-type]


def new_id() -> str:
    return str(uuid.uuid4())


class Collector:
    """A bus handler that records the event ids it was given."""

    def __init__(self, inner: Callable[[Delivery], None] | None = None) -> None:
        self.inner = inner
        self.event_ids: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, delivery: Delivery) -> None:
        with self.lock:
            self.event_ids.append(unpack(delivery.body).event_id)
        if self.inner is not None:
            self.inner(delivery)

    def seen(self) -> set[str]:
        with self.lock:
            return set(self.event_ids)


@contextmanager
def consuming(bus: Bus, queue: str, handler: Callable[[Delivery], None]) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=bus.consume, args=(queue, handler), kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
        bus.close()


def eventually(condition: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.05)
