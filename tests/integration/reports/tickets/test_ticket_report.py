"""The ticket report read over HTTP, fed by the tickets service's events as the bus hands them over."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import select

from crm.events.v1 import contacts_pb2, tickets_pb2
from crm_platform.ids import new_id
from crm_reports import projection
from crm_reports.app import PROJECTIONS
from crm_reports.durations import Duration
from crm_reports.rollups import Rollup
from crm_reports.workspaces import ReportWorkspace
from tests.support.stack import RunningService, envelope, problem_fields

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # a Monday
RANGE = "from=2026-05-01&to=2026-05-31"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def event(workspace: str, kind: str, payload: Message, hours: float) -> bytes:
    return envelope(f"tickets.{kind}", payload, workspace_id=workspace, producer="tickets", occurred_at=at(hours))


def opened(ws: str, ticket: str, hours: float, *, responsible: str, priority: str = "normal") -> bytes:
    payload = tickets_pb2.TicketOpened(
        ticket_id=ticket,
        contact_id="c1",
        subject="Printer",
        status="new",
        priority=priority,
        responsible_id=responsible,
    )
    return event(ws, "ticket.opened", payload, hours)


def moved(ws: str, ticket: str, hours: float, before: str, after: str, *, responsible: str, **more: Any) -> bytes:
    payload = tickets_pb2.TicketStatusChanged(
        ticket_id=ticket, from_status=before, to_status=after, responsible_id=responsible, priority="normal", **more
    )
    return event(ws, "ticket.status_changed", payload, hours)


def reply(ws: str, ticket: str, hours: float, *, author: str, **more: Any) -> bytes:
    payload = tickets_pb2.CommentAdded(
        ticket_id=ticket,
        comment_id=new_id(),
        body="On it",
        author_id=author,
        public=True,
        author_type="member",
        responsible_id=author,
        **more,
    )
    return event(ws, "comment.public_added", payload, hours)


def story(ws: str) -> list[bytes]:
    """Three tickets: Ana's answered in 1 h and solved in 4 h (SLA met), reopened; Ana's urgent one answered in
    3 h by automation first (not a response), still open; Bea's answered in 2 h, solved in 30 h (breached)."""
    one, two, three = new_id(), new_id(), new_id()
    return [
        opened(ws, one, 0, responsible="ana"),
        reply(ws, one, 1, author="ana"),
        moved(ws, one, 4, "new", "solved", responsible="ana", sla_outcomes=["first_response:met", "solution:met"]),
        moved(ws, one, 26, "solved", "open", responsible="ana", reason="customer_reply"),
        opened(ws, two, 2, responsible="ana", priority="urgent"),
        reply(ws, two, 2.5, author="ana", automatic=True),
        reply(ws, two, 5, author="ana"),
        moved(ws, two, 5, "new", "open", responsible="ana"),
        opened(ws, three, 3, responsible="bea"),
        reply(ws, three, 5, author="bea"),
        event(ws, "sla.breached", tickets_pb2.SlaBreached(ticket_id=three, target="solution", priority="normal"), 27),
        moved(
            ws, three, 33, "new", "solved", responsible="bea", sla_outcomes=["first_response:met", "solution:breached"]
        ),
        moved(ws, three, 40, "solved", "closed", responsible="bea", reason="auto_close"),
    ]


def feed(reports: RunningService, bodies: list[bytes]) -> None:
    for body in bodies:
        reports.consume(body)


def read(reports: RunningService, ws: str, query: str = RANGE, **auth: Any) -> Any:
    answer = reports.client.get(f"/v1/reports/tickets?{query}", headers=reports.auth(ws, **auth))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def values(body: Any) -> dict[str, Any]:
    return {f["key"]: f["value"] for f in body["figures"]}


def table(body: Any, key: str) -> list[dict[str, Any]]:
    return next(t["rows"] for t in body["tables"] if t["key"] == key)


