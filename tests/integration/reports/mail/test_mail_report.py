"""The mail report read over HTTP, fed by the mailer's events as the bus hands them over."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import select

from crm.events.v1 import mailer_pb2
from crm_platform.ids import new_id
from crm_reports import projection
from crm_reports.app import PROJECTIONS
from crm_reports.rollups import Rollup
from tests.support.stack import RunningService, envelope

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
RANGE = "from=2026-05-04&to=2026-05-06"


def event(ws: str, kind: str, payload: Message, days: float) -> bytes:
    return envelope(
        f"mailer.{kind}", payload, workspace_id=ws, producer="mailer", occurred_at=T0 + timedelta(days=days)
    )


def sent(ws: str, message: str, days: float, kind: str = "ticket_comment") -> bytes:
    payload = mailer_pb2.MessageSent(
        message_id=message, rfc822_message_id=f"<{message}@mail.example>", recipient="ana@example.com", kind=kind
    )
    return event(ws, "message.sent", payload, days)


def story(ws: str) -> list[bytes]:
    """May 4: four sent (one direct); a DSN on the 6th bounces one of them (matched by its Message-ID only), a
    VERP bounce on the 5th another (by the mailer's id); a hard refusal at sending; a complaint, an
    unsubscribe and a suppressed message on the 5th."""
    first, second, third, fourth = (new_id() for _ in range(4))
    return [
        sent(ws, first, 0),
        sent(ws, second, 0),
        sent(ws, third, 0.1),
        sent(ws, fourth, 0.2, kind="direct"),
        event(
            ws,
            "delivery.bounced",
            mailer_pb2.DeliveryBounced(
                recipient="x@example.com", kind="mailbox_full", rfc822_message_id=f"<{second}@mail.example>"
            ),
            2,
        ),
        event(
            ws,
            "delivery.bounced",
            mailer_pb2.DeliveryBounced(recipient="y@example.com", kind="soft", message_id=third),
            1,
        ),
        event(
            ws,
            "delivery.bounced",
            mailer_pb2.DeliveryBounced(
                recipient="z@example.com", kind="hard", rfc822_message_id=f"<{new_id()}@mail.example>"
            ),
            0.3,
        ),
        event(ws, "recipient.complained", mailer_pb2.RecipientComplained(recipient="ana@example.com"), 1),
        event(ws, "recipient.unsubscribed", mailer_pb2.RecipientUnsubscribed(recipient="ana@example.com"), 1),
        event(ws, "message.suppressed", mailer_pb2.MessageSuppressed(message_id=new_id(), reason="blocked"), 1),
    ]


def read(reports: RunningService, ws: str, query: str = RANGE, **auth: Any) -> Any:
    answer = reports.client.get(f"/v1/reports/mail?{query}", headers=reports.auth(ws, **auth))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def values(body: Any) -> dict[str, Any]:
    return {f["key"]: f["value"] for f in body["figures"]}


def table(body: Any, key: str) -> list[dict[str, Any]]:
    return next(t["rows"] for t in body["tables"] if t["key"] == key)


def feed(reports: RunningService, bodies: list[bytes]) -> None:
    for body in bodies:
        reports.consume(body)


def test_sent_delivered_bounced_and_the_rest_per_day(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, story(acme))

    body = read(reports_api, acme)

    assert values(body) == {
        "sent": 4,
        "delivered": 2,
        "bounced": 3,
        "bounced_hard": 1,
        "bounced_soft": 2,
        "complained": 1,
        "unsubscribed": 1,
        "suppressed": 1,
        "delivery_rate": 0.5,
    }
    assert [
        (r["bucket"], r["sent"], r["delivered"], r["bounced"], r["complained"]) for r in table(body, "over_time")
    ] == [
        ("2026-05-04", 4, 2, 1, 0),
        ("2026-05-05", 0, 0, 1, 1),
        ("2026-05-06", 0, 0, 1, 0),
    ]
    assert {row["kind"]: (row["sent"], row["delivered"]) for row in table(body, "by_kind")} == {
        "ticket_comment": (3, 1),
        "direct": (1, 1),
    }
    assert table(body, "suppressed") == [{"reason": "blocked", "messages": 1}]


def test_a_bounce_arriving_later_takes_its_message_out_of_delivered(reports_api: RunningService) -> None:
    acme = new_id()
    bodies = story(acme)
    feed(reports_api, bodies[:4])
    assert values(read(reports_api, acme))["delivered"] == 4

    feed(reports_api, bodies[4:])

    assert values(read(reports_api, acme, "from=2026-05-04&to=2026-05-04"))["delivered"] == 2


def test_an_agent_sees_the_workspaces_mail_and_the_note_says_why(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, story(acme))

    as_agent = read(reports_api, acme, user_id="bea", role="agent")
    as_admin = read(reports_api, acme, f"{RANGE}&member=bea")

    assert as_agent["member_id"] is None and as_admin["member_id"] is None
    assert values(as_agent) == values(as_admin) == values(read(reports_api, acme))
    assert any("no member" in note for note in as_agent["notes"])
    refused = reports_api.client.get(
        f"/v1/reports/mail?{RANGE}&member=ana", headers=reports_api.auth(acme, user_id="bea", role="agent")
    )
    assert refused.status_code == 404


def test_another_workspace_sees_none_of_it(reports_api: RunningService) -> None:
    acme, other = new_id(), new_id()
    feed(reports_api, story(acme))

    found = values(read(reports_api, other))

    assert found["sent"] == found["bounced"] == found["complained"] == 0
    assert found["delivery_rate"] is None


def test_late_and_redelivered_events_give_the_same_figures(reports_api: RunningService) -> None:
    in_order, shuffled = new_id(), new_id()
    feed(reports_api, story(in_order))
    bodies = story(shuffled)
    random.Random(11).shuffle(bodies)
    feed(reports_api, bodies + bodies[:6])

    def figures_of(ws: str) -> Any:
        body = read(reports_api, ws)
        return body["figures"], body["tables"], body["charts"]

    assert figures_of(shuffled) == figures_of(in_order)


def test_rebuild_gives_what_incremental_ingest_gave(reports_api: RunningService) -> None:
    acme = new_id()
    bodies = story(acme) + story(acme)
    random.Random(5).shuffle(bodies)
    feed(reports_api, bodies)
    incremental, report = rollups_of(reports_api, acme), read(reports_api, acme)

    projection.rebuild(reports_api.rt.database, PROJECTIONS, acme, batch=3)

    assert rollups_of(reports_api, acme) == incremental
    assert read(reports_api, acme) == report


def rollups_of(reports: RunningService, ws: str) -> list[Any]:
    with reports.rt.database.unit_of_work() as uow:
        rows = uow.session.execute(
            select(Rollup.metric, Rollup.day, Rollup.dimension, Rollup.count)
            .where(Rollup.workspace_id == ws, Rollup.count != 0)
            .order_by(Rollup.metric, Rollup.day, Rollup.dimension)
        ).all()
    assert rows
    return [tuple(row) for row in rows]
