"""Who is asking and why: the request id, workspace and caller that follow work across HTTP, gRPC and events."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

from crm_platform.errors import Forbidden, Unauthenticated, Word, phrase


@dataclass(frozen=True)
class Caller:
    """The authenticated identity behind a request: every query is scoped to ``workspace_id``."""

    workspace_id: str
    user_id: str
    role: str  # "admin" or "agent"; "system" for a service acting on its own (an event)
    # The end user's bearer token it was verified from: forwarded on the gRPC calls made on their behalf.
    token: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def require_admin(caller: Caller, action: str) -> None:
    """Refuse a write an agent may not make: 403 "only admins can <action>" (the action in the service's words)."""
    if not caller.is_admin:
        raise Forbidden(phrase("only admins can {action}", action=Word(action)))


request_id_var: ContextVar[str | None] = ContextVar("crm_request_id", default=None)
caller_var: ContextVar[Caller | None] = ContextVar("crm_caller", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id_var.get()


def current_caller() -> Caller | None:
    return caller_var.get()


def require_caller() -> Caller:
    """The caller bound to this work (an HTTP request, a gRPC call, an event); Unauthenticated when none is,
    which the edges answer 401 / UNAUTHENTICATED rather than a crash."""
    found = caller_var.get()
    if found is None:
        raise Unauthenticated("a bearer token is required")
    return found


@contextlib.contextmanager
def bound(*, request_id: str | None = None, caller: Caller | None = None) -> Iterator[None]:
    """Bind a request id and caller for the duration of a block (a gRPC call, an event)."""
    tokens: list[tuple[ContextVar[Any], Token[Any]]] = []
    if request_id is not None:
        tokens.append((request_id_var, request_id_var.set(request_id)))
    if caller is not None:
        tokens.append((caller_var, caller_var.set(caller)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
