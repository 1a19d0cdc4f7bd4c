"""HTTP API of history (under /v1/contacts, which the gateway routes to this service)."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.history import represent, rules, service
from crm_platform import mentions, paging
from crm_platform.errors import InvalidInput
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, idempotent, json_response, runtime

api = APIBlueprint(
    "contacts_history", __name__, url_prefix="/v1/contacts", abp_tags=[Tag(name="history")], abp_security=SECURITY
)

COMMENT_DESCRIPTION = f"""Adds a comment to the contact's timeline: an entry of kind `comment`,
data `{{body, mentions}}`.

**Mentions** are written `{mentions.MENTION_SYNTAX}`, for example `Call her back, @[Luis Gil](0190a1b2-...)`:
the name in square brackets is shown to readers, the member id in parentheses is who is notified. Every
mentioned id must be an active member of the workspace, else the answer is 422 with a field error on `body`
(code `unknown_member`). Each distinct member mentioned gets one `contacts.member.mentioned` event
(MemberMentioned, with an excerpt of the comment), however many times the comment names them."""


class HistoryEntryOut(BaseModel):
    id: str
    contact_id: str
    kind: str = Field(
        description="created, updated, stage_changed, note_added, task_completed, comment, file_added, ..."
    )
    actor_id: str | None
    data: dict[str, Any]
    created_at: str


class HistoryPage(BaseModel):
    items: list[HistoryEntryOut]
    next_cursor: str | None


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(
        min_length=1,
        max_length=rules.MAX_COMMENT_CHARS,
        description=f"text; mentions written {mentions.MENTION_SYNTAX}",
    )


class ContactPath(BaseModel):
    contact_id: str = Field(max_length=64)


class HistoryQuery(PageQuery):
    kind: str | None = Field(default=None, max_length=1000, description="only these kinds, comma-separated")


@api.get(
    "/<contact_id>/history", responses={200: HistoryPage}, summary="A contact's timeline, newest first (cursor pages)"
)
def list_history(path: ContactPath, query: HistoryQuery):  # type: ignore[no-untyped-def]
    kinds, error = rules.parse_kinds(query.kind)
    if error is not None:
        raise InvalidInput("invalid filter", errors=[error])
    entries = service.list_page(
        runtime().database.unit_of_work(),
        caller=caller(),
        contact_id=path.contact_id,
        kinds=kinds,
        limit=query.limit,
        after_id=paging.after_id(query.cursor),
    )
    return json_response(paging.cut(entries, query.limit, key=lambda entry: entry.id).body(represent.as_dict))


@api.post(
    "/<contact_id>/comments",
    responses={201: HistoryEntryOut},
    summary="Comment in a contact's timeline, mentioning members",
    description=COMMENT_DESCRIPTION,
)
@idempotent
def add_comment(path: ContactPath, body: CommentIn):  # type: ignore[no-untyped-def]
    entry = service.comment(
        runtime().database.unit_of_work(), caller=caller(), contact_id=path.contact_id, body=body.body
    )
    return json_response(represent.as_dict(entry), 201)
