"""The views' counts come from counters the write paths keep (conversations.counts): after every kind of change
they say what counting the conversations themselves says (the GROUP BY a search runs), for each caller."""

from __future__ import annotations

from typing import Any

from tests.factories import conversations
from tests.support.stack import ContactsPeer, RunningService


def test_counters_agree_with_counting_the_conversations_after_every_kind_of_change(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    me = conversations.member(contacts_peer_service, acme, "Me Myself")
    luis = conversations.member(contacts_peer_service, acme, "Luis Gil")
    ana = contacts_peer_service.contact(acme, name="Ana López")
    client = conversations_api.client
    mine, luis_h = conversations_api.auth(acme, user_id=me), conversations_api.auth(acme, user_id=luis)

    def counts(headers: dict[str, str], query: str) -> dict[str, Any]:
        answer = client.get(f"/v1/conversations/counts?{query}", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()  # type: ignore[no-any-return]

    def agree() -> dict[str, Any]:
        # q=ana matches every conversation here, and a search is counted over the conversations themselves.
        for headers in (mine, luis_h):
            for status in ("open", "archived", "any"):
                assert counts(headers, f"status={status}") == counts(headers, f"status={status}&q=ana"), status
        return counts(mine, "status=open")

    def start(**extra: Any) -> str:
        answer = client.post("/v1/conversations", json={"contact_id": ana, "subject": "Hello", **extra}, headers=mine)
        assert answer.status_code == 201, answer.get_json()
        return str(answer.get_json()["id"])

    def write(conversation_id: str, headers: dict[str, str]) -> None:
        answer = client.post(f"/v1/conversations/{conversation_id}/messages", json={"body": "hi"}, headers=headers)
        assert answer.status_code == 201, answer.get_json()

    first, second, third, fourth = start(assignee_id=me), start(assignee_id=luis), start(), start(assignee_id=me)
    assert agree()["all"] == {"count": 4, "unread": 0}  # no message yet: nothing unread
    write(first, luis_h)  # the first message: unread for me, read by its author
    write(second, luis_h)
    assert agree()["mine"] == {"count": 2, "unread": 1}
    assert counts(luis_h, "status=open")["all"] == {"count": 4, "unread": 0}
    client.post(f"/v1/conversations/{first}/read", headers=mine)
    assert agree()["all"] == {"count": 4, "unread": 1}  # the second one, Luis's
    write(first, luis_h)  # read to the end no more
    client.post(f"/v1/conversations/{third}/assign", json={"assignee_id": me}, headers=mine)
    client.patch(f"/v1/conversations/{second}", json={"assignee_id": None, "status": "archived"}, headers=mine)
    client.post(f"/v1/conversations/{fourth}/archive", headers=mine)
    assert agree()["mine"] == {"count": 2, "unread": 1}
    assert counts(mine, "status=archived")["all"] == {"count": 2, "unread": 1}
    client.post(f"/v1/conversations/{second}/reopen", headers=mine)
    client.delete(f"/v1/conversations/{first}", headers=mine)
    write(fourth, mine)  # an archived one's first message, by me
    after = agree()
    assert after["all"] == {"count": 2, "unread": 1}
    assert after["unassigned"] == {"count": 1, "unread": 1}
    assert after["members"] == {me: {"count": 1, "unread": 0}}
    assert counts(mine, "status=any")["all"] == {"count": 3, "unread": 1}
    # The contact's reply reopens an archived conversation and counts as its message (the consumer's path).
    client.post(f"/v1/conversations/{third}/archive", headers=mine)
    conversations.inbound(conversations_api, acme, ana, target="conversation", conversation_id=third)
    conversations.inbound(conversations_api, acme, ana)  # a new conversation, unassigned, with its first mail
    reopened = agree()
    assert reopened["mine"] == {"count": 1, "unread": 1}
    assert reopened["unassigned"] == {"count": 2, "unread": 2}


def test_cursor_pages_walk_conversations_of_the_same_latest_activity_once_each_in_id_order(
    conversations_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from crm_conversations.conversations.models import Conversation
    from tests.support.team import every_page

    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    headers = conversations_api.auth(acme)
    started = [
        conversations_api.client.post(
            "/v1/conversations", json={"contact_id": ana, "subject": f"s{n}"}, headers=headers
        ).get_json()["id"]
        for n in range(7)
    ]
    tied, later = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    with conversations_api.rt.database.unit_of_work() as uow:  # five of them at the same instant, two after
        uow.session.execute(update(Conversation).where(Conversation.id.in_(started[:5])).values(last_activity_at=tied))
        uow.session.execute(update(Conversation).where(Conversation.id.in_(started[5:])).values(last_activity_at=later))
        uow.commit()

    pages = every_page(conversations_api, "/v1/conversations", headers, limit=2)

    walked = [c["id"] for page in pages for c in page]
    assert walked == sorted(started[5:], reverse=True) + sorted(started[:5], reverse=True)
    assert [len(page) for page in pages] == [2, 2, 2, 1]
