"""The conversation report over HTTP, fed by conversations' events on the reports' consumer: the figures an
admin and an agent see over a range, buckets, members' scope, late and redelivered events, deleted
conversations, and a rebuild giving what the events gave."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from crm_platform.bus import Delivery
from crm_platform.consumer import IdempotentConsumer
from crm_platform.events import unpack
from crm_platform.ids import new_id
from crm_reports import projection
from crm_reports.app import PROJECTIONS
from crm_reports.durations import Duration
from crm_reports.rollups import Rollup
from crm_reports.workspaces import Label
from tests.integration.reports.conversations.helpers import Conversation, feed
from tests.support.stack import RunningService

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
ANA, LUIS = "member-ana", "member-luis"
NOVEMBER = "?from=2026-11-01&to=2026-11-30"


def history(workspace_id: str) -> list[Conversation]:
    """Four conversations: one reopened and closed again, one assigned later, one a member started (still open),
    one deleted afterwards."""
    reopened = (
        Conversation(workspace_id)
        .started(T0, assignee=ANA)
        .from_contact(T0)
        .note(T0 + MINUTE, ANA)
        .reply(T0 + 2 * MINUTE, ANA, automatic=True)
        .reply(T0 + 10 * MINUTE, ANA)  # first response: 10 min
        .archived(T0 + HOUR, ANA)  # closed in 1 h
        .from_contact(T0 + DAY)
        .reopened(T0 + DAY, ANA)
        .reply(T0 + DAY + 20 * MINUTE, ANA)  # 20 min
        .archived(T0 + DAY + 2 * HOUR, ANA)  # 2 h
    )
    handed = (
        Conversation(workspace_id)
        .started(T0 + 2 * DAY)
        .from_contact(T0 + 2 * DAY)
        .assigned(T0 + 2 * DAY + 5 * MINUTE, LUIS)
        .reply(T0 + 2 * DAY + 30 * MINUTE, LUIS)  # 30 min
        .archived(T0 + 2 * DAY + 3 * HOUR, LUIS)  # 3 h
    )
    outbound = (
        Conversation(workspace_id)
        .started(T0 + 8 * DAY, assignee=ANA, started_by=ANA)
        .reply(T0 + 8 * DAY, ANA)
        .from_contact(T0 + 8 * DAY + HOUR)
        .reply(T0 + 8 * DAY + HOUR + 15 * MINUTE, ANA)  # 15 min
    )
    deleted = (
        Conversation(workspace_id)
        .started(T0 + 3 * DAY, assignee=LUIS)
        .from_contact(T0 + 3 * DAY)
        .reply(T0 + 3 * DAY + MINUTE, LUIS)
        .archived(T0 + 3 * DAY + 10 * MINUTE, LUIS)
        .deleted(T0 + 20 * DAY)
    )
    return [reopened, handed, outbound, deleted]


def name_members(reports: RunningService, workspace_id: str) -> None:
    with reports.rt.database.unit_of_work() as uow:
        uow.session.add_all(
            [
                Label(workspace_id=workspace_id, kind="member", key=ANA, name="Ana López"),
                Label(workspace_id=workspace_id, kind="member", key=LUIS, name="Luis Gil"),
            ]
        )
        uow.commit()


def report(reports: RunningService, workspace_id: str, query: str, **auth: str) -> Any:
    answer = reports.client.get(f"/v1/reports/conversations{query}", headers=reports.auth(workspace_id, **auth))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def figures_of(body: Any) -> dict[str, Any]:
    return {
        f["key"]: (f["value"], f.get("median"), f.get("p90")) if f["unit"] == "seconds" else f["value"]
        for f in body["figures"]
    }


def test_an_admin_sees_the_workspaces_figures_per_member_and_per_week(reports_api: RunningService) -> None:
    acme = new_id()
    name_members(reports_api, acme)
    feed(reports_api, [body for conversation in history(acme) for body in conversation.deliveries])

    body = report(reports_api, acme, NOVEMBER + "&bucket=week")

    assert body["member_id"] is None and body["bucket"] == "week"
    found = figures_of(body)
    assert found["new"] == 3 and found["closed"] == 3  # the reopened one closed twice; the deleted one not at all
    assert found["messages_sent"] == 5  # notes and the auto-reply are not sent messages
    assert found["messages_received"] == 4
    assert found["close_time"] == pytest.approx((7200, 7200, 7200 + 0.8 * 3600))  # 1 h, 2 h, 3 h: per cycle
    # 10, 20, 30 and 15 minutes: the note and the auto-reply were no response
    assert found["first_response"] == pytest.approx((1125, 1050, 1200 + 0.7 * 600))
    new_series = next(chart for chart in body["charts"] if chart["key"] == "new_series")
    assert new_series["categories"] == [
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
        "2026-11-30",
    ]
    assert new_series["series"][0]["values"] == [0, 2, 1, 0, 0, 0]
    rows = {row["member"]: row for row in next(t for t in body["tables"] if t["key"] == "members")["rows"]}
    assert set(rows) == {"Ana López", "Luis Gil", "Unassigned"}
    assert (rows["Ana López"]["conversations"], rows["Ana López"]["closed"], rows["Ana López"]["messages_sent"]) == (
        3,
        2,
        4,
    )
    assert rows["Ana López"]["close_time"] == pytest.approx(5400)
    assert (rows["Luis Gil"]["conversations"], rows["Luis Gil"]["new"], rows["Luis Gil"]["first_response"]) == (
        1,
        0,
        1800,
    )
    assert rows["Unassigned"]["new"] == 1
    pie = next(chart for chart in body["charts"] if chart["kind"] == "pie")
    assert pie["categories"] == ["Ana López", "Luis Gil"] and pie["series"][0]["values"] == [3, 1]

    luis = figures_of(report(reports_api, acme, NOVEMBER + f"&member={LUIS}"))
    assert (luis["new"], luis["closed"], luis["messages_sent"]) == (0, 1, 1)

    first_week = figures_of(report(reports_api, acme, "?from=2026-11-01&to=2026-11-07"))
    assert (first_week["new"], first_week["closed"]) == (2, 3)


def test_an_agent_sees_their_own_figures_only(reports_api: RunningService) -> None:
    acme, other = new_id(), new_id()
    feed(reports_api, [body for conversation in history(acme) for body in conversation.deliveries])
    feed(reports_api, Conversation(other).started(T0, assignee=ANA).deliveries)

    body = report(reports_api, acme, NOVEMBER, user_id=ANA, role="agent")

    assert body["member_id"] == ANA
    found = figures_of(body)
    assert (found["new"], found["closed"], found["messages_sent"], found["messages_received"]) == (2, 2, 4, 3)
    assert found["close_time"][0] == pytest.approx(5400)
    assert found["first_response"][0] == pytest.approx(900)  # 10, 20 and 15 minutes: Luis's 30 are not hers
    assert [row["member_id"] for row in body["tables"][0]["rows"]] == [ANA]

    asking_for_luis = reports_api.client.get(
        f"/v1/reports/conversations{NOVEMBER}&member={LUIS}", headers=reports_api.auth(acme, user_id=ANA, role="agent")
    )
    assert asking_for_luis.status_code == 404

    elsewhere = figures_of(report(reports_api, other, NOVEMBER))
    assert (elsewhere["new"], elsewhere["closed"], elsewhere["messages_sent"]) == (1, 0, 0)
    stranger = figures_of(report(reports_api, new_id(), NOVEMBER))
    assert stranger["new"] == 0 and stranger["close_time"] == (None, None, None)


def state(reports: RunningService, workspace_id: str) -> tuple[list[Any], list[Any]]:
    with reports.rt.database.unit_of_work() as uow:
        rollup_rows = uow.session.execute(
            select(Rollup.metric, Rollup.day, Rollup.member_id, Rollup.count, Rollup.seconds)
            .where(Rollup.workspace_id == workspace_id, Rollup.count != 0)
            .order_by(Rollup.metric, Rollup.day, Rollup.member_id)
        ).all()
        duration_rows = uow.session.execute(
            select(Duration.subject_id, Duration.metric, Duration.seq, Duration.member_id, Duration.seconds)
            .where(Duration.workspace_id == workspace_id)
            .order_by(Duration.subject_id, Duration.metric, Duration.seq)
        ).all()
    return [tuple(row) for row in rollup_rows], [tuple(row) for row in duration_rows]


def test_late_and_redelivered_events_give_the_same_report_and_a_rebuild_gives_the_same_state(
    reports_api: RunningService,
) -> None:
    in_order, shuffled = new_id(), new_id()
    feed(reports_api, [body for conversation in history(in_order) for body in conversation.deliveries])
    late = [body for conversation in history(shuffled) for body in conversation.deliveries]
    random.Random(7).shuffle(late)
    feed(reports_api, late + late[:9])  # out of order, and some twice

    for query in (NOVEMBER + "&bucket=day", NOVEMBER + "&bucket=month"):
        assert report(reports_api, shuffled, query) == report(reports_api, in_order, query)
    incremental = state(reports_api, shuffled)
    assert len(incremental[1]) == 7  # 3 closes and 4 first responses; nothing of the deleted one

    projection.rebuild(reports_api.rt.database, PROJECTIONS, shuffled, batch=2)

    assert state(reports_api, shuffled) == incremental


def test_deleting_a_conversation_takes_its_past_figures_back(reports_api: RunningService) -> None:
    acme = new_id()
    conversation = Conversation(acme).started(T0, assignee=ANA).from_contact(T0).reply(T0 + MINUTE, ANA)
    feed(reports_api, conversation.archived(T0 + HOUR, ANA).deliveries)
    assert figures_of(report(reports_api, acme, NOVEMBER))["closed"] == 1

    feed(reports_api, conversation.deleted(T0 + 40 * DAY).deliveries[-1:])

    found = figures_of(report(reports_api, acme, NOVEMBER))
    assert (found["new"], found["closed"], found["messages_sent"]) == (0, 0, 0)
    assert found["first_response"] == (None, None, None)


def test_buckets_are_days_in_the_workspaces_time_zone(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, Conversation(acme).started(datetime(2026, 11, 2, 23, 30, tzinfo=UTC)).deliveries)
    with reports_api.rt.database.unit_of_work() as uow:
        from crm_reports.workspaces import ReportWorkspace

        uow.session.get(ReportWorkspace, acme).time_zone = "Asia/Tokyo"  # type: ignore[union-attr]
        uow.commit()
    projection.rebuild(reports_api.rt.database, PROJECTIONS, acme)

    body = report(reports_api, acme, "?from=2026-11-01&to=2026-11-05")

    chart = next(chart for chart in body["charts"] if chart["key"] == "new_series")
    assert (
        dict(zip(chart["categories"], chart["series"][0]["values"], strict=True))["2026-11-03"] == 1
    )  # 08:30 in Tokyo
    assert body["time_zone"] == "Asia/Tokyo"


def test_a_bad_query_is_a_clear_problem(reports_api: RunningService) -> None:
    answer = reports_api.client.get("/v1/reports/conversations?from=2026-13-01", headers=reports_api.auth(new_id()))
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == "from"
    assert reports_api.client.get("/v1/reports/conversations").status_code == 401


def test_one_consumer_batch_of_interleaved_workspaces_gives_what_one_event_at_a_time_gives(
    reports_api: RunningService,
) -> None:
    one_by_one, batched, other = new_id(), new_id(), new_id()
    feed(reports_api, [body for conversation in history(one_by_one) for body in conversation.deliveries])
    mixed = [body for workspace in (batched, other) for c in history(workspace) for body in c.deliveries]
    random.Random(3).shuffle(mixed)  # two workspaces' events interleaved, as a queue holds them
    consumer = IdempotentConsumer("reports", reports_api.rt.database, reports_api.rt.spec.subscriptions, reports_api.rt)
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(reports_api.rt.database.engine, "before_cursor_execute", listen)
    try:
        consumer.handle_batch([Delivery(body=body, event_type=unpack(body).type, attempt=1) for body in mixed])
    finally:
        event.remove(reports_api.rt.database.engine, "before_cursor_execute", listen)

    (rollups_batched, durations_batched), (rollups_one, durations_one) = (
        state(reports_api, workspace) for workspace in (batched, one_by_one)
    )
    assert rollups_batched == rollups_one
    assert sorted(row[1:] for row in durations_batched) == sorted(row[1:] for row in durations_one)  # ids differ
    assert report(reports_api, batched, NOVEMBER) == report(reports_api, one_by_one, NOVEMBER)
    assert summary_of(reports_api, batched) == summary_of(reports_api, one_by_one)  # counted alongside
    assert len(statements) < len(mixed) / 2  # one batch of statements, not a few per event


def summary_of(reports: RunningService, workspace_id: str) -> Any:
    answer = reports.client.get(f"/v1/reports/summary{NOVEMBER}", headers=reports.auth(workspace_id))
    assert answer.status_code == 200
    return answer.get_json()["conversation_messages"]
