"""The facts the reports keep: one row per event they consume, the truth every figure is derived from.

A fact names the *subject* it is about (a conversation, a ticket, a contact, a mail message) and when the
thing happened (the event's occurred-at, never when the event arrived), so late and redelivered events give
the same figures. ``attrs`` keeps the few payload fields a projection needs, as JSON.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, PrimaryKeyConstraint, String, Table, Text, cast, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from crm_platform.db import UnitOfWork, UtcDateTime
from crm_reports.models import Base


class Fact(Base):
    __tablename__ = "facts"

    event_id: Mapped[str] = mapped_column(String(36))
    subject_id: Mapped[str] = mapped_column(String(36))
    workspace_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(64))  # the event type's name
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    member_id: Mapped[str] = mapped_column(String(36), default="")  # the member it is about, "" for none
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), default=dict)

    # One index, the key every read goes by (a batch's subjects, a rebuild's workspace subject after subject) and
    # the one an event's fact is refused by when it comes again: an event is of one workspace, so this is unique
    # where (event, subject) is. (A primary key on the event and an index by subject made every new fact two
    # index inserts, the event's one at a random place of the table's largest index.)
    __table_args__ = (PrimaryKeyConstraint("workspace_id", "subject_id", "event_id"),)


@dataclass(frozen=True)
class FactRow:
    """One fact as projections see it (no database types)."""

    event_id: str
    workspace_id: str
    kind: str
    subject_id: str
    occurred_at: datetime
    member_id: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "workspace_id": self.workspace_id,
            "kind": self.kind,
            "subject_id": self.subject_id,
            "occurred_at": self.occurred_at,
            "member_id": self.member_id,
            "attrs": self.attrs,
        }


@functools.cache
def _insert_new(table: Table, dialect: str) -> Any:
    insert_of = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert_of(table).on_conflict_do_nothing().returning(table.c.event_id, table.c.subject_id)


_FROM_JSON = (
    "INSERT INTO facts (event_id, subject_id, workspace_id, kind, occurred_at, member_id, attrs) "
    "SELECT r->>0, r->>1, r->>2, r->>3, (r->>4)::timestamptz, r->>5, r->6 FROM jsonb_array_elements(%s::jsonb) AS r "
    "ON CONFLICT DO NOTHING RETURNING event_id, subject_id"
)


def record(uow: UnitOfWork, facts: Sequence[FactRow]) -> list[FactRow]:
    """Keep these facts; returns those not kept before (a redelivered event's facts are left out: counted once)."""
    if not facts:
        return []
    unique = list({(fact.event_id, fact.subject_id): fact for fact in facts}.values())
    dialect = uow.session.get_bind().dialect.name
    if uow.database.on_driver:
        # The rows as one JSON text (json.dumps is C; seven arrays were dumped element by element in Python, the
        # attrs and times escaped with regular expressions), on psycopg's cursor.
        rows = json.dumps(
            [
                [
                    fact.event_id,
                    fact.subject_id,
                    fact.workspace_id,
                    fact.kind,
                    fact.occurred_at.isoformat(),
                    fact.member_id,
                    fact.attrs,
                ]
                for fact in unique
            ],
            separators=(",", ":"),
        )
        with uow.cursor() as cursor:
            cursor.execute(_FROM_JSON, (rows,))
            kept = set(cursor.fetchall())
    else:
        statement = _insert_new(Fact.__table__, dialect)  # type: ignore[arg-type]
        kept = {tuple(row) for row in uow.session.execute(statement, [fact.row() for fact in unique])}
    return [fact for fact in unique if (fact.event_id, fact.subject_id) in kept]


def of_subjects(uow: UnitOfWork, workspace_id: str, subject_ids: Iterable[str]) -> dict[str, list[FactRow]]:
    """Every kept fact of these subjects, by subject, each list in the order things happened."""
    ids = sorted(set(subject_ids))
    found: dict[str, list[FactRow]] = {subject: [] for subject in ids}
    if not ids:
        return found
    columns = (
        Fact.event_id,
        Fact.workspace_id,
        Fact.kind,
        Fact.subject_id,
        Fact.occurred_at,
        Fact.member_id,
        Fact.attrs,
    )
    for chunk_start in range(0, len(ids), 1000):
        chunk = ids[chunk_start : chunk_start + 1000]
        rows = uow.session.execute(
            select(*columns)
            .where(Fact.workspace_id == workspace_id, Fact.subject_id.in_(chunk))
            .order_by(Fact.subject_id, Fact.occurred_at, Fact.event_id)
        )
        for row in rows:
            found[row.subject_id].append(FactRow(*row))
    return found


def of_pairs(uow: UnitOfWork, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[FactRow]]:
    """Every kept fact of these (workspace, subject) pairs, by pair, in the order they were kept: on PostgreSQL one
    query whatever the count, the pairs as two arrays joined to the facts (one index descent a pair; ``= ANY`` of
    the workspaces and of the subjects made it descend for each workspace times each subject)."""
    wanted = sorted(set(pairs))
    found: dict[tuple[str, str], list[FactRow]] = {pair: [] for pair in wanted}
    if not wanted:
        return found
    if uow.database.on_driver:
        spaces = [workspace for workspace, _subject in wanted]
        with uow.cursor() as cursor:
            cursor.execute(_OF_PAIRS, (spaces, [subject for _workspace, subject in wanted]))
            for row in cursor.fetchall():
                found[(row[1], row[3])].append(FactRow(*row))  # workspace, subject
        return found
    subjects = sorted({subject for _workspace, subject in wanted})
    spaces = sorted({workspace for workspace, _subject in wanted})
    for chunk_start in range(0, len(subjects), 1000):
        chunk = subjects[chunk_start : chunk_start + 1000]
        rows = uow.session.execute(
            select(*_COLUMNS, Fact.attrs).where(Fact.workspace_id.in_(spaces), Fact.subject_id.in_(chunk))
        )
        for row in rows:
            pair = (row[1], row[3])  # workspace, subject
            if pair in found:
                found[pair].append(FactRow(*row))
    return found


def by_subject(uow: UnitOfWork, workspace_id: str, *, size: int = 5000) -> Iterator[list[FactRow]]:
    """Every kept fact of the workspace, one subject's at a time (in the order things happened), read in one
    query through a server-side cursor ``size`` rows at a time (a rebuild: no query per batch of subjects)."""
    query = (
        select(*_COLUMNS, cast(Fact.attrs, Text))
        .where(Fact.workspace_id == workspace_id)
        .order_by(Fact.subject_id, Fact.event_id)  # the primary key's order: no sort (in_order sorts a subject's)
        .execution_options(yield_per=size)
    )
    # A workspace's attrs repeat (a direction and a member, a status): each text parsed once, the dict shared by
    # the facts that have it (projections only read facts).
    decoded: dict[str, dict[str, Any]] = {}
    subject: str | None = None
    found: list[FactRow] = []
    for event_id, workspace, kind, subject_id, occurred_at, member_id, attrs_text in uow.session.connection().execute(
        query
    ):
        attrs = decoded.get(attrs_text)
        if attrs is None:
            attrs = json.loads(attrs_text)
            if len(decoded) < _DECODED:
                decoded[attrs_text] = attrs
        if subject_id != subject:
            if found:
                yield in_order(found)
            subject, found = subject_id, []
        found.append(FactRow(event_id, workspace, kind, subject_id, occurred_at, member_id, attrs))
    if found:
        yield in_order(found)


_OF_PAIRS = (
    "SELECT f.event_id, f.workspace_id, f.kind, f.subject_id, f.occurred_at, f.member_id, f.attrs "
    "FROM unnest(%s::varchar[], %s::varchar[]) AS p (workspace_id, subject_id) "
    "JOIN facts AS f ON f.workspace_id = p.workspace_id AND f.subject_id = p.subject_id"
)
_DECODED = 50_000  # distinct attrs kept parsed in one read
_COLUMNS = (Fact.event_id, Fact.workspace_id, Fact.kind, Fact.subject_id, Fact.occurred_at, Fact.member_id)
_IN_ORDER = operator.attrgetter("occurred_at", "event_id")


def in_order(facts: Iterable[FactRow]) -> list[FactRow]:
    """Facts in the order things happened (ties broken by event id, so every replica agrees)."""
    return sorted(facts, key=_IN_ORDER)


__all__ = ["Fact", "FactRow", "by_subject", "in_order", "of_subjects", "record"]
