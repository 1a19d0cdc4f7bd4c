"""gRPC methods about contact sources (the conversations side panel names a contact's); mixed into the contacts
servicer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crm.contacts.v1 import contacts_pb2
from crm_contacts.sources import service
from crm_platform.context import require_caller

if TYPE_CHECKING:
    from crm_platform.service import Runtime


class SourcesRpc:
    """``GetSource``; the servicer that mixes this in provides ``self.rt``."""

    rt: Runtime

    def GetSource(self, request: contacts_pb2.GetSourceRequest, context: Any) -> contacts_pb2.Source:  # noqa: N802
        source = service.get(
            self.rt.database.unit_of_work(), workspace_id=require_caller().workspace_id, source_id=request.source_id
        )
        return contacts_pb2.Source(id=source.id, key=source.key or "", name_es=source.name_es, name_en=source.name_en)
