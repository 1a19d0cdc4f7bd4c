"""The built-in sources every new workspace starts with."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm_contacts.sources.models import Source
from crm_platform.ids import new_id

# (key, name_es, name_en): built-in sources can be neither deleted nor renamed
BUILTIN_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("manual", "Comercial", "Sales rep"),  # contacts created by hand by a member
    ("web", "Web", "Website"),  # contacts that come in through the website (chat widget, forms)
    ("default", "Sin detectar", "Undetected"),  # when no other source could be detected
    ("idealista", "Idealista", "Idealista"),
    ("fotocasa", "Fotocasa", "Fotocasa"),
    ("habitaclia", "Habitaclia", "Habitaclia"),
    ("pisos", "Pisos.com", "Pisos.com"),
)
MANUAL_SOURCE, WEB_SOURCE, DEFAULT_SOURCE = "manual", "web", "default"


def seed(session: Session, workspace_id: str) -> None:
    """Add the built-in sources to a new workspace (inside its transaction)."""
    for key, name_es, name_en in BUILTIN_SOURCES:
        session.add(
            Source(id=new_id(), workspace_id=workspace_id, key=key, name_es=name_es, name_en=name_en, builtin=True)
        )
