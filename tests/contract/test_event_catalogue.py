"""The event catalogue (``crm_events``) is the one list of event types, and everything else agrees with it.

Each name is declared once, in the module of the service that publishes it, with a payload message of
that producer's ``protos/crm/events/v1/<producer>.proto``; the comments there and the README's list name
the same events; and no code in ``services/`` or ``libs/platform`` spells an event name as a string.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import crm_events
from crm_events import ALL, PRODUCERS, EventType

REPO = Path(__file__).resolve().parents[2]
EVENT_PROTOS = REPO / "protos" / "crm" / "events" / "v1"
# Where no event name may be written out: every producer and consumer, the platform included.
SCANNED = [REPO / "services", REPO / "libs" / "platform"]
# A string literal that is an event name, or starts one (an f-string such as f"contacts.task.{change}").
NAME_LITERAL = re.compile(r"""["'](contacts|tickets|conversations|mailer|reports)\.[a-z_]+\.([a-z_]+["']|\{)""")


def events_of(module: Any) -> dict[str, EventType[Any]]:
    return {name: value for name, value in vars(module).items() if isinstance(value, EventType)}


def test_every_event_name_is_declared_once() -> None:
    names = Counter(event.name for event in ALL)

    assert [name for name, times in names.items() if times > 1] == []
    assert all(crm_events.by_name(event.name) is event for event in ALL)


@pytest.mark.parametrize("producer", sorted(PRODUCERS))
def test_each_module_declares_only_its_producers_events_named_after_entity_and_verb(producer: str) -> None:
    declared = events_of(PRODUCERS[producer])

    assert declared, f"crm_events.{producer} declares no event"
    for constant, event in declared.items():
        _service, entity, verb = event.name.split(".")
        assert event.producer == producer, f"crm_events.{producer}.{constant} is {event.name}"
        assert constant == f"{entity}_{verb}".upper(), f"{event.name} should be declared as {entity}_{verb}".upper()


@pytest.mark.parametrize("event", ALL, ids=lambda event: event.name)
def test_each_payload_is_a_message_of_its_producers_events_proto(event: EventType[Any]) -> None:
    descriptor = event.payload.DESCRIPTOR

    assert descriptor.full_name == f"crm.events.v1.{descriptor.name}"
    assert descriptor.file.name == f"crm/events/v1/{event.producer}.proto"


def proto_comment_names(proto: Path) -> dict[str, str]:
    """``{event name: message}`` from the comment lines above each message: ``// a.b.c / a.b.d: why`` or
    ``// a.b.c / d / e`` (verbs of the same entity)."""
    named: dict[str, str] = {}
    comments: list[str] = []
    for line in proto.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("//"):
            comments.append(stripped[2:].split(":", 1)[0])
            continue
        message = re.match(r"message (\w+) \{", stripped)
        if message:
            for comment in comments:
                entity = None
                for part in (part.split()[0] if part.split() else "" for part in comment.split("/")):
                    if re.fullmatch(r"[a-z]+\.[a-z_]+\.[a-z_]+", part):
                        entity = part.rsplit(".", 1)[0]
                        named[part] = message.group(1)
                    elif entity is not None and re.fullmatch(r"[a-z_]+", part):
                        named[f"{entity}.{part}"] = message.group(1)
                    else:
                        break
        comments = []
    return named


@pytest.mark.parametrize("producer", sorted(PRODUCERS))
def test_the_event_names_in_the_proto_comments_are_the_catalogues(producer: str) -> None:
    catalogued = {event.name: event.payload.DESCRIPTOR.name for event in events_of(PRODUCERS[producer]).values()}

    assert proto_comment_names(EVENT_PROTOS / f"{producer}.proto") == catalogued


def readme_names() -> set[str]:
    """Every event name the README mentions, ``a.b.{c,d}`` and ``a.b.*`` spelled out against the catalogue."""
    text = (REPO / "README.md").read_text()
    names: set[str] = set()
    for service, entity, verbs in re.findall(
        r"\b(contacts|tickets|conversations|mailer)\.([a-z_]+)\.(\{[a-z_,]+\}|\*|[a-z_]+)", text
    ):
        if verbs == "*":
            expanded = {event.name for event in ALL if event.name.startswith(f"{service}.{entity}.")}
            names |= expanded or {f"{service}.{entity}.*"}
        else:
            names |= {f"{service}.{entity}.{verb}" for verb in verbs.strip("{}").split(",")}
    return names


def test_the_readme_lists_exactly_the_catalogued_events() -> None:
    catalogued = {event.name for event in ALL}

    assert readme_names() - catalogued == set(), "the README names events the catalogue does not have"
    assert catalogued - readme_names() == set(), "the README's list of events lacks these"


def name_literals() -> list[str]:
    found = []
    for root in SCANNED:
        for path in sorted(root.rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if NAME_LITERAL.search(line):
                    found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    return found


def test_no_producer_or_consumer_spells_an_event_name() -> None:
    """Producers emit and consumers subscribe to the catalogue's EventTypes; a written-out name is one typo from
    an event nobody receives."""
    assert name_literals() == []
