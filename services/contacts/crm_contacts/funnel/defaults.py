"""What every new workspace's funnel starts with: contact types with their stages, in funnel order."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm_contacts.funnel.models import ContactType, Stage
from crm_platform.ids import new_id

# (key, name, [stage names in funnel order]); won and lost are statuses, not stages
DEFAULT_TYPES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("contact", "Contact", ("Contact", "Prospect", "Visiting", "Negotiation")),
    ("collaborator", "Collaborator", ("Contact", "Active")),
    ("other", "Other", ("Contact",)),
)
DEFAULT_TYPE = "contact"


def seed(session: Session, workspace_id: str) -> None:
    """Add the default types and their stages to a new workspace (inside its transaction)."""
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
