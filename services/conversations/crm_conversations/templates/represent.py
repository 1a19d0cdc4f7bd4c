"""How a message template is shown in the API."""

from __future__ import annotations

from typing import Any

from crm_conversations.templates import rules
from crm_conversations.templates.models import Template


def template(row: Template) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "body": row.body,
        "placeholders": list(dict.fromkeys(m.group(1) for m in rules.PLACEHOLDER.finditer(row.body))),
        "version": row.version,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }
