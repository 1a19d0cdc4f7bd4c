"""Each ticket's deadlines, computed from the service's own events, shown on the ticket; and breaches
reported once per ticket and target, on a clock the test controls (the loop's included)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from crm.events.v1 import tickets_pb2
from crm_platform.bus import Delivery
from crm_platform.events import payload_of, unpack
from crm_platform.outbox import OutboxRelay
from crm_tickets.sla import service
from crm_tickets.sla.loops import breach_loop
from tests.factories import tickets
from tests.integration.tickets.helpers import consume_own_events, move, set_times
from tests.support.stack import ContactsPeer, RunningService, envelope

ALWAYS = {day: [{"from": "00:00", "to": "24:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
POLICY = {"first_response_minutes": 60, "update_minutes": 90, "solution_minutes": 240}


def workspace_with_sla(api: RunningService, peer: ContactsPeer, **policies: Any) -> str:
    workspace_id = peer.workspace()
    body = {"time_zone": "UTC", "business_hours": ALWAYS, "policies": policies or {"normal": POLICY}}
    assert api.client.put("/v1/tickets/settings/sla", json=body, headers=api.auth(workspace_id)).status_code == 200
    return workspace_id


def open_ticket(
    api: RunningService, peer: ContactsPeer, workspace_id: str, email: str = "ana@example.com"
) -> tuple[str, datetime]:
    ticket = tickets.open_ticket(api, api.auth(workspace_id), peer.contact(workspace_id, email=email)).get_json()
    consume_own_events(api)
    return ticket["id"], datetime.fromisoformat(ticket["created_at"])


def sla_of(api: RunningService, workspace_id: str, ticket_id: str) -> Any:
    answer = api.client.get(f"/v1/tickets/{ticket_id}", headers=api.auth(workspace_id))
    assert answer.status_code == 200
    return answer.get_json()["sla"]


def breaches(api: RunningService) -> list[tickets_pb2.SlaBreached]:
    return [payload_of(e, tickets_pb2.SlaBreached) for e in api.outbox("tickets.sla.breached")]


def outcomes_announced(api: RunningService, ticket_id: str) -> list[str]:
    """The SLA outcomes of the ticket's latest status change, as a consumer reads them."""
    changes = [payload_of(e, tickets_pb2.TicketStatusChanged) for e in api.outbox("tickets.ticket.status_changed")]
    return list([change for change in changes if change.ticket_id == ticket_id][-1].sla_outcomes)


