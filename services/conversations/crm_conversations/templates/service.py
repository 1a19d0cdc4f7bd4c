"""Use cases on message templates: admins manage them, every member uses them."""

from __future__ import annotations

from sqlalchemy import select

from crm_conversations.conversations import service as conversations
from crm_conversations.conversations.rules import check_version
from crm_conversations.messages import rules as message_rules
from crm_conversations.templates import rules
from crm_conversations.templates.models import Template
from crm_platform.clients.contacts import ContactDirectory
from crm_platform.context import Caller, require_admin
from crm_platform.db import UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.ids import new_id


def _clean_body(body: str) -> str:
    rules.check_placeholders(body)
    cleaned = message_rules.sanitize(body)
    if not message_rules.to_text(cleaned).strip():
        raise InvalidInput(
            "the template has invalid fields", errors=[FieldError("body", "must not be empty", "required")]
        )
    return cleaned


def create(uow: UnitOfWork, *, caller: Caller, title: str, body: str) -> Template:
    """A new template of the caller's workspace (admins only)."""
    require_admin(caller, "manage message templates")
    title, body = rules.clean_title(title), _clean_body(body)
    with uow:
        now = utcnow()
        template = Template(
            id=new_id(),
            workspace_id=caller.workspace_id,
            title=title,
            body=body,
            version=1,
            created_by=caller.user_id,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(template)
        uow.commit()
    return template


def get(uow: UnitOfWork, *, caller: Caller, template_id: str) -> Template:
    """One template of the caller's workspace."""
    with uow:
        return get_in_workspace(uow.session, Template, template_id, workspace_id=caller.workspace_id, what="template")


def list_page(uow: UnitOfWork, *, caller: Caller, limit: int, after_id: str | None) -> list[Template]:
    """The workspace's templates, oldest first; one row more than ``limit`` says a next page exists."""
    query = select(Template).where(Template.workspace_id == caller.workspace_id)
    if after_id:
        query = query.where(Template.id > after_id)
    with uow:
        return list(uow.session.scalars(query.order_by(Template.id).limit(limit + 1)))


def update(
    uow: UnitOfWork,
    *,
    caller: Caller,
    template_id: str,
    title: str | None,
    body: str | None,
    if_match: str | None,
) -> Template:
    """Change a template's title or body (admins), refusing a stale If-Match."""
    require_admin(caller, "manage message templates")
    new_title = rules.clean_title(title) if title is not None else None
    new_body = _clean_body(body) if body is not None else None
    with uow:
        template = get_in_workspace(
            uow.session, Template, template_id, workspace_id=caller.workspace_id, what="template"
        )
        check_version(template.version, if_match, what="template")
        if new_title is not None:
            template.title = new_title
        if new_body is not None:
            template.body = new_body
        template.version += 1
        template.updated_at = utcnow()
        uow.commit()
    return template


def delete(uow: UnitOfWork, *, caller: Caller, template_id: str) -> None:
    """Delete a template (admins); messages written with it keep their text."""
    require_admin(caller, "manage message templates")
    with uow:
        template = get_in_workspace(
            uow.session, Template, template_id, workspace_id=caller.workspace_id, what="template"
        )
        uow.session.delete(template)
        uow.commit()


def fill_for(
    uow: UnitOfWork, contacts: ContactDirectory, *, caller: Caller, template_id: str, conversation_id: str
) -> str:
    """The template's body filled for a conversation the caller sees: its contact, the caller as the member."""
    with uow:
        template = get_in_workspace(
            uow.session, Template, template_id, workspace_id=caller.workspace_id, what="template"
        )
        conversation = conversations.find(uow.session, caller, conversation_id)
        body, subject = template.body, conversation.subject
        name, email = conversation.contact_name or "", conversation.contact_email or ""
    member = contacts.member(caller.user_id)
    context = rules.Context(
        contact_name=name, contact_email=email, member_name=member.name if member else "", subject=subject
    )
    return rules.fill(body, context)
