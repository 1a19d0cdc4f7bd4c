"""Callers, and a unit of work for use cases that must decide without touching a database."""

from __future__ import annotations

from typing import Any, cast

from crm_platform.context import Caller
from crm_platform.db import UnitOfWork
from crm_platform.ids import new_id


def caller(workspace_id: str | None = None, *, user_id: str | None = None, role: str = "agent") -> Caller:
    return Caller(workspace_id=workspace_id or new_id(), user_id=user_id or new_id(), role=role)


def admin(workspace_id: str, user_id: str | None = None) -> Caller:
    return caller(workspace_id, user_id=user_id, role="admin")


def agent(workspace_id: str, user_id: str | None = None) -> Caller:
    return caller(workspace_id, user_id=user_id, role="agent")


class _NoDatabase:
    """Stands for the unit of work of a use case that must answer before opening it (a refusal)."""

    def __enter__(self) -> Any:
        raise AssertionError("this use case was expected to decide without opening a transaction")

    def __exit__(self, *exc_info: object) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"this use case was expected to decide without the database (used .{name})")


def no_database() -> UnitOfWork:
    return cast(UnitOfWork, _NoDatabase())
