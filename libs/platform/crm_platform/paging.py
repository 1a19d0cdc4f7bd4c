"""One way to page a list, for every list endpoint of every service: ``limit`` and ``cursor`` in, ``items`` and
``next_cursor`` out.

A cursor is opaque to clients: the position the previous page stopped at (an id, or a sort value and an id),
the *scope* it belongs to (which order it walks, e.g. ``sort=name``), and a digest of both. A cursor that was
cut, edited or made up, or one of another scope, is a 422 on the ``cursor`` field, never a 500 or a silently
different page. The digest is not a signature: a cursor carries positions only and grants nothing, since the
query it continues is scoped to the caller's workspace and visibility like the first page.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ConfigDict, Field

from crm_platform.errors import FieldError, InvalidInput, phrase
from crm_platform.openapi import QueryModel
from crm_platform.signing import b64, unb64

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
ID_ORDER = "id"  # the scope of lists ordered by id alone (newest or oldest first)
_DIGEST_BYTES = 6


class PageQuery(QueryModel):
    """The query parameters of a list; a list with filters subclasses it and adds them."""

    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items on a page")
    cursor: str | None = Field(default=None, description="the `next_cursor` of the previous page")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None

    def body(self, represent: Callable[[T], Any]) -> dict[str, Any]:
        """The answer of a list endpoint: each item as ``represent`` shows it, and where the next page starts."""
        return {"items": [represent(item) for item in self.items], "next_cursor": self.next_cursor}


def bounded_limit(requested: int | None) -> int:
    """A page size a caller asked for (gRPC: 0 means unset), kept within 1..MAX_LIMIT."""
    return min(max(requested or DEFAULT_LIMIT, 1), MAX_LIMIT)


def cut(rows: Sequence[T], limit: int, key: Callable[[T], Any], *, scope: str = ID_ORDER) -> Page[T]:
    """A page from ``limit + 1`` fetched rows: the extra row only says that a next page exists, and the
    cursor is the position (``key``) of the page's last row."""
    if len(rows) > limit:
        return Page(list(rows[:limit]), encode(key(rows[limit - 1]), scope=scope))
    return Page(list(rows), None)


def encode(*values: Any, scope: str = ID_ORDER) -> str:
    """An opaque cursor for a position (``values``) in the order ``scope`` names."""
    payload = json.dumps([scope, *values], default=str, separators=(",", ":"), ensure_ascii=False).encode()
    return f"{b64(payload)}.{b64(_digest(payload))}"


def decode(cursor: str, *, scope: str = ID_ORDER) -> list[Any]:
    """The position values of a cursor ``encode`` made for ``scope``; anything else is a 422 on ``cursor``."""
    payload_part, dot, digest_part = cursor.partition(".")
    try:
        payload, digest = unb64(payload_part), unb64(digest_part)
    except (ValueError, binascii.Error):
        raise invalid_cursor() from None
    if not dot or digest != _digest(payload):
        raise invalid_cursor()
    try:
        decoded = json.loads(payload)
    except (ValueError, RecursionError):
        raise invalid_cursor() from None
    if not isinstance(decoded, list) or len(decoded) < 2 or not isinstance(decoded[0], str):
        raise invalid_cursor()  # an empty position marks no place
    if decoded[0] != scope:
        raise InvalidInput(
            "the cursor is not valid",
            errors=[
                FieldError(
                    "cursor",
                    phrase("this cursor belongs to {theirs}, not {ours}", theirs=decoded[0][:100], ours=scope),
                )
            ],
        )
    return decoded[1:]


def after(cursor: str | None, *, scope: str = ID_ORDER) -> Any:
    """Where a page starts: the single position value of the cursor (an id, or a structure a service reads
    further), or None for the first page."""
    if not cursor:
        return None
    values = decode(cursor, scope=scope)
    if len(values) != 1:
        raise invalid_cursor()
    return values[0]


def after_id(cursor: str | None) -> str | None:
    """The id a page of a list ordered by id continues after, or None for the first page."""
    position = after(cursor)
    if position is not None and not isinstance(position, str):
        raise invalid_cursor()
    return position


def invalid_cursor() -> InvalidInput:
    """The error of a cursor this API did not return, also for a service that reads a position further."""
    return InvalidInput("the cursor is not valid", errors=[FieldError("cursor", "not a cursor this API returned")])


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_DIGEST_BYTES, person=b"crm-cursor").digest()
