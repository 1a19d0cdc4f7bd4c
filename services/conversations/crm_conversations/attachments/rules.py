"""Rules of members' attachments: where an upload waits until a message names it, and how many a message takes."""

from __future__ import annotations

import uuid

ATTACHMENT_SETTING = "CONVERSATIONS_ATTACHMENT_MAX_BYTES"
ATTACHMENT_DEFAULT_BYTES = 10 * 1024 * 1024
MAX_PER_MESSAGE = 10
_DRAFTS = uuid.UUID("6f1c3d4e-2b7a-4c58-9e0d-5a1b2c3d4e5f")  # the namespace of drafts' owner ids


def draft_owner(conversation_id: str, member_id: str) -> str:
    """The owner id of a file a member uploaded to a conversation and no message names yet: theirs and that
    conversation's only (no other member's message, nor another conversation's, can claim it)."""
    return f"draft:{uuid.uuid5(_DRAFTS, f'{conversation_id}/{member_id}')}"


def is_draft(owner_id: str | None) -> bool:
    return bool(owner_id) and str(owner_id).startswith("draft:")
