"""What every new workspace starts with: contact types with their funnel stages, and the built-in sources."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm_contacts.funnel.models import ContactType, Stage
from crm_contacts.sources.models import Source
from crm_platform.ids import new_id

# (key, name, [stage names in funnel order]); won and lost are statuses, not stages
DEFAULT_TYPES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("contact", "Contact", ("Contact", "Prospect", "Visiting", "Negotiation")),
    ("collaborator", "Collaborator", ("Contact", "Active")),
    ("other", "Other", ("Contact",)),
)
DEFAULT_TYPE = "contact"

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
    """Add the default types, stages and built-in sources to a new workspace (inside its transaction)."""
    for position, (key, name, stages) in enumerate(DEFAULT_TYPES):
        contact_type = ContactType(
            id=new_id(), workspace_id=workspace_id, key=key, name=name, position=position, builtin=True
        )
        session.add(contact_type)
        for stage_position, stage_name in enumerate(stages):
            session.add(
                Stage(
                    id=new_id(),
                    workspace_id=workspace_id,
                    type_id=contact_type.id,
                    name=stage_name,
                    position=stage_position,
                )
            )
    for key, name_es, name_en in BUILTIN_SOURCES:
        session.add(
            Source(id=new_id(), workspace_id=workspace_id, key=key, name_es=name_es, name_en=name_en, builtin=True)
        )
