"""The ticket report fed by what the tickets service really emits: a ticket opened, answered and solved over
the tickets API, its outbox handed to the reports' consumer, the report read as its responsible agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crm_reports.app import SERVICE as REPORTS
from tests.factories import contacts as contact_factories
from tests.support.stack import ContactsPeer, RunningService, running


def test_a_ticket_worked_over_the_api_shows_in_its_agents_report(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer, tmp_path: Path
) -> None:
    peer = contacts_peer_service
    acme = peer.workspace()
    luis = contact_factories.member(peer.rt.database, acme, "Luis", role="agent")
    headers = tickets_api.auth(acme)
    body = {"subject": "Printer on fire", "contact_id": peer.contact(acme), "responsible_id": luis}
    ticket = tickets_api.client.post("/v1/tickets", json=body, headers=headers).get_json()
    answered = tickets_api.client.post(
        f"/v1/tickets/{ticket['id']}/comments", json={"body": "On it", "public": True}, headers=headers
    )
    assert answered.status_code == 201, answered.get_json()
    etag = tickets_api.client.get(f"/v1/tickets/{ticket['id']}", headers=headers).headers["ETag"]
    solved = tickets_api.client.patch(
        f"/v1/tickets/{ticket['id']}", json={"status": "solved"}, headers={**headers, "If-Match": etag}
    )
    assert solved.status_code == 200, solved.get_json()
    (tmp_path / "reports").mkdir()

    with running(REPORTS, f"sqlite:///{tmp_path}/reports/reports.db", tmp_path / "reports") as reports:
        for envelope in tickets_api.outbox():
            reports.consume(envelope.SerializeToString())
        answer = reports.client.get("/v1/reports/tickets", headers=reports.auth(acme, user_id=luis, role="agent"))

    assert answer.status_code == 200, answer.get_json()
    report: dict[str, Any] = answer.get_json()
    values = {figure["key"]: figure for figure in report["figures"]}
    assert (values["opened"]["value"], values["solved"]["value"], values["active_at_end"]["value"]) == (1, 1, 0)
    assert values["first_response"]["value"] is not None and values["first_response"]["value"] >= 0
    assert values["solution"]["median"] is not None
    by_status = next(t["rows"] for t in report["tables"] if t["key"] == "by_status")
    assert {row["status"]: row["tickets"] for row in by_status if row["tickets"]} == {"solved": 1}
