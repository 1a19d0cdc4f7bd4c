"""How a source is shown: the JSON of the API."""

from __future__ import annotations

from typing import Any

from crm_contacts.sources.models import Source


def source(row: Source) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "name_es": row.name_es,
        "name_en": row.name_en,
        "builtin": row.builtin,
        "icon_url": row.icon_url,
        "uploaded_icon": f"/v1/contacts/sources/{row.id}/icon" if row.icon else None,
    }
