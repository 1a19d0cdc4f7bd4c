"""The rules of unread notifications and presence: who is told, when, and what the email says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_conversations.notifications import rules
from crm_conversations.notifications.rules import Decision, notification_due
from crm_conversations.presence.rules import is_connected

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DUE = T0 + timedelta(minutes=5)


def test_a_contacts_message_on_an_assigned_conversation_notifies_the_assignee() -> None:
    assert rules.recipient(direction="inbound", author_type="contact", assignee_id="luis") == "luis"
    assert rules.recipient(direction="inbound", author_type="visitor", assignee_id="luis") == "luis"


def test_an_unassigned_conversation_notifies_nobody() -> None:
    assert rules.recipient(direction="inbound", author_type="contact", assignee_id=None) is None
    assert rules.recipient(direction="inbound", author_type="contact", assignee_id="") is None


def test_a_members_own_message_or_note_notifies_nobody() -> None:
    assert rules.recipient(direction="outbound", author_type="member", assignee_id="luis") is None
    assert rules.recipient(direction="note", author_type="member", assignee_id="luis") is None


def test_the_notification_is_due_the_workspaces_delay_after_the_bursts_first_message() -> None:
    assert rules.due_at(T0, 300) == DUE
    assert rules.due_at(T0, 0) == T0


def test_before_the_delay_it_waits() -> None:
    decision = notification_due(
        due=DUE, now=DUE - timedelta(seconds=1), read_count=None, message_position=3, connected=False
    )
    assert decision is Decision.WAIT


def test_an_unread_message_of_a_member_not_connected_is_sent_when_due() -> None:
    assert notification_due(due=DUE, now=DUE, read_count=2, message_position=3, connected=False) is Decision.SEND
    assert notification_due(due=DUE, now=DUE, read_count=None, message_position=1, connected=False) is Decision.SEND


def test_a_read_marker_at_or_after_the_message_drops_it() -> None:
    assert notification_due(due=DUE, now=DUE, read_count=3, message_position=3, connected=False) is Decision.READ
    assert notification_due(due=DUE, now=DUE, read_count=4, message_position=3, connected=False) is Decision.READ


def test_a_member_connected_when_it_comes_due_is_not_mailed() -> None:
    assert notification_due(due=DUE, now=DUE, read_count=None, message_position=3, connected=True) is Decision.CONNECTED


def test_a_member_counts_as_connected_while_any_replicas_heartbeat_is_fresh() -> None:
    now = T0 + timedelta(minutes=10)
    stale, fresh = now - timedelta(seconds=91), now - timedelta(seconds=89)
    assert is_connected([stale, fresh], now=now, heartbeat_seconds=30)
    assert not is_connected([stale], now=now, heartbeat_seconds=30)
    assert not is_connected([], now=now, heartbeat_seconds=30)


def test_the_excerpt_is_one_line_cut_at_a_word() -> None:
    assert rules.excerpt("Any\n  news   about it?") == "Any news about it?"
    cut = rules.excerpt("word " * 100, limit=22)
    assert cut == "word word word word\N{HORIZONTAL ELLIPSIS}"


def test_the_email_names_the_conversation_the_contact_the_excerpt_and_links_to_it() -> None:
    link = rules.link_of("https://crm.example.com/c/{conversation_id}", "c-1")
    mail = rules.mail(subject="Invoice 42", contact="Ana López", latest="Any news?", unread=2, link=link)
    assert "Ana López" in mail.subject and "Invoice 42" in mail.subject
    assert "> Any news?" in mail.text_body
    assert "https://crm.example.com/c/c-1" in mail.text_body
    assert "2 unread messages" in mail.text_body
