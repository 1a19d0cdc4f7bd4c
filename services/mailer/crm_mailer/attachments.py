"""The mailer's files: inbound mail's attachments kept in its store and announced by reference, served to the
services that route the mail (Attachments.Read) and to users (a download under the message), under the same
workspace and visibility rules as the message itself."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.platform.v1 import attachments_pb2
from crm_mailer.inbound.message import Attachment
from crm_mailer.inbound.models import InboundMessageRow
from crm_mailer.models import attachment_tables, visibility
from crm_mailer.settings import MailerSettings
from crm_platform.attachments import grpc as attachments_grpc
from crm_platform.attachments.rules import AttachmentTooLarge, Limits
from crm_platform.attachments.store import AttachmentStore, StoredAttachment
from crm_platform.context import Caller
from crm_platform.db import Database
from crm_platform.errors import NotFound
from crm_platform.service import GrpcBinding, Runtime

# The services that receive mailer.inbound.received and keep its references: they read the files from here.
READERS = ("tickets", "conversations")
TOO_LARGE_DEFECT = "attachment_too_large"  # an inbound file over MAILER_ATTACHMENTS_MAX_BYTES: not kept


def limits_of(settings: MailerSettings) -> Limits:
    return Limits(max_bytes=settings.attachments_max_bytes, max_total_bytes=settings.attachments_total_max_bytes)


def store_for(database: Database, settings: MailerSettings) -> AttachmentStore:
    return AttachmentStore(
        attachment_tables, database, service="mailer", limits=limits_of(settings), directory=settings.attachments_dir
    )


def store_of(rt: Runtime) -> AttachmentStore:
    return store_for(rt.database, rt.service_settings)


def store_inbound(
    store: AttachmentStore, session: Session, *, workspace_id: str, inbound_id: str, files: tuple[Attachment, ...]
) -> tuple[list[attachments_pb2.AttachmentRef], list[str]]:
    """Keep a received message's files in the caller's transaction; their references, and the defects found
    (a file over the limit is left out, the message still goes on)."""
    refs: list[attachments_pb2.AttachmentRef] = []
    defects: list[str] = []
    for file in files:
        try:
            stored = store.put(
                session,
                file.data,
                workspace_id=workspace_id,
                filename=file.filename,
                content_type=file.content_type,
                declared_size=len(file.data),
                owner_id=inbound_id,
            )
        except AttachmentTooLarge:
            if TOO_LARGE_DEFECT not in defects:
                defects.append(TOO_LARGE_DEFECT)
            continue
        refs.append(stored.ref())
    return refs, defects


def require_readable(session: Session, caller: Caller, stored: StoredAttachment) -> None:
    """A file is read by whoever may read its message: the workspace's (service calls for it included), and of
    agents only those who may see the message's contact."""
    message = session.execute(
        select(InboundMessageRow.contact_id).where(
            InboundMessageRow.workspace_id == stored.workspace_id, InboundMessageRow.id == stored.owner_id
        )
    ).first()  # not the row: its original may be megabytes
    if message is None:
        raise NotFound(f"attachment {stored.id} not found")
    if caller.role != "system":
        visibility.require(session, caller, message.contact_id, not_found=f"attachment {stored.id} not found")


def grpc_binding(rt: Runtime) -> GrpcBinding:
    return attachments_grpc.binding(store_of(rt), callers=READERS, authorize=require_readable)
