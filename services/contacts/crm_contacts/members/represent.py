"""How a team member is shown: the JSON of the API (its protobuf message is ``members.grpc.to_message``)."""

from __future__ import annotations

from typing import Any

from crm_contacts.members.models import Member


def member(row: Member) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "email": row.email,
        "role": row.role,
        "signature": row.signature,
        "active": row.active,
        "created_at": row.created_at.isoformat(),
    }
