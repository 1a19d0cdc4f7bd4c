"""A consumer process that dies mid-delivery, on RabbitMQ, with a handler that has no unique constraint.

The worker is a real process (``crashing_worker``), restarted by the test as Kubernetes or the devstack
supervisor would, and ``CRM_FAILPOINTS`` decides where it dies. The handler only inserts a row, so
nothing but the consumer's event-id check keeps an effect from being applied twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.events.v1 import contacts_pb2
from crm_events import EventType
from crm_platform import events
from crm_platform.bus import RetryPolicy
from crm_platform.bus.rabbitmq import RabbitBus
from crm_platform.db import Database
from tests.integration.platform.tiny_service import count, effects, tiny_database

DELIVERY_LIMIT = 3
REPO = Path(__file__).resolve().parents[3]
WORKER_MODULE = "tests.integration.platform.crashing_worker"


@dataclass
class Setup:
    vhost_url: str
    database_url: str
    database: Database
    bus: RabbitBus
    queue: str
    event_type: str

    def packed(self, contact_id: str) -> events.Outgoing:
        event_type = EventType(self.event_type, contacts_pb2.ContactCreated)
        return events.pack(
            event_type,
            contacts_pb2.ContactCreated(contact_id=contact_id),
            workspace_id="ws-1",
            producer=event_type.producer,
        )

    def worker(self, failpoints: str) -> subprocess.Popen[bytes]:
        arguments = [self.vhost_url, self.database_url, self.queue, self.event_type, str(DELIVERY_LIMIT)]
        return subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, *arguments],
            env=dict(os.environ, CRM_FAILPOINTS=failpoints),
            cwd=REPO,
            stderr=subprocess.DEVNULL,
        )

    def applied(self) -> list[str]:
        with self.database.engine.connect() as connection:
            return sorted(connection.scalars(select(effects.c.event_id)))


@pytest.fixture
def setup(vhost_url: str, postgres_url: str) -> Iterator[Setup]:
    event_type = f"t{uuid.uuid4().hex[:8]}.contact.created"
    queue = f"crm.crashtest.{event_type.split('.')[0]}"
    bus = RabbitBus(vhost_url, retry=RetryPolicy(delivery_limit=DELIVERY_LIMIT))
    bus.declare(queue, [event_type])
    database = tiny_database(postgres_url)
    yield Setup(vhost_url, postgres_url, database, bus, queue, event_type)
    bus.delete_queue(queue)
    bus.close()
    database.dispose()


def test_a_worker_that_dies_after_commit_before_ack_recognises_the_redelivery_as_handled(
    setup: Setup, tmp_path: Path
) -> None:
    marker = tmp_path / "crashed"
    crashing = setup.packed("crash-after-commit")
    assert setup.bus.publish(crashing)

    first = setup.worker(f"consumer.after_commit=exit-once:{marker}")
    assert first.wait(60) == 17, "the worker did not die at the failpoint"
    assert setup.applied() == [crashing.event_id]  # committed, but never acknowledged

    restarted = setup.worker(f"consumer.after_commit=exit-once:{marker}")  # the marker: it dies only once
    try:
        following = setup.packed("after-the-restart")
        assert setup.bus.publish(following)
        deadline = time.monotonic() + 30
        while count(setup.database, effects) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the redelivery, handled before the following event, would have applied by now
        assert restarted.poll() is None
    finally:
        restarted.terminate()
        restarted.wait(10)

    assert setup.applied() == sorted([crashing.event_id, following.event_id])
    assert setup.bus.dead_letters(setup.queue) == []
    assert count(setup.database, setup.database.processed_events) == 2


def test_a_message_that_kills_the_worker_every_time_is_dead_lettered_and_the_messages_behind_it_flow(
    setup: Setup,
) -> None:
    """The handler never raises, so only the broker's count of unacknowledged deliveries stops the loop."""
    killer = setup.packed("kills-the-worker")
    behind = [setup.packed(f"innocent-{i}") for i in range(5)]  # prefetched behind the killer
    for message in [killer, *behind]:
        assert setup.bus.publish(message)
    failpoints = f"consumer.before_handle=exit-for:{killer.event_id}"

    crashes = 0
    process = setup.worker(failpoints)

    def restart_if_dead() -> None:
        nonlocal crashes, process
        if process.poll() is None:
            return
        assert process.returncode == 17, "the worker died of something else than the failpoint"
        crashes += 1
        assert crashes <= 3 * DELIVERY_LIMIT, "the broker keeps redelivering the message that kills"
        process = setup.worker(failpoints)

    try:
        deadline = time.monotonic() + 60
        while not setup.bus.dead_letters(setup.queue):
            assert time.monotonic() < deadline, f"still not dead-lettered after {crashes} crashes"
            restart_if_dead()
            time.sleep(0.2)
        deadline = time.monotonic() + 15
        while count(setup.database, effects) < len(behind) and time.monotonic() < deadline:
            restart_if_dead()
            time.sleep(0.2)
        time.sleep(0.5)  # a redelivery the dead-lettering raced with would kill the worker now
        assert process.poll() is None, "the worker was killed again after the message was dead-lettered"
    finally:
        process.terminate()
        process.wait(10)

    parked = setup.bus.dead_letters(setup.queue)
    assert [(p.event_id, p.reason) for p in parked] == [(killer.event_id, "broker: delivery_limit")]
    assert crashes == DELIVERY_LIMIT + 1
    assert setup.applied() == sorted(m.event_id for m in behind)  # each once, none dead-lettered with the killer
