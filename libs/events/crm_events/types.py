"""What an event type is: its routing key and the protobuf message its payload must be."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import Message

P = TypeVar("P", bound=Message)

# "<service>.<entity>.<past-tense verb>", the routing key on the crm.events exchange.
NAME = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class EventType(Generic[P]):
    """One kind of fact on the bus; ``P`` tells the type checker what its payload is."""

    name: str
    payload: type[P]

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name):
            raise ValueError(f"event type {self.name!r} is not <service>.<entity>.<past-tense verb>")

    @property
    def producer(self) -> str:
        """The only service that may publish it: the first word of its name."""
        return self.name.split(".", 1)[0]

    def __str__(self) -> str:
        return self.name
