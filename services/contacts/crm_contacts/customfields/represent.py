"""How a custom field definition is shown: the JSON of the API."""

from __future__ import annotations

from typing import Any

from crm_contacts.customfields.models import CustomField


def field(row: CustomField) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "label": row.label,
        "kind": row.kind,
        "options": list(row.options or []),
        "required": row.required,
        "position": row.position,
    }
