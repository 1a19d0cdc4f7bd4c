"""gRPC methods about team members; mixed into the contacts servicer (one protobuf service)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crm.contacts.v1 import contacts_pb2
from crm_contacts.members import service
from crm_contacts.members.models import Member
from crm_platform.context import require_caller

if TYPE_CHECKING:
    from crm_platform.service import Runtime


def to_message(member: Member) -> contacts_pb2.Member:
    return contacts_pb2.Member(
        id=member.id, name=member.name, email=member.email, role=member.role, signature=member.signature or ""
    )


class MembersRpc:
    """``GetMember`` and ``ListMembers``; the servicer that mixes this in provides ``self.rt``."""

    rt: Runtime

    def GetMember(self, request: contacts_pb2.GetMemberRequest, context: Any) -> contacts_pb2.Member:  # noqa: N802
        caller = require_caller()
        member = service.get(
            self.rt.database.unit_of_work(), workspace_id=caller.workspace_id, member_id=request.member_id
        )
        return to_message(member)

    def ListMembers(  # noqa: N802
        self, request: contacts_pb2.ListMembersRequest, context: Any
    ) -> contacts_pb2.ListMembersResponse:
        caller = require_caller()
        members = service.list_active(self.rt.database.unit_of_work(), workspace_id=caller.workspace_id)
        return contacts_pb2.ListMembersResponse(members=[to_message(m) for m in members])
