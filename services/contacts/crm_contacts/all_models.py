"""Imports every model so the metadata knows every table (for Alembic and for the mappers)."""

from crm_contacts.bulk.models import Job
from crm_contacts.customfields.models import CustomField
from crm_contacts.files.models import ContactFile
from crm_contacts.filters.models import SavedFilter
from crm_contacts.funnel.models import ContactType, Stage
from crm_contacts.members.models import Member
from crm_contacts.notes.models import Note
from crm_contacts.record.history import HistoryEntry
from crm_contacts.record.models import Contact, ContactEmail, ContactPhone, ContactTag, Interest
from crm_contacts.record.workspace import Workspace
from crm_contacts.sources.models import Source
from crm_contacts.tasks.models import Task

__all__ = [
    "Contact",
    "ContactEmail",
    "ContactFile",
    "ContactPhone",
    "ContactTag",
    "ContactType",
    "CustomField",
    "HistoryEntry",
    "Interest",
    "Job",
    "Member",
    "Note",
    "SavedFilter",
    "Source",
    "Stage",
    "Task",
    "Workspace",
]
