"""Factories for the activity tests: a workspace with members and contacts, and HTTP helpers acting as them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.factories import contacts
from tests.support.stack import RunningService

MAX_FILE_BYTES = 300_000


@dataclass
class World:
    api: RunningService
    workspace_id: str
    admin: str
    agent: str
    other_agent: str
    inactive: str
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, api: RunningService, *, name: str = "Acme") -> World:
        workspace_id = contacts.workspace(api.rt.database, name=name)
        people = {"admin": ("Marta Admin", "admin", True), "agent": ("Luis Gil", "agent", True)}
        people |= {"other_agent": ("Eva Sanz", "agent", True), "inactive": ("Old Timer", "agent", False)}
        ids = {
            key: contacts.member(api.rt.database, workspace_id, full_name, role=role, active=active)
            for key, (full_name, role, active) in people.items()
        }
        return cls(api, workspace_id, names={ids[k]: v[0] for k, v in people.items()}, **ids)

    def headers(self, member_id: str | None = None) -> dict[str, str]:
        member_id = member_id or self.admin
        role = "admin" if member_id == self.admin else "agent"
        return self.api.auth(self.workspace_id, user_id=member_id, role=role)

    def contact(self, *, name: str = "Ana Ruiz", owner: str | None = None) -> str:
        """A contact inserted through the model, owned by ``owner`` (default the admin)."""
        return contacts.contact_row(self.api.rt.database, self.workspace_id, name=name, owner_id=owner or self.admin)

    def agents_see_only_their_own(self) -> None:
        contacts.set_workspace(self.api.rt.database, self.workspace_id, agents_see_all=False)

    def get(self, url: str, *, as_: str | None = None) -> Any:
        return self.api.client.get(url, headers=self.headers(as_))

    def post(self, url: str, body: dict[str, Any] | None = None, *, as_: str | None = None) -> Any:
        return self.api.client.post(url, json=body, headers=self.headers(as_))

    def patch(self, url: str, body: dict[str, Any], *, as_: str | None = None) -> Any:
        return self.api.client.patch(url, json=body, headers=self.headers(as_))

    def delete(self, url: str, *, as_: str | None = None) -> Any:
        return self.api.client.delete(url, headers=self.headers(as_))

    def walk(self, url: str, *, as_: str | None = None, max_pages: int = 100) -> list[list[dict[str, Any]]]:
        """Every page of a list, following next_cursor until it runs out."""
        pages: list[list[dict[str, Any]]] = []
        separator = "&" if "?" in url else "?"
        next_url: str | None = url
        while next_url:
            answer = self.get(next_url, as_=as_)
            assert answer.status_code == 200, answer.get_json()
            body = answer.get_json()
            pages.append(body["items"])
            next_url = f"{url}{separator}cursor={body['next_cursor']}" if body["next_cursor"] else None
            assert len(pages) <= max_pages, "the cursor never ran out"
        return pages
