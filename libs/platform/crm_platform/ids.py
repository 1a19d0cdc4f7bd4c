"""Identifiers: time-ordered UUIDv7 strings, so new rows land at the end of every index."""

from __future__ import annotations

import uuid

import uuid6


def new_id() -> str:
    return str(uuid6.uuid7())


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True
