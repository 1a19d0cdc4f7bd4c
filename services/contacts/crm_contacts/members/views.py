"""HTTP API of team members (under /v1/contacts, which the gateway routes to this service)."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.members import represent, rules, service
from crm_platform import paging
from crm_platform.context import require_admin
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "contacts_members", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="members")], abp_security=SECURITY
)


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=1, max_length=320)
    role: str = Field(description="admin or agent")
    signature: str = Field(default="", max_length=rules.MAX_SIGNATURE)


class MemberPatch(BaseModel):
    """Admins may change every field; a member may change their own name and signature."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    role: str | None = Field(default=None, description="admin or agent")
    signature: str | None = Field(default=None, max_length=rules.MAX_SIGNATURE)
    active: bool | None = Field(default=None, description="true reactivates a deactivated member")


class MemberOut(BaseModel):
    id: str
    name: str
    email: str
    role: str
    signature: str
    active: bool
    created_at: str


class MemberPage(BaseModel):
    items: list[MemberOut]
    next_cursor: str | None


class MemberQuery(PageQuery):
    active: bool | None = Field(default=None, description="only active (true) or deactivated (false) members")


class MemberPath(BaseModel):
    member_id: str = Field(max_length=64)


@api.get("/members", responses={200: MemberPage}, summary="List the workspace's members in the order they joined")
def list_members(query: MemberQuery):  # type: ignore[no-untyped-def]
    members = service.list_page(
        runtime().database.unit_of_work(),
        workspace_id=caller().workspace_id,
        limit=query.limit,
        after_id=paging.after_id(query.cursor),
        active=query.active,
    )
    return json_response(paging.cut(members, query.limit, key=lambda row: row.id).body(represent.member))


@api.get("/members/me", responses={200: MemberOut}, summary="The caller's own member record")
def get_me():  # type: ignore[no-untyped-def]
    who = caller()
    member = service.get(runtime().database.unit_of_work(), workspace_id=who.workspace_id, member_id=who.user_id)
    return json_response(represent.member(member))


@api.get("/members/<member_id>", responses={200: MemberOut}, summary="Get a member")
def get_member(path: MemberPath):  # type: ignore[no-untyped-def]
    member = service.get(
        runtime().database.unit_of_work(), workspace_id=caller().workspace_id, member_id=path.member_id
    )
    return json_response(represent.member(member))


@api.post("/members", responses={201: MemberOut}, summary="Add a member (admins)")
@idempotent
def create_member(body: MemberIn):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "add members")
    member = service.create(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        name=body.name,
        email=body.email,
        role=body.role,
        signature=body.signature,
        actor_id=who.user_id,
    )
    return json_response(represent.member(member), 201, {"Location": f"/v1/contacts/members/{member.id}"})


@api.patch("/members/<member_id>", responses={200: MemberOut}, summary="Change a member (admins, or themself)")
def update_member(path: MemberPath, body: MemberPatch):  # type: ignore[no-untyped-def]
    member = service.update(
        runtime().database.unit_of_work(),
        caller=caller(),
        member_id=path.member_id,
        changes=body.model_dump(exclude_unset=True),
    )
    return json_response(represent.member(member))


@api.delete("/members/<member_id>", responses={200: MemberOut}, summary="Deactivate a member (admins)")
def deactivate_member(path: MemberPath):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "deactivate members")
    member = service.deactivate(
        runtime().database.unit_of_work(),
        workspace_id=who.workspace_id,
        member_id=path.member_id,
        actor_id=who.user_id,
    )
    return json_response(represent.member(member))
