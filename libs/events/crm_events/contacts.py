"""The events the contacts service publishes."""

from __future__ import annotations

from crm.events.v1 import contacts_pb2
from crm_events.types import EventType

CONTACT_CREATED = EventType("contacts.contact.created", contacts_pb2.ContactCreated)
CONTACT_UPDATED = EventType("contacts.contact.updated", contacts_pb2.ContactUpdated)
CONTACT_STAGE_CHANGED = EventType("contacts.contact.stage_changed", contacts_pb2.ContactStageChanged)
CONTACT_STATUS_CHANGED = EventType("contacts.contact.status_changed", contacts_pb2.ContactStatusChanged)
CONTACT_OWNER_CHANGED = EventType("contacts.contact.owner_changed", contacts_pb2.ContactOwnerChanged)
CONTACT_MERGED = EventType("contacts.contact.merged", contacts_pb2.ContactsMerged)
CONTACT_BLOCKED = EventType("contacts.contact.blocked", contacts_pb2.ContactBlockChanged)
CONTACT_UNBLOCKED = EventType("contacts.contact.unblocked", contacts_pb2.ContactBlockChanged)
CONTACT_DELETED = EventType("contacts.contact.deleted", contacts_pb2.ContactDeleted)
EMAIL_DEACTIVATED = EventType("contacts.email.deactivated", contacts_pb2.EmailStatusChanged)
EMAIL_REACTIVATED = EventType("contacts.email.reactivated", contacts_pb2.EmailStatusChanged)
NOTE_ADDED = EventType("contacts.note.added", contacts_pb2.NoteChanged)
NOTE_UPDATED = EventType("contacts.note.updated", contacts_pb2.NoteChanged)
NOTE_DELETED = EventType("contacts.note.deleted", contacts_pb2.NoteChanged)
NOTE_PINNED = EventType("contacts.note.pinned", contacts_pb2.NoteChanged)
NOTE_UNPINNED = EventType("contacts.note.unpinned", contacts_pb2.NoteChanged)
TASK_ADDED = EventType("contacts.task.added", contacts_pb2.TaskChanged)
TASK_UPDATED = EventType("contacts.task.updated", contacts_pb2.TaskChanged)
TASK_COMPLETED = EventType("contacts.task.completed", contacts_pb2.TaskChanged)
TASK_REOPENED = EventType("contacts.task.reopened", contacts_pb2.TaskChanged)
TASK_DELETED = EventType("contacts.task.deleted", contacts_pb2.TaskChanged)
MEMBER_MENTIONED = EventType("contacts.member.mentioned", contacts_pb2.MemberMentioned)
WORKSPACE_SETTINGS_CHANGED = EventType("contacts.workspace.settings_changed", contacts_pb2.WorkspaceSettingsChanged)
# The workspace's contact types and stages, whole (names and funnel order), after any change to them.
FUNNEL_CHANGED = EventType("contacts.funnel.changed", contacts_pb2.FunnelChanged)
SOURCES_CHANGED = EventType("contacts.sources.changed", contacts_pb2.SourcesChanged)
MEMBER_ADDED = EventType("contacts.member.added", contacts_pb2.MemberChanged)
MEMBER_UPDATED = EventType("contacts.member.updated", contacts_pb2.MemberChanged)

# A note's or a task's event by the change its payload names (NoteChanged.change, TaskChanged.change).
NOTE_CHANGES = {
    event.name.rsplit(".", 1)[1]: event
    for event in (NOTE_ADDED, NOTE_UPDATED, NOTE_DELETED, NOTE_PINNED, NOTE_UNPINNED)
}
TASK_CHANGES = {
    event.name.rsplit(".", 1)[1]: event
    for event in (TASK_ADDED, TASK_UPDATED, TASK_COMPLETED, TASK_REOPENED, TASK_DELETED)
}
