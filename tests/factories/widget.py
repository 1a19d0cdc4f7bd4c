"""Factories of the chat widget: website inboxes through the admin API, visitors through the public one."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

SITE = "https://shop.example.com"


def inbox(api: Any, workspace_id: str, **fields: Any) -> dict[str, Any]:
    """A website inbox created by an admin, allowing ``SITE`` unless told otherwise; its secret included."""
    body = {"name": "Shop", "allowed_origins": [SITE], "welcome_text": "Hi! Ask us anything.", **fields}
    answer = api.client.post("/v1/conversations/inboxes", json=body, headers=api.auth(workspace_id))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def signed(secret: str, user_id: str) -> str:
    """What the site's server computes for a signed-in user."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def start(api: Any, inbox_id: str, body: dict[str, Any] | None = None, *, origin: str = SITE) -> Any:
    return api.client.post(f"/v1/conversations/widget/{inbox_id}/sessions", json=body or {}, headers={"Origin": origin})


def visitor(token: str, origin: str = SITE) -> dict[str, str]:
    return {"Origin": origin, "Authorization": f"Bearer {token}"}


def say(api: Any, inbox_id: str, token: str, body: str = "Hello, is my order shipped?") -> Any:
    return api.client.post(f"/v1/conversations/widget/{inbox_id}/messages", json={"body": body}, headers=visitor(token))


def history(api: Any, inbox_id: str, token: str) -> list[dict[str, Any]]:
    answer = api.client.get(f"/v1/conversations/widget/{inbox_id}/messages", headers=visitor(token))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["items"]
