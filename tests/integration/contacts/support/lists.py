"""The contacts service on SQLite and PostgreSQL, with a crafted dataset for lists, bulk actions, export and import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from crm_contacts.bulk import loops
from crm_contacts.customfields.models import CustomField
from crm_contacts.funnel.models import ContactType, Stage
from crm_contacts.members import service as members
from crm_contacts.record.models import Contact
from crm_contacts.sources.models import Source
from crm_platform.ids import new_id
from tests.factories import contacts as factories
from tests.support import infra
from tests.support.stack import RunningService, running


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[RunningService]:
    from crm_contacts.app import SERVICE

    with running(SERVICE, database_url, tmp_path, CONTACTS_STORAGE_DIR=str(tmp_path / "files")) as service:
        yield service


@dataclass
class Tenant:
    """A workspace seen through the API, with its members, stages, sources and contacts by name."""

    api: RunningService
    id: str
    admin: str
    agent: str
    stages: dict[tuple[str, str], str] = field(default_factory=dict)  # (type key, stage name) -> id
    sources: dict[str, str] = field(default_factory=dict)  # key -> id
    contacts: dict[str, str] = field(default_factory=dict)  # name -> id

    def auth(self, who: str | None = None, role: str = "admin") -> dict[str, str]:
        return self.api.auth(self.id, user_id=who or self.admin, role=role)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.api.client.get(url, headers=kwargs.pop("headers", None) or self.auth(), **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.api.client.post(url, headers=kwargs.pop("headers", None) or self.auth(), **kwargs)

    def contact(self, name: str, **fields: Any) -> str:
        answer = self.post("/v1/contacts", json={"name": name, **fields})
        assert answer.status_code == 201, answer.get_json()
        self.contacts[name] = answer.get_json()["id"]
        return self.contacts[name]

    def names(self, answer: Any) -> list[str]:
        assert answer.status_code == 200, answer.get_json()
        by_id = {v: k for k, v in self.contacts.items()}
        return [by_id.get(item["id"], item["id"]) for item in answer.get_json()["items"]]

    def run_jobs(self) -> None:
        while loops.run_once(self.api.rt):
            pass

    def set_created_at(self, name: str, moment: datetime) -> None:
        with self.api.rt.database.engine.begin() as connection:
            connection.execute(update(Contact).where(Contact.id == self.contacts[name]).values(created_at=moment))

    def settings(self, **values: Any) -> None:
        factories.set_workspace(self.api.rt.database, self.id, **values)


def new_workspace(api: RunningService, name: str = "Acme") -> Tenant:
    workspace_id = factories.workspace(api.rt.database, name=name)
    uow = api.rt.database.unit_of_work
    luis = members.create(uow(), workspace_id=workspace_id, name="Luis", email=f"luis@{name.lower()}.com", role="admin")
    marta = members.create(
        uow(), workspace_id=workspace_id, name="Marta", email=f"marta@{name.lower()}.com", role="agent"
    )
    ws = Tenant(api=api, id=workspace_id, admin=luis.id, agent=marta.id)
    with api.rt.database.unit_of_work() as work:
        session = work.session
        types = {t.id: t.key for t in session.query(ContactType).filter_by(workspace_id=workspace_id)}
        for stage in session.query(Stage).filter_by(workspace_id=workspace_id):
            ws.stages[(types[stage.type_id], stage.name)] = stage.id
        ws.sources = {s.key: s.id for s in session.query(Source).filter_by(workspace_id=workspace_id) if s.key}
        for position, (key, kind, options) in enumerate(
            (("budget", "number", []), ("visit", "date", []), ("zone", "multiselect", ["centro", "norte"]))
        ):
            session.add(
                CustomField(
                    id=new_id(),
                    workspace_id=workspace_id,
                    key=key,
                    label=key.title(),
                    kind=kind,
                    options=options,
                    required=False,
                    position=position,
                )
            )
        work.commit()
    return ws


@pytest.fixture
def acme(api: RunningService) -> Tenant:
    """Four contacts that differ in every filterable way, created oldest first."""
    return seed(new_workspace(api))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """One service per module and backend, for tests that only read."""
    from crm_contacts.app import SERVICE

    tmp = tmp_path_factory.mktemp("contacts")
    with ExitStack() as stack:
        url = f"sqlite:///{tmp}/test.db" if request.param == "sqlite" else stack.enter_context(infra.fresh_postgres())
        yield stack.enter_context(running(SERVICE, url, tmp, CONTACTS_STORAGE_DIR=str(tmp / "files")))


@pytest.fixture(scope="module")
def acme_to_read(shared_api: RunningService) -> Tenant:
    """The dataset of ``acme``, shared by the tests of a module that do not change it."""
    return seed(new_workspace(shared_api))


def seed(ws: Tenant) -> Tenant:
    ws.contact(
        "Ana Ruiz",
        email="Ana@Example.com",
        phone="612 345 678",
        owner_id=ws.admin,
        tags=["VIP", "madrid"],
        stars=3,
        location={"city": "Madrid", "country": "ES"},
        messengers={"telegram": "@ana"},
        custom_fields={"budget": 300000, "visit": "2024-05-10", "zone": ["centro"]},
    )
    ws.contact(
        "Álvaro Núñez",
        emails=["alvaro@example.com", "al@work.com"],
        phones=["611 111 111"],
        owner_id=ws.agent,
        tags=["vip"],
        stars=1,
        source_id=ws.sources["web"],
        location={"city": "Sevilla"},
        messengers={"whatsapp": "+34611111111"},
        custom_fields={"budget": 150000, "zone": ["norte", "centro"]},
    )
    ws.contact(
        "Bea de la Ruiz",
        type="collaborator",
        owner_id=None,
        custom_fields={"budget": 100000, "visit": "2024-06-01"},
    )
    ws.contact(
        "Carlos Ortega", email="carlos@example.com", owner_id=ws.admin, stage_id=ws.stages[("contact", "Prospect")]
    )
    assert ws.post(f"/v1/contacts/{ws.contacts['Álvaro Núñez']}/status", json={"status": "won"}).status_code == 200
    assert ws.post(f"/v1/contacts/{ws.contacts['Bea de la Ruiz']}/block").status_code == 200
    for day, name in enumerate(("Ana Ruiz", "Álvaro Núñez", "Bea de la Ruiz", "Carlos Ortega"), start=1):
        ws.set_created_at(name, datetime(2024, 3, day * 7, 12, 0, tzinfo=UTC))
    return ws
