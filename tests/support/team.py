"""A workspace with an admin and two agents in the real contacts service, and its events handed to another service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from crm_platform.context import Caller
from crm_platform.events import unpack
from tests.factories import platform as factories
from tests.support.stack import ContactsPeer, RunningService


@dataclass(frozen=True)
class Team:
    """Acme: an admin, and the agents Ana and Luis, each owning a contact of their own."""

    peer: ContactsPeer
    workspace: str
    admin: str
    ana: str
    luis: str
    anas_contact: str
    luis_contact: str

    def contact_of(self, owner: str | None, name: str) -> str:
        """A new contact owned by ``owner`` (None: nobody)."""
        from tests.factories import contacts

        return contacts.contact(
            self.peer.rt.database, self.workspace, name=name, owner_id=owner, actor=self.caller(self.admin, "admin")
        )

    def caller(self, user_id: str, role: str) -> Caller:
        return factories.caller(self.workspace, user_id=user_id, role=role)

    def agents_see_all(self, value: bool) -> None:
        from crm_contacts.workspaces import service as workspaces

        workspaces.update_settings(
            self.peer.rt.database.unit_of_work(), workspace_id=self.workspace, changes={"agents_see_all": value}
        )

    def give(self, contact_id: str, owner: str) -> None:
        """The admin hands a contact to another owner (contacts emits contacts.contact.owner_changed)."""
        from crm_contacts.contacts import service as contacts

        contacts.update(
            self.peer.rt.database.unit_of_work(),
            caller=self.caller(self.admin, "admin"),
            contact_id=contact_id,
            values={"owner_id": owner},
        )

    def deliver_events(self, api: RunningService) -> int:
        """Hand every event contacts wrote to ``api``'s consumer, as its worker would (redeliveries are no-ops)."""
        table = self.peer.rt.database.outbox
        with self.peer.rt.database.engine.connect() as connection:
            bodies = [row.body for row in connection.execute(select(table.c.body).order_by(table.c.id))]
        wanted = [body for body in bodies if unpack(body).type in api.rt.spec.subscriptions.handlers]
        for body in wanted:
            api.consume(body)
        return len(wanted)

    def headers(self, api: RunningService, who: str) -> dict[str, str]:
        role = "admin" if who == self.admin else "agent"
        return api.auth(self.workspace, user_id=who, role=role)


def acme_team(peer: ContactsPeer) -> Team:
    from tests.factories import contacts

    workspace = peer.workspace()

    def member(name: str, role: str) -> str:
        return contacts.member(peer.rt.database, workspace, name, role=role, email=f"{name.lower()}@acme-example.com")

    admin, ana, luis = member("Boss", "admin"), member("Ana", "agent"), member("Luis", "agent")
    partial = Team(peer, workspace, admin, ana, luis, "", "")
    return Team(
        peer,
        workspace,
        admin,
        ana,
        luis,
        anas_contact=partial.contact_of(ana, "Ana's customer"),
        luis_contact=partial.contact_of(luis, "Luis's customer"),
    )


def grpc_calls_served(peer: ContactsPeer) -> float:
    """How many gRPC calls the contacts service has answered (its own request counter)."""
    counter: Any = peer.rt.metrics.grpc_requests
    return sum(
        sample.value for metric in counter.collect() for sample in metric.samples if sample.name.endswith("_total")
    )


def every_page(api: RunningService, path: str, headers: dict[str, str], *, limit: int) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor to the end."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = f"{path}{'&' if '?' in path else '?'}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        answer = api.client.get(query, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        pages.append(answer.get_json()["items"])
        cursor = answer.get_json()["next_cursor"]
        if cursor is None:
            return pages
