"""The event catalogue: every event type on the bus, declared once in the module of the service that publishes it.

``crm_events.contacts.CONTACT_CREATED`` is ``contacts.contact.created`` with its payload message,
``ContactCreated``. Producers emit these, consumers subscribe to them; nobody spells an event name.
This package imports no service and nothing of the platform, so every service may import it.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from crm_events import contacts, conversations, mailer, tickets
from crm_events.types import EventType

__all__ = ["ALL", "PRODUCERS", "EventType", "by_name"]

# One module per producer, named after it.
PRODUCERS: dict[str, ModuleType] = {
    module.__name__.rsplit(".", 1)[1]: module for module in (contacts, tickets, conversations, mailer)
}

ALL: tuple[EventType[Any], ...] = tuple(
    value for module in PRODUCERS.values() for value in vars(module).values() if isinstance(value, EventType)
)

_BY_NAME = {event.name: event for event in ALL}


def by_name(name: str) -> EventType[Any]:
    """The catalogued event type of that name; KeyError for a name nobody publishes."""
    return _BY_NAME[name]
