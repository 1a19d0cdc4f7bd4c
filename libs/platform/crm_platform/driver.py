"""Statements compiled once by SQLAlchemy and sent on psycopg's cursor with SQLAlchemy's type processing: the
driver-level parts of the unit of work and of ``Database.read``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Select, Table, bindparam, insert
from sqlalchemy.engine import Compiled
from sqlalchemy.orm.attributes import set_committed_value

_MISSING = object()


@dataclass(frozen=True)
class _DriverRead:
    """A Core SELECT of columns compiled once for psycopg and run on its cursor, with SQLAlchemy's type
    processing.

    For the hottest reads (another service's ``GetContact``): SQLAlchemy's execution and result machinery
    (the connection wrapper, the isolation level switched and reset, the result's metadata built from the
    cursor's description on every call) cost more CPU than psycopg's whole round trip. The parameters and
    the values in the rows go through the same bind and result processors as with ``Connection.execute``.
    """

    compiled: Compiled
    bind_processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    result_processors: tuple[tuple[int, Callable[[Any], Any]], ...]

    @classmethod
    def compile(cls, query: Select[Any], dialect: Dialect) -> _DriverRead:
        compiled = query.compile(dialect=dialect)
        if getattr(compiled, "post_compile_params", None):  # IN lists are rendered per execution by SQLAlchemy
            raise ValueError("Database.read on the driver takes no expanding (IN) parameters")
        escaped = getattr(compiled, "escaped_bind_names", None) or {}
        binds = (
            (escaped.get(name, name), bind.type.dialect_impl(dialect).bind_processor(dialect))
            for name, bind in compiled.binds.items()
        )
        results = (
            (index, column.type.dialect_impl(dialect).result_processor(dialect, None))
            for index, column in enumerate(query.selected_columns)
        )
        return cls(
            compiled=compiled,
            bind_processors=tuple((name, process) for name, process in binds if process is not None),
            result_processors=tuple((index, process) for index, process in results if process is not None),
        )

    @property
    def sql(self) -> str:
        return self.compiled.string

    def bind(self, parameters: Mapping[str, Any]) -> MutableMapping[str, Any]:
        bound = self.compiled.construct_params(parameters)
        assert bound is not None  # None only without parameters
        for name, process in self.bind_processors:
            bound[name] = process(bound[name])
        return bound

    def rows(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if not self.result_processors:
            return rows
        processed = []
        for row in rows:
            values = list(row)
            for index, process in self.result_processors:
                values[index] = process(values[index])
            processed.append(tuple(values))
        return processed


@dataclass(frozen=True)
class _DriverInsert:
    """A table's INSERT of one set of columns, compiled once for psycopg and sent on its cursor with plain
    dicts (``UnitOfWork.insert`` on PostgreSQL).

    SQLAlchemy's execution of a Core INSERT (the execution context, the parameters' defaults and processing,
    the result object) cost about as much CPU as the database's work for a create's five small INSERTs. This
    sends what SQLAlchemy would send: the given columns plus every column with a Python default (its value
    computed as SQLAlchemy does), each value through the column type's bind processor; columns given none
    and without a Python default are left out, for their server default or sequence.
    """

    sql: str
    columns: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]  # key, Python default, bind processor

    @classmethod
    def compile(cls, table: Table, keys: frozenset[str], dialect: Dialect) -> _DriverInsert | None:
        """None when a column's default is not a Python value or callable (SQLAlchemy's own path then)."""
        chosen = []
        for column in table.columns:
            default = column.default
            if column.key not in keys and default is None:
                continue
            if default is not None and not (default.is_scalar or default.is_callable):
                return None
            chosen.append(column)
        values = {column.key: bindparam(column.key, type_=column.type) for column in chosen}
        statement = insert(table).inline().values(values)  # no RETURNING: sent in a pipeline too
        compiled = statement.compile(dialect=dialect)
        escaped = getattr(compiled, "escaped_bind_names", None) or {}
        if escaped or getattr(compiled, "positiontup", None):
            return None  # named %(key)s parameters only
        columns = []
        for column in chosen:
            default = column.default
            value = _MISSING if default is None else default
            columns.append((column.key, value, column.type.dialect_impl(dialect).bind_processor(dialect)))
        return cls(sql=compiled.string, columns=tuple(columns))

    def parameters(self, row: Mapping[str, Any]) -> dict[str, Any]:
        bound = {}
        for key, default, process in self.columns:
            value = row.get(key, _MISSING)
            if value is _MISSING:
                value = default.arg(None) if default.is_callable else default.arg
            bound[key] = process(value) if process is not None else value
        return bound


def _column_values(row: Any) -> dict[str, Any]:
    """The INSERT parameters of a new ORM object, as the ORM's flush sends them: a value that was not set
    (or None, where None means no value) becomes the column's Python default, else NULL; the values are also
    set on the object, as a flush does. (For tables without server-only defaults, attribute = column key.)"""
    state = row.__dict__
    values = {}
    for column in row.__table__.columns:
        value = state.get(column.key, _MISSING)
        if value is _MISSING or (value is None and not column.type.should_evaluate_none):
            default = column.default
            value = None if default is None else default.arg(None) if default.is_callable else default.arg
            set_committed_value(row, column.key, value)
        values[column.key] = value
    return values
