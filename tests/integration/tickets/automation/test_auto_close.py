"""Solved tickets close themselves after the workspace's days without a reply, through the one status
use case (history, event), in batches, on a clock the test controls."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from crm.events.v1 import tickets_pb2
from crm_platform.events import payload_of
from crm_tickets.automation import service
from crm_tickets.automation.loops import auto_close_loop
from crm_tickets.tickets.models import StatusChange
from tests.factories import tickets
from tests.integration.tickets.helpers import move, set_times, ticket_row
from tests.support.stack import ContactsPeer, RunningService

# After the tickets are opened (at the real time), so that the history reads in order.
SOLVED_AT = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)


def solved_ticket(api: RunningService, workspace_id: str, contact_id: str, *, at: datetime = SOLVED_AT) -> str:
    ticket_id: str = tickets.open_ticket(api, api.auth(workspace_id), contact_id).get_json()["id"]
    move(api, ticket_id, "solved", at=at)
    return ticket_id


def statuses(api: RunningService, *ticket_ids: str) -> list[str]:
    return [ticket_row(api, ticket_id).status for ticket_id in ticket_ids]


def test_a_solved_ticket_closes_after_seven_days_by_default(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ticket_id = solved_ticket(tickets_api, acme, contacts_peer_service.contact(acme))
    database = tickets_api.rt.database

    assert service.close_quiet_solved(database, now=SOLVED_AT + timedelta(days=7, seconds=-1)) == 0
    assert statuses(tickets_api, ticket_id) == ["solved"]
    closed_at = SOLVED_AT + timedelta(days=7)
    assert service.close_quiet_solved(database, now=closed_at) == 1

    ticket = ticket_row(tickets_api, ticket_id)
    assert (ticket.status, ticket.closed_at, ticket.version) == ("closed", closed_at, 3)
    with database.unit_of_work() as uow:
        last = uow.session.scalars(
            select(StatusChange).where(StatusChange.ticket_id == ticket_id).order_by(StatusChange.changed_at.desc())
        ).first()
    assert last is not None
    assert (last.from_status, last.to_status, last.actor_id, last.reason) == (
        "solved",
        "closed",
        "system",
        "auto_close",
    )
    event = tickets_api.outbox("tickets.ticket.status_changed")[-1]
    payload = payload_of(event, tickets_pb2.TicketStatusChanged)
    assert (payload.ticket_id, payload.to_status, payload.actor_id, payload.reason) == (
        ticket_id,
        "closed",
        "system",
        "auto_close",
    )
    assert service.close_quiet_solved(database, now=closed_at + timedelta(days=30)) == 0  # once


def test_each_workspace_waits_its_own_days_or_never(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, globex, initech = (contacts_peer_service.workspace(name=n) for n in ("Acme", "Globex", "Initech"))
    body = {"agent_reply_sets_pending": True, "closed_followup": "reopen", "followup_after_days": 14}
    for workspace_id, days in ((acme, 2), (initech, None)):
        answer = tickets_api.client.put(
            "/v1/tickets/settings/automation",
            json={**body, "auto_close_solved_after_days": days},
            headers=tickets_api.auth(workspace_id),
        )
        assert answer.status_code == 200
    ids = [solved_ticket(tickets_api, ws, contacts_peer_service.contact(ws)) for ws in (acme, globex, initech)]
    database = tickets_api.rt.database

    assert service.close_quiet_solved(database, now=SOLVED_AT + timedelta(days=2)) == 1
    assert statuses(tickets_api, *ids) == ["closed", "solved", "solved"]
    assert service.close_quiet_solved(database, now=SOLVED_AT + timedelta(days=7)) == 1
    assert statuses(tickets_api, *ids) == ["closed", "closed", "solved"]
    assert service.close_quiet_solved(database, now=SOLVED_AT + timedelta(days=3650)) == 0
    assert statuses(tickets_api, *ids) == ["closed", "closed", "solved"]


def test_a_reply_after_solving_starts_the_days_again(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ticket_id = solved_ticket(tickets_api, acme, contacts_peer_service.contact(acme))
    set_times(tickets_api, ticket_id, last_agent_reply_at=SOLVED_AT + timedelta(days=3))
    database = tickets_api.rt.database

    assert service.close_quiet_solved(database, now=SOLVED_AT + timedelta(days=8)) == 0
    assert service.close_quiet_solved(database, now=SOLVED_AT + timedelta(days=10)) == 1
    assert statuses(tickets_api, ticket_id) == ["closed"]


def test_open_and_reopened_tickets_are_left_alone(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    still_open = tickets.open_ticket(tickets_api, tickets_api.auth(acme), ana).get_json()["id"]
    reopened = solved_ticket(tickets_api, acme, ana)
    move(tickets_api, reopened, "open", at=SOLVED_AT + timedelta(hours=1))

    assert service.close_quiet_solved(tickets_api.rt.database, now=SOLVED_AT + timedelta(days=100)) == 0
    assert statuses(tickets_api, still_open, reopened) == ["new", "open"]


def test_tickets_close_in_batches_oldest_first(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    ids = [solved_ticket(tickets_api, acme, ana, at=SOLVED_AT + timedelta(minutes=m)) for m in (2, 0, 1)]
    database, now = tickets_api.rt.database, SOLVED_AT + timedelta(days=8)

    assert service.close_quiet_solved(database, now=now, batch=2) == 2
    assert statuses(tickets_api, *ids) == ["solved", "closed", "closed"]
    assert service.close_quiet_solved(database, now=now, batch=2) == 1
    assert statuses(tickets_api, *ids) == ["closed", "closed", "closed"]


def test_the_worker_loop_closes_them_on_its_clock(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    ticket_id = solved_ticket(tickets_api, acme, contacts_peer_service.contact(acme))
    stop = threading.Event()
    loop = auto_close_loop(lambda: SOLVED_AT + timedelta(days=7), idle_seconds=0.05)
    worker = threading.Thread(target=loop, args=(tickets_api.rt, stop), daemon=True)
    worker.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while statuses(tickets_api, ticket_id) != ["closed"] and datetime.now(UTC) < deadline:
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert statuses(tickets_api, ticket_id) == ["closed"]
    assert not worker.is_alive()
