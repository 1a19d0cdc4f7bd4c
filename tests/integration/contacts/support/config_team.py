"""Factories and assertions shared by the workspace-configuration tests."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf.message import Message
from PIL import Image

from crm_contacts.members import service as members
from crm_contacts.workspaces import service as workspaces
from crm_events import EventType
from crm_platform.events import payload_of
from crm_platform.ids import new_id
from tests.factories import contacts
from tests.support.stack import RunningService

P = TypeVar("P", bound=Message)


@dataclass
class Team:
    """A workspace with one admin and one agent, and the headers each of them sends."""

    api: RunningService
    workspace_id: str
    admin_id: str
    agent_id: str

    @property
    def admin(self) -> dict[str, str]:
        return self.api.auth(self.workspace_id, user_id=self.admin_id, role="admin")

    @property
    def agent(self) -> dict[str, str]:
        return self.api.auth(self.workspace_id, user_id=self.agent_id, role="agent")

    def get(self, path: str, *, as_agent: bool = False) -> Any:
        return self.api.client.get(path, headers=self.agent if as_agent else self.admin)

    def send(self, method: str, path: str, body: Any = None, *, as_agent: bool = False) -> Any:
        headers = self.agent if as_agent else self.admin
        return self.api.client.open(path, method=method, json=body, headers=headers)

    def announced(self, event_type: EventType[P]) -> list[P]:
        """This workspace's events of ``event_type`` in the outbox, oldest first, as a consumer reads them."""
        return [
            payload_of(envelope, event_type.payload)
            for envelope in self.api.outbox(event_type.name)
            if envelope.workspace_id == self.workspace_id
        ]

    def contact(self, *, type_id: str | None = None, stage_id: str | None = None, **fields: Any) -> str:
        """A contact row placed directly (the contact API is another feature's), e.g. in a stage or deleted."""
        return contacts.contact_row(
            self.api.rt.database, self.workspace_id, type_id=type_id, stage_id=stage_id, **fields
        )


def new_team(api: RunningService, *, name: str = "Acme") -> Team:
    workspace, admin = workspaces.create_with_admin(
        api.rt.database.unit_of_work(),
        name=name,
        default_region="ES",
        admin_name="Laura Admin",
        admin_email=f"laura@{new_id()}.example",
    )
    agent = members.create(
        api.rt.database.unit_of_work(),
        workspace_id=workspace.id,
        name="Luis Agent",
        email=f"luis@{new_id()}.example",
        role="agent",
    )
    return Team(api=api, workspace_id=workspace.id, admin_id=admin.id, agent_id=agent.id)


def image(size: tuple[int, int], fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA" if fmt == "PNG" else "RGB", size, (20, 120, 200)).save(buffer, fmt)
    return buffer.getvalue()


def assert_problem(answer: Any, status: int, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The answer is a problem+json of this status (and these ``{field: code}`` errors); returns its body."""
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert body["status"] == status
    if fields is not None:
        assert {e["field"]: e["code"] for e in body.get("errors", [])} == fields
    return body