def test_an_admin_sees_the_workspaces_tickets_counted_timed_and_by_status(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, story(acme))

    body = read(reports_api, acme)

    assert body["member_id"] is None
    found = values(body)
    assert {k: found[k] for k in ("opened", "solved", "closed", "reopened", "merged", "active_at_end")} == {
        "opened": 3,
        "solved": 2,
        "closed": 1,
        "reopened": 1,
        "merged": 0,
        "active_at_end": 2,
    }
    first = next(f for f in body["figures"] if f["key"] == "first_response")
    assert (first["value"], first["median"]) == (2 * 3600.0, 2 * 3600.0)  # 1 h, 3 h (not automation's), 2 h
    solution = next(f for f in body["figures"] if f["key"] == "solution")
    assert (solution["value"], solution["median"], solution["p90"]) == (17 * 3600.0, 17 * 3600.0, 27.4 * 3600.0)
    assert {row["status"]: row["tickets"] for row in table(body, "by_status")} == {
        "new": 0,
        "open": 2,
        "pending": 0,
        "stopped": 0,
        "solved": 0,
        "closed": 1,
    }
    assert {row["target"]: (row["met"], row["breached"], row["breach_alerts"]) for row in table(body, "sla")} == {
        "first_response": (2, 0, 0),
        "update": (0, 0, 0),
        "solution": (1, 1, 1),
    }
    assert [(row["member_id"], row["opened"], row["active_at_end"]) for row in table(body, "by_member")] == [
        ("ana", 2, 2),
        ("bea", 1, 0),
    ]


def test_the_member_table_names_each_member_as_contacts_last_told(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, story(acme))
    member = contacts_pb2.MemberChanged(member_id="bea", name="Bea Ruiz", role="agent", active=True)
    reports_api.consume(envelope("contacts.member.added", member, workspace_id=acme, producer="contacts"))

    rows = table(read(reports_api, acme), "by_member")

    assert [(row["member_id"], row["name"]) for row in rows] == [("ana", "ana"), ("bea", "Bea Ruiz")]


def test_the_state_at_the_range_end_is_what_the_tickets_were_then(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, story(acme))

    body = read(reports_api, acme, "from=2026-05-04&to=2026-05-04")  # before the reopen and Bea's solution

    assert {row["status"]: row["tickets"] for row in table(body, "by_status") if row["tickets"]} == {
        "new": 1,
        "open": 1,
        "solved": 1,
    }
    assert values(body)["reopened"] == 0
    later = read(reports_api, acme, "from=2026-05-06&to=2026-05-31")  # after everything happened: still there
    assert {row["status"]: row["tickets"] for row in table(later, "by_status") if row["tickets"]} == {
        "open": 2,
        "closed": 1,
    }
    assert (values(later)["opened"], values(later)["active_at_end"]) == (0, 2)


def test_an_agent_sees_their_own_figures_only_and_another_members_answers_404(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, story(acme))

    body = read(reports_api, acme, user_id="bea", role="agent")

    assert body["member_id"] == "bea"
    assert {k: values(body)[k] for k in ("opened", "solved", "closed", "active_at_end")} == {
        "opened": 1,
        "solved": 1,
        "closed": 1,
        "active_at_end": 0,
    }
    assert values(body)["first_response"] == 2 * 3600.0
    assert [row["member_id"] for row in table(body, "by_member")] == ["bea"]
    refused = reports_api.client.get(
        f"/v1/reports/tickets?{RANGE}&member=ana", headers=reports_api.auth(acme, user_id="bea", role="agent")
    )
    assert refused.status_code == 404


def test_an_admin_may_filter_by_member(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, story(acme))

    body = read(reports_api, acme, f"{RANGE}&member=ana")

    assert body["member_id"] == "ana"
    assert (values(body)["opened"], values(body)["reopened"], values(body)["first_response"]) == (2, 1, 2 * 3600.0)


def test_another_workspace_sees_none_of_it(reports_api: RunningService) -> None:
    acme, other = new_id(), new_id()
    feed(reports_api, story(acme))

    body = read(reports_api, other)

    assert values(body)["opened"] == 0 and values(body)["first_response"] is None
    assert all(row["tickets"] == 0 for row in table(body, "by_status"))


