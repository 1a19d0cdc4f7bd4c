"""Factories of the conversations service's data: conversations and messages through its API."""

from __future__ import annotations

from typing import Any


def start(api: Any, headers: dict[str, str], contact_id: str, subject: str = "Invoice question") -> Any:
    """``POST /v1/conversations`` as the caller of ``headers``; the answer as the test client got it."""
    return api.client.post("/v1/conversations", json={"contact_id": contact_id, "subject": subject}, headers=headers)


def say(api: Any, headers: dict[str, str], conversation_id: str, body: str = "hello") -> Any:
    return api.client.post(f"/v1/conversations/{conversation_id}/messages", json={"body": body}, headers=headers)
