"""The summary report: counts built from the other services' events, read over HTTP by date range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import Message

from crm.events.v1 import contacts_pb2, conversations_pb2, mailer_pb2, tickets_pb2
from crm_platform.ids import new_id
from tests.support.stack import RunningService, envelope, problem_fields

ZEROS = {
    "contacts_created": 0,
    "tickets_opened": 0,
    "public_comments": 0,
    "emails_delivered": 0,
    "conversation_messages": 0,
}


def event_of(event_type: str) -> tuple[Message, str]:
    """A realistic payload for each event type the report may see, and its producer."""
    if event_type == "contacts.contact.created":
        return contacts_pb2.ContactCreated(contact_id=new_id(), name="Ana López", email="ana@example.com"), "contacts"
    if event_type == "tickets.ticket.opened":
        return tickets_pb2.TicketOpened(ticket_id=new_id(), contact_id=new_id(), subject="Printer"), "tickets"
    if event_type.startswith("tickets.comment."):
        public = event_type.endswith("public_added")
        return tickets_pb2.CommentAdded(ticket_id=new_id(), comment_id=new_id(), body="hi", public=public), "tickets"
    if event_type == "mailer.message.sent":
        return mailer_pb2.MessageSent(message_id=new_id(), recipient="ana@example.com"), "mailer"
    if event_type == "conversations.message.added":
        return conversations_pb2.ConversationMessageAdded(
            conversation_id=new_id(), message_id=new_id()
        ), "conversations"
    raise AssertionError(f"no factory for {event_type}")


def feed(reports: RunningService, event_type: str, workspace_id: str, when: datetime | None = None) -> bytes:
    payload, producer = event_of(event_type)
    body = envelope(event_type, payload, workspace_id=workspace_id, producer=producer, occurred_at=when)
    reports.consume(body)
    return body


def summary(reports: RunningService, workspace_id: str, query: str = "") -> Any:
    return reports.client.get(f"/v1/reports/summary{query}", headers=reports.auth(workspace_id))


def figures(answer: Any) -> dict[str, int]:
    assert answer.status_code == 200, answer.get_json()
    return {k: v for k, v in answer.get_json().items() if k not in ("from", "to")}


def test_each_counted_event_type_adds_to_its_figure(reports_api: RunningService) -> None:
    acme = new_id()
    for event_type, times in [
        ("contacts.contact.created", 3),
        ("tickets.ticket.opened", 2),
        ("tickets.comment.public_added", 4),
        ("mailer.message.sent", 1),
        ("conversations.message.added", 5),
    ]:
        for _ in range(times):
            feed(reports_api, event_type, acme)

    assert figures(summary(reports_api, acme)) == {
        "contacts_created": 3,
        "tickets_opened": 2,
        "public_comments": 4,
        "emails_delivered": 1,
        "conversation_messages": 5,
    }


def test_private_notes_and_events_nobody_counts_leave_the_summary_unchanged(reports_api: RunningService) -> None:
    acme = new_id()

    feed(reports_api, "tickets.comment.private_added", acme)

    assert figures(summary(reports_api, acme)) == ZEROS


def test_an_event_delivered_twice_is_counted_once(reports_api: RunningService) -> None:
    acme = new_id()
    body = feed(reports_api, "tickets.ticket.opened", acme)

    reports_api.consume(body)

    assert figures(summary(reports_api, acme))["tickets_opened"] == 1


def test_another_workspace_sees_zeros(reports_api: RunningService) -> None:
    acme, globex = new_id(), new_id()
    for event_type in ("contacts.contact.created", "tickets.ticket.opened", "mailer.message.sent"):
        feed(reports_api, event_type, acme)

    assert figures(summary(reports_api, globex)) == ZEROS


def test_bare_date_range_includes_the_whole_to_day_and_nothing_after(reports_api: RunningService) -> None:
    acme = new_id()
    utc = UTC
    feed(reports_api, "contacts.contact.created", acme, datetime(2024, 5, 31, 23, 59, 59, tzinfo=utc))
    feed(reports_api, "contacts.contact.created", acme, datetime(2024, 6, 1, 0, 0, tzinfo=utc))
    feed(reports_api, "contacts.contact.created", acme, datetime(2024, 6, 10, 23, 59, 59, tzinfo=utc))
    feed(reports_api, "contacts.contact.created", acme, datetime(2024, 6, 11, 0, 0, tzinfo=utc))

    answer = summary(reports_api, acme, "?from=2024-06-01&to=2024-06-10")

    assert figures(answer)["contacts_created"] == 2
    assert datetime.fromisoformat(answer.get_json()["from"]) == datetime(2024, 6, 1, tzinfo=utc)
    assert datetime.fromisoformat(answer.get_json()["to"]) == datetime(2024, 6, 11, tzinfo=utc)


def test_date_time_bounds_include_from_and_exclude_to(reports_api: RunningService) -> None:
    acme = new_id()
    noon = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)
    feed(reports_api, "tickets.ticket.opened", acme, noon)
    feed(reports_api, "tickets.ticket.opened", acme, noon + timedelta(hours=1))

    inclusive_start = summary(reports_api, acme, "?from=2024-06-05T12:00:00Z&to=2024-06-05T13:00:00Z")
    shifted_zone = summary(reports_api, acme, "?from=2024-06-05T14:00:00%2B02:00&to=2024-06-05T13:00:01Z")

    assert figures(inclusive_start)["tickets_opened"] == 1
    assert figures(shifted_zone)["tickets_opened"] == 2


def test_default_range_is_the_last_thirty_days(reports_api: RunningService) -> None:
    acme = new_id()
    now = datetime.now(UTC)
    feed(reports_api, "mailer.message.sent", acme, now - timedelta(days=29))
    feed(reports_api, "mailer.message.sent", acme, now - timedelta(days=31))

    answer = summary(reports_api, acme)

    assert figures(answer)["emails_delivered"] == 1
    start, end = (datetime.fromisoformat(answer.get_json()[k]) for k in ("from", "to"))
    assert end - start == timedelta(days=30)


def test_inverted_or_too_long_or_unreadable_range_is_a_problem_on_its_field(reports_api: RunningService) -> None:
    acme = new_id()

    inverted = summary(reports_api, acme, "?from=2024-06-10&to=2024-06-01")
    too_long = summary(reports_api, acme, "?from=2000-01-01&to=2024-06-01")
    unreadable = summary(reports_api, acme, "?to=tomorrow")
    unknown = summary(reports_api, acme, "?since=2024-06-01")

    assert (inverted.status_code, problem_fields(inverted.get_json())) == (422, {"from": "range_inverted"})
    assert (too_long.status_code, problem_fields(too_long.get_json())) == (422, {"from": "range_too_long"})
    assert (unreadable.status_code, list(problem_fields(unreadable.get_json()))) == (422, ["to"])
    assert unknown.status_code == 422
    assert inverted.mimetype == "application/problem+json"
