"""gRPC method about the caller's workspace; mixed into the contacts servicer (one protobuf service)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crm.contacts.v1 import contacts_pb2
from crm_contacts.workspaces import service
from crm_platform.context import require_caller

if TYPE_CHECKING:
    from crm_platform.service import Runtime


class WorkspacesRpc:
    """``GetWorkspace``; the servicer that mixes this in provides ``self.rt``."""

    rt: Runtime

    def GetWorkspace(  # noqa: N802
        self, request: contacts_pb2.GetWorkspaceRequest, context: Any
    ) -> contacts_pb2.Workspace:
        caller = require_caller()
        workspace = service.get(self.rt.database.unit_of_work(), workspace_id=caller.workspace_id)
        return contacts_pb2.Workspace(id=workspace.id, name=workspace.name)
