"""The transport-independent rules of the bus: topic matching and retry back-off."""

from __future__ import annotations

import pytest

from crm_platform.bus import RetryPolicy, queue_name, topic_matches


@pytest.mark.parametrize(
    ("pattern", "routing_key", "matches"),
    [
        ("contacts.contact.created", "contacts.contact.created", True),
        ("contacts.contact.created", "contacts.contact.updated", False),
        ("contacts.*.created", "contacts.contact.created", True),
        ("contacts.*.created", "contacts.contact.note.created", False),
        ("contacts.*", "contacts", False),
        ("*.contact.created", "contacts.contact.created", True),
        ("contacts.#", "contacts", True),
        ("contacts.#", "contacts.contact.note.created", True),
        ("#", "anything.at.all", True),
        ("#.created", "contacts.contact.created", True),
        ("#.created", "contacts.contact.created.late", False),
        ("contacts.#.created", "contacts.created", True),
        ("tickets.#", "contacts.contact.created", False),
        ("contacts.contact", "contacts.contact.created", False),
    ],
)
def test_topic_patterns_match_like_amqp(pattern: str, routing_key: str, matches: bool) -> None:
    assert topic_matches(pattern, routing_key) is matches


def test_retry_delay_doubles_from_the_base_delay() -> None:
    policy = RetryPolicy(base_delay=0.5)

    assert [policy.delay(attempt) for attempt in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]


def test_retry_delay_is_capped_at_the_max_delay() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)

    assert policy.delay(4) == 8.0
    assert policy.delay(5) == 10.0
    assert policy.delay(30) == 10.0


def test_each_service_has_one_queue_named_after_it() -> None:
    assert queue_name("contacts") == "crm.contacts"