def test_late_and_redelivered_events_give_the_same_figures(reports_api: RunningService) -> None:
    in_order, shuffled = new_id(), new_id()
    feed(reports_api, story(in_order))
    bodies = story(shuffled)
    random.Random(7).shuffle(bodies)
    feed(reports_api, bodies + bodies[:5])  # out of order, and five of them twice

    assert strip(read(reports_api, shuffled, f"{RANGE}&bucket=week")) == strip(
        read(reports_api, in_order, f"{RANGE}&bucket=week")
    )


def strip(body: Any) -> Any:
    """The report without what names one workspace's tickets: the figures alone."""
    return {key: body[key] for key in ("figures", "tables", "charts")}


def test_rebuild_gives_what_incremental_ingest_gave(reports_api: RunningService) -> None:
    acme = new_id()
    bodies = story(acme) + story(acme)
    random.Random(3).shuffle(bodies)
    feed(reports_api, bodies)
    incremental, report = state(reports_api, acme), read(reports_api, acme)

    projection.rebuild(reports_api.rt.database, PROJECTIONS, acme, batch=2)

    assert state(reports_api, acme) == incremental
    assert read(reports_api, acme) == report


def state(reports: RunningService, ws: str) -> tuple[list[Any], list[Any]]:
    with reports.rt.database.unit_of_work() as uow:
        rollups = uow.session.execute(
            select(Rollup.metric, Rollup.day, Rollup.member_id, Rollup.dimension, Rollup.count, Rollup.seconds)
            .where(Rollup.workspace_id == ws, Rollup.count != 0)
            .order_by(Rollup.metric, Rollup.day, Rollup.member_id, Rollup.dimension)
        ).all()
        rows = uow.session.execute(
            select(Duration.subject_id, Duration.metric, Duration.seq, Duration.at, Duration.seconds)
            .where(Duration.workspace_id == ws)
            .order_by(Duration.subject_id, Duration.metric, Duration.seq)
        ).all()
    assert rollups and rows
    return [tuple(row) for row in rollups], [tuple(row) for row in rows]


def test_days_and_weeks_are_the_workspaces_own(reports_api: RunningService) -> None:
    acme = new_id()
    late_sunday = datetime(2026, 5, 3, 22, 30, tzinfo=UTC)  # Monday 00:30 in Madrid
    reports_api.consume(
        envelope(
            "tickets.ticket.opened",
            tickets_pb2.TicketOpened(ticket_id=new_id(), status="new", priority="normal", responsible_id="ana"),
            workspace_id=acme,
            producer="tickets",
            occurred_at=late_sunday,
        )
    )
    with reports_api.rt.database.unit_of_work() as uow:
        uow.session.get(ReportWorkspace, acme).time_zone = "Europe/Madrid"  # type: ignore[union-attr]
        uow.commit()
    projection.rebuild(reports_api.rt.database, PROJECTIONS, acme)

    body = read(reports_api, acme, "from=2026-04-27&to=2026-05-10&bucket=week")

    assert body["time_zone"] == "Europe/Madrid"
    assert [(row["bucket"], row["opened"]) for row in table(body, "over_time")] == [
        ("2026-04-27", 0),
        ("2026-05-04", 1),
    ]


def test_a_bad_range_or_bucket_is_refused_with_the_field_named(reports_api: RunningService) -> None:
    acme = new_id()
    headers = reports_api.auth(acme)

    inverted = reports_api.client.get("/v1/reports/tickets?from=2026-05-10&to=2026-05-01", headers=headers)
    bucket = reports_api.client.get("/v1/reports/tickets?bucket=year", headers=headers)

    assert (inverted.status_code, problem_fields(inverted.get_json())) == (422, {"from": "range_inverted"})
    assert bucket.status_code == 422 and "bucket" in problem_fields(bucket.get_json())
