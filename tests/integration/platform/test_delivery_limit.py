"""A message that kills its consumer every time is dead-lettered by RabbitMQ after ``x-delivery-limit``.

The handler never raises, so the consumer's own retries never see it: only the broker's count of
unacknowledged deliveries stops the crash loop. The worker is a real process, restarted by the test
as Kubernetes or the devstack supervisor would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from crm.events.v1 import contacts_pb2
from crm_platform import events
from crm_platform.bus import RetryPolicy
from crm_platform.bus.rabbitmq import RabbitBus
from tests.integration.platform.tiny_service import count, effects, tiny_database

DELIVERY_LIMIT = 3
REPO = Path(__file__).resolve().parents[3]
WORKER_MODULE = "tests.integration.platform.crashing_worker"


def worker(vhost_url: str, database_url: str, queue: str, event_type: str, killer: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, CRM_FAILPOINTS=f"consumer.before_handle=exit-for:{killer}")
    return subprocess.Popen(
        [sys.executable, "-m", WORKER_MODULE, vhost_url, database_url, queue, event_type, str(DELIVERY_LIMIT)],
        env=env,
        cwd=REPO,
        stderr=subprocess.DEVNULL,
    )


def test_a_message_that_kills_the_worker_every_time_is_dead_lettered_and_the_messages_behind_it_flow(
    vhost_url: str, postgres_url: str
) -> None:
    event_type = f"t{uuid.uuid4().hex[:8]}.contact.created"
    queue = f"crm.crashtest.{event_type.split('.')[0]}"
    bus = RabbitBus(vhost_url, retry=RetryPolicy(delivery_limit=DELIVERY_LIMIT))
    bus.declare(queue, [event_type])
    database = tiny_database(postgres_url)

    def packed(contact_id: str) -> events.Outgoing:
        return events.pack(
            event_type, contacts_pb2.ContactCreated(contact_id=contact_id), workspace_id="ws-1", producer="contacts"
        )

    killer = packed("kills-the-worker")
    behind = [packed(f"innocent-{i}") for i in range(5)]  # prefetched behind the killer
    for message in [killer, *behind]:
        assert bus.publish(message)

    crashes = 0
    process = worker(vhost_url, postgres_url, queue, event_type, killer.event_id)

    def restart_if_dead() -> None:
        nonlocal crashes, process
        if process.poll() is None:
            return
        assert process.returncode == 17, "the worker died of something else than the failpoint"
        crashes += 1
        assert crashes <= 3 * DELIVERY_LIMIT, "the broker keeps redelivering the message that kills"
        process = worker(vhost_url, postgres_url, queue, event_type, killer.event_id)

    try:
        deadline = time.monotonic() + 60
        while not bus.dead_letters(queue):
            assert time.monotonic() < deadline, f"still not dead-lettered after {crashes} crashes"
            restart_if_dead()
            time.sleep(0.2)
        deadline = time.monotonic() + 15
        while count(database, effects) < len(behind) and time.monotonic() < deadline:
            restart_if_dead()
            time.sleep(0.2)
        time.sleep(0.5)  # a redelivery the dead-lettering raced with would kill the worker now
        assert process.poll() is None, "the worker was killed again after the message was dead-lettered"
    finally:
        process.terminate()
        process.wait(10)

    parked = bus.dead_letters(queue)
    assert [(p.event_id, p.reason) for p in parked] == [(killer.event_id, "broker: delivery_limit")]
    assert crashes == DELIVERY_LIMIT + 1
    with database.engine.connect() as connection:
        applied = sorted(connection.scalars(effects.select().with_only_columns(effects.c.event_id)))
    assert applied == sorted(m.event_id for m in behind)  # each once, none dead-lettered with the killer
    bus.delete_queue(queue)
    bus.close()
    database.dispose()