def test_a_ticket_solved_before_anyone_answered_counts_its_first_response_at_the_solution(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = workspace_with_sla(tickets_api, contacts_peer_service)
    quick, created = open_ticket(tickets_api, contacts_peer_service, acme)
    late, late_created = open_ticket(tickets_api, contacts_peer_service, acme, email="bea@example.com")

    move(tickets_api, quick, "solved", at=created + timedelta(minutes=30))
    move(tickets_api, late, "closed", at=late_created + timedelta(minutes=300))  # the breach check never ran

    # nobody replied: no update target ran, so it is left out
    assert outcomes_announced(tickets_api, quick) == ["first_response:met", "solution:met"]
    assert outcomes_announced(tickets_api, late) == ["first_response:breached", "solution:breached"]


def test_a_ticket_without_a_policy_finishes_with_no_outcomes(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = workspace_with_sla(tickets_api, contacts_peer_service, urgent=POLICY)  # none for "normal"
    ticket_id, created = open_ticket(tickets_api, contacts_peer_service, acme)

    move(tickets_api, ticket_id, "solved", at=created + timedelta(minutes=500))

    assert outcomes_announced(tickets_api, ticket_id) == []


def test_the_ticket_shows_its_deadlines(tickets_api: RunningService, contacts_peer_service: ContactsPeer) -> None:
    acme = workspace_with_sla(tickets_api, contacts_peer_service)
    ticket_id, created = open_ticket(tickets_api, contacts_peer_service, acme)

    sla = sla_of(tickets_api, acme, ticket_id)

    assert (
        sla["policy"]
        == tickets_api.client.get("/v1/tickets/settings/sla", headers=tickets_api.auth(acme)).get_json()["policies"][
            "normal"
        ]["id"]
    )
    assert datetime.fromisoformat(sla["first_response_due_at"]) == created + timedelta(minutes=60)
    assert datetime.fromisoformat(sla["solution_due_at"]) == created + timedelta(minutes=240)
    assert (sla["first_response_met"], sla["update_due_at"], sla["solution_met"], sla["breached"]) == (
        None,
        None,
        None,
        [],
    )
    listed = tickets_api.client.get("/v1/tickets", headers=tickets_api.auth(acme)).get_json()["items"]
    assert [item["sla"] for item in listed] == [sla]


def test_pending_pauses_the_deadlines_and_replies_meet_them(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = workspace_with_sla(tickets_api, contacts_peer_service)
    ticket_id, created = open_ticket(tickets_api, contacts_peer_service, acme)
    answered = created + timedelta(minutes=10)
    set_times(tickets_api, ticket_id, first_response_at=answered, last_agent_reply_at=answered)
    move(tickets_api, ticket_id, "pending", at=answered)
    consume_own_events(tickets_api)

    paused = sla_of(tickets_api, acme, ticket_id)
    assert (paused["first_response_met"], paused["solution_due_at"], paused["update_due_at"]) == (True, None, None)

    move(tickets_api, ticket_id, "open", at=answered + timedelta(minutes=30))
    consume_own_events(tickets_api)
    running = sla_of(tickets_api, acme, ticket_id)
    assert datetime.fromisoformat(running["solution_due_at"]) == created + timedelta(minutes=240 + 30)
    assert datetime.fromisoformat(running["update_due_at"]) == answered + timedelta(minutes=30 + 90)

    move(tickets_api, ticket_id, "solved", at=answered + timedelta(hours=1))
    consume_own_events(tickets_api)
    solved = sla_of(tickets_api, acme, ticket_id)
    assert (solved["solution_met"], solved["update_met"], solved["breached"]) == (True, True, [])
    assert outcomes_announced(tickets_api, ticket_id) == ["first_response:met", "update:met", "solution:met"]
    assert service.report_breaches(tickets_api.rt.database, now=created + timedelta(days=30)) == 0


def test_a_breach_is_reported_once_per_ticket_and_target(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = workspace_with_sla(tickets_api, contacts_peer_service)
    ticket_id, created = open_ticket(tickets_api, contacts_peer_service, acme)
    database = tickets_api.rt.database
    first_due = created + timedelta(minutes=60)

    assert service.report_breaches(database, now=first_due - timedelta(seconds=1)) == 0
    assert service.report_breaches(database, now=first_due) == 1
    assert service.report_breaches(database, now=first_due + timedelta(minutes=1)) == 0

    [breach] = breaches(tickets_api)
    number = tickets_api.client.get(f"/v1/tickets/{ticket_id}", headers=tickets_api.auth(acme)).get_json()["number"]
    assert breach == tickets_pb2.SlaBreached(
        ticket_id=ticket_id,
        contact_id=breach.contact_id,
        number=number,
        priority="normal",
        target="first_response",
        due_at=first_due.isoformat(),
        breached_at=first_due.isoformat(),
        policy_id=sla_of(tickets_api, acme, ticket_id)["policy"],
    )
    assert tickets_api.outbox("tickets.sla.breached")[0].workspace_id == acme
    assert sla_of(tickets_api, acme, ticket_id)["breached"] == ["first_response"]

    # A late answer and a reply: the first response stays reported; the solution breaches in its turn.
    set_times(tickets_api, ticket_id, first_response_at=first_due + timedelta(minutes=5))
    move(tickets_api, ticket_id, "open", at=first_due + timedelta(minutes=5))
    consume_own_events(tickets_api)
    assert sla_of(tickets_api, acme, ticket_id)["first_response_met"] is False
    later = created + timedelta(minutes=240)
    assert service.report_breaches(database, now=later) == 2  # the update (due at +155) and the solution
    assert service.report_breaches(database, now=later + timedelta(days=1)) == 0
    assert [(b.ticket_id, b.target) for b in breaches(tickets_api)] == [
        (ticket_id, "first_response"),
        (ticket_id, "update"),
        (ticket_id, "solution"),
    ]
    assert sla_of(tickets_api, acme, ticket_id)["breached"] == ["first_response", "update", "solution"]

    move(tickets_api, ticket_id, "solved", at=later + timedelta(days=2))
    assert outcomes_announced(tickets_api, ticket_id) == [
        "first_response:breached",
        "update:breached",
        "solution:breached",
    ]


def test_a_policy_per_priority_and_none_for_the_others(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = workspace_with_sla(tickets_api, contacts_peer_service, urgent=POLICY)
    ticket_id, created = open_ticket(tickets_api, contacts_peer_service, acme)

    assert sla_of(tickets_api, acme, ticket_id) is None
    assert service.report_breaches(tickets_api.rt.database, now=created + timedelta(days=365)) == 0
    assert breaches(tickets_api) == []


def test_another_workspace_neither_sees_the_ticket_nor_shares_its_policies(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = workspace_with_sla(tickets_api, contacts_peer_service)
    globex = contacts_peer_service.workspace(name="Globex")
    ticket_id, _ = open_ticket(tickets_api, contacts_peer_service, acme)
    other_id, created = open_ticket(tickets_api, contacts_peer_service, globex)

    assert tickets_api.client.get(f"/v1/tickets/{ticket_id}", headers=tickets_api.auth(globex)).status_code == 404
    assert sla_of(tickets_api, globex, other_id) is None
    service.report_breaches(tickets_api.rt.database, now=created + timedelta(days=1))
    assert {b.ticket_id for b in breaches(tickets_api)} == {ticket_id}


def test_the_worker_loop_reports_on_its_clock_exactly_once(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = workspace_with_sla(tickets_api, contacts_peer_service, normal={"first_response_minutes": 30})
    ticket_id, created = open_ticket(tickets_api, contacts_peer_service, acme)
    stop = threading.Event()
    loop = breach_loop(lambda: created + timedelta(hours=1), idle_seconds=0.05)
    worker = threading.Thread(target=loop, args=(tickets_api.rt, stop), daemon=True)
    worker.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while not breaches(tickets_api) and datetime.now(UTC) < deadline:
            stop.wait(0.05)
        stop.wait(0.5)  # several more turns of the loop
    finally:
        stop.set()
        worker.join(timeout=10)
    assert [(b.ticket_id, b.target) for b in breaches(tickets_api)] == [(ticket_id, "first_response")]
    assert not worker.is_alive()


def test_a_priority_change_moves_the_ticket_to_that_prioritys_policy(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = workspace_with_sla(tickets_api, contacts_peer_service, urgent={"first_response_minutes": 15})
    ticket_id, created = open_ticket(tickets_api, contacts_peer_service, acme)
    assert sla_of(tickets_api, acme, ticket_id) is None
    set_times(tickets_api, ticket_id, priority="urgent")  # as the ticket's PATCH does, with its event
    changed = tickets_pb2.TicketPriorityChanged(ticket_id=ticket_id, from_priority="normal", to_priority="urgent")

    tickets_api.consume(envelope("tickets.ticket.priority_changed", changed, workspace_id=acme, producer="tickets"))

    sla = sla_of(tickets_api, acme, ticket_id)
    assert datetime.fromisoformat(sla["first_response_due_at"]) == created + timedelta(minutes=15)


def test_an_event_naming_another_workspaces_ticket_changes_nothing(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = workspace_with_sla(tickets_api, contacts_peer_service, urgent={"first_response_minutes": 15})
    globex = contacts_peer_service.workspace(name="Globex")
    ticket_id, _ = open_ticket(tickets_api, contacts_peer_service, acme)
    set_times(tickets_api, ticket_id, priority="urgent")
    changed = tickets_pb2.TicketPriorityChanged(ticket_id=ticket_id, from_priority="normal", to_priority="urgent")

    tickets_api.consume(envelope("tickets.ticket.priority_changed", changed, workspace_id=globex, producer="tickets"))

    assert sla_of(tickets_api, acme, ticket_id) is None


def test_the_breach_reaches_the_bus_exactly_once(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    """As the reports service will see it: the relay publishes the outbox to the bus, a queue bound to
    ``tickets.sla.breached`` gets one delivery, however many times the loop looked."""
    acme = workspace_with_sla(tickets_api, contacts_peer_service, normal={"first_response_minutes": 30})
    ticket_id, created = open_ticket(tickets_api, contacts_peer_service, acme)
    queue = "crm.sla-breach-test"
    declaring = tickets_api.rt.connect_bus()
    declaring.declare(queue, ["tickets.sla.breached"])
    declaring.close()
    relay = OutboxRelay(tickets_api.rt.database, tickets_api.rt.connect_bus, tickets_api.rt.metrics)
    for minutes in (31, 32, 60):
        service.report_breaches(tickets_api.rt.database, now=created + timedelta(minutes=minutes))
        relay.relay_once()
    got: list[Delivery] = []
    stop = threading.Event()

    def consume() -> None:  # a bus connection belongs to one thread
        bus = tickets_api.rt.connect_bus()
        try:
            bus.consume(queue, got.append, stop=stop)
        finally:
            bus.close()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while not got and datetime.now(UTC) < deadline:
            stop.wait(0.05)
        stop.wait(1.0)  # time for a second one to show up, were there one
    finally:
        stop.set()
        consumer.join(timeout=10)
    assert [d.event_type for d in got] == ["tickets.sla.breached"]
    assert payload_of(unpack(got[0].body), tickets_pb2.SlaBreached).ticket_id == ticket_id
