"""INSERT ... ON CONFLICT on either backend (PostgreSQL in production, SQLite in local mode), and the counters that
add to their rows: one statement for many keys, so concurrent writers of one key serialize on its row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert(bind: Session | Connection, table: Any) -> Any:
    """The dialect's INSERT of ``table`` (a Table or a mapped class), which has ``on_conflict_do_update`` and
    ``on_conflict_do_nothing``."""
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def add_to_counts(
    session: Session, table: Table, keys: Sequence[str], rows: Iterable[dict[str, Any]], counted: Sequence[str]
) -> None:
    """Add each row's ``counted`` columns to the row of its ``keys``, creating it with the row's values when it
    does not exist. Rows are sorted by their keys, so two transactions lock shared rows in the same order."""
    ordered = sorted(rows, key=lambda row: tuple(row[k] for k in keys))
    if not ordered:
        return
    connection = session.connection()
    statement = insert(connection, table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={c: table.c[c] + getattr(statement.excluded, c) for c in counted},
    )
    connection.execute(statement, ordered)
