"""The ``Attachments`` gRPC service every service that keeps files exposes: ``Read`` streams one file of the
caller's workspace, after the owning service's own check (its visibility rule) when it has one.

In all-in-one mode every service answers on one gRPC server, so the bindings of several stores merge into
one servicer that picks the store by the reference's ``service``."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from crm.platform.v1 import attachments_pb2, attachments_pb2_grpc
from crm_platform import context
from crm_platform.attachments.store import AttachmentStore, StoredAttachment
from crm_platform.context import Caller
from crm_platform.errors import NotFound
from crm_platform.service import GrpcBinding

SERVICE_NAME = "crm.platform.v1.Attachments"
# Raises NotFound when the caller may not read the file (e.g. its contact is hidden from an agent).
Authorize = Callable[[Session, Caller, StoredAttachment], None]


def _anyone(_session: Session, _caller: Caller, _stored: StoredAttachment) -> None:
    return None


@dataclass(frozen=True)
class Owner:
    store: AttachmentStore
    authorize: Authorize = _anyone


class AttachmentsServicer(attachments_pb2_grpc.AttachmentsServicer):
    def __init__(self, owners: dict[str, Owner]) -> None:
        self.owners = owners

    def merged_with(self, other: AttachmentsServicer) -> AttachmentsServicer:
        """One servicer serving both's stores (all-in-one mode's single gRPC server)."""
        return AttachmentsServicer({**self.owners, **other.owners})

    def Read(  # noqa: N802
        self, request: attachments_pb2.ReadAttachmentRequest, _context: Any
    ) -> Iterator[attachments_pb2.AttachmentChunk]:
        caller = context.require_caller()
        owner = self.owners.get(request.ref.service)
        if owner is None:
            raise NotFound(f"no attachments of service {request.ref.service!r} here")
        store = owner.store
        with store.database.unit_of_work() as uow:
            stored = store.get(uow.session, workspace_id=caller.workspace_id, attachment_id=request.ref.attachment_id)
            owner.authorize(uow.session, caller, stored)
        for data in store.chunks(stored):
            yield attachments_pb2.AttachmentChunk(data=data)


def binding(store: AttachmentStore, *, callers: Collection[str], authorize: Authorize = _anyone) -> GrpcBinding:
    """The ``Attachments`` service of one store, readable by the services named in ``callers``."""
    return GrpcBinding(
        SERVICE_NAME,
        attachments_pb2_grpc.add_AttachmentsServicer_to_server,
        AttachmentsServicer({store.service: Owner(store, authorize)}),
        callers={"Read": tuple(callers)},
    )
