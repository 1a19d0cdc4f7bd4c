"""How contact types and their stages are shown: the JSON of the API."""

from __future__ import annotations

from typing import Any

from crm_contacts.funnel.models import ContactType, Stage


def stage(row: Stage) -> dict[str, Any]:
    return {"id": row.id, "type_id": row.type_id, "name": row.name, "position": row.position}


def contact_type(row: ContactType, stages: list[Stage]) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "name": row.name,
        "position": row.position,
        "builtin": row.builtin,
        "stages": [stage(s) for s in stages],
    }
