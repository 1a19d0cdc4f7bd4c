"""The bus contract, run against both transports: RabbitMQ (microservices) and the local SQLite bus (all-in-one)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from crm_platform.bus import Bus, Delivery, RetryPolicy
from crm_platform.bus.local import LocalBus
from crm_platform.bus.rabbitmq import RabbitBus
from crm_platform.events import Outgoing

RETRY = RetryPolicy(max_attempts=3, base_delay=0.05)
WAIT = 15.0

BusFactory = Callable[[], Bus]


@pytest.fixture(params=["rabbitmq", "local"])
def new_bus(request, tmp_path) -> Iterator[BusFactory]:  # type: ignore[no-untyped-def]
    """Opens one connection per caller (a bus connection belongs to one thread)."""
    opened: list[Bus] = []
    if request.param == "rabbitmq":
        url = request.getfixturevalue("vhost_url")

        def factory() -> Bus:
            opened.append(RabbitBus(url, retry=RETRY))
            return opened[-1]
    else:
        url = f"sqlite:///{tmp_path}/bus.db"

        def factory() -> Bus:
            opened.append(LocalBus(url, retry=RETRY))
            return opened[-1]

    yield factory
    for bus in opened:
        bus.close()


@pytest.fixture
def prefix() -> str:
    """A first routing-key word no other test uses, so bindings of one test never catch another's events."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def queue(prefix: str) -> str:
    return f"crm.contract.{prefix}"


def message(event_type: str) -> Outgoing:
    event_id = str(uuid.uuid4())
    return Outgoing(event_id, event_type, "ws-1", f"body of {event_id}".encode())


class Recorder:
    """A handler that records deliveries and fails as long as ``should_fail`` says so."""

    def __init__(self, should_fail: Callable[[Delivery], bool] = lambda delivery: False) -> None:
        self.should_fail = should_fail
        self.deliveries: list[tuple[float, Delivery]] = []
        self.lock = threading.Lock()

    def __call__(self, delivery: Delivery) -> None:
        with self.lock:
            self.deliveries.append((time.monotonic(), delivery))
        if self.should_fail(delivery):
            raise ValueError(f"cannot handle {delivery.body.decode()}")

    def of(self, body: bytes) -> list[Delivery]:
        with self.lock:
            return [d for _, d in self.deliveries if d.body == body]

    def bodies(self) -> set[bytes]:
        with self.lock:
            return {d.body for _, d in self.deliveries}


@contextmanager
def consuming(new_bus: BusFactory, queue: str, handler: Recorder) -> Iterator[threading.Thread]:
    stop = threading.Event()
    bus = new_bus()
    thread = threading.Thread(target=bus.consume, args=(queue, handler), kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=10)


def eventually(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.02)


def test_publish_answers_true_when_a_queue_is_bound_and_false_when_none(new_bus, queue, prefix) -> None:  # type: ignore[no-untyped-def]
    bus = new_bus()
    bus.declare(queue, [f"{prefix}.contact.created"])

    assert bus.publish(message(f"{prefix}.contact.created")) is True
    assert bus.publish(message(f"{prefix}.contact.deleted")) is False


def test_topic_bindings_match_star_as_exactly_one_word_and_hash_as_any_number(new_bus, queue, prefix) -> None:  # type: ignore[no-untyped-def]
    bus = new_bus()
    bus.declare(queue, [f"{prefix}.*.created", f"{prefix}.tickets.#"])
    routed = {
        f"{prefix}.contact.created": True,
        f"{prefix}.contact.updated": False,
        f"{prefix}.contact.note.created": False,  # * is one word, not two
        f"{prefix}.tickets": True,  # # matches zero words
        f"{prefix}.tickets.comment.public_added": True,
    }
    sent = {event_type: message(event_type) for event_type in routed}

    answers = {event_type: bus.publish(outgoing) for event_type, outgoing in sent.items()}

    assert answers == routed
    handler = Recorder()
    expected = {sent[t].body for t, ok in routed.items() if ok}
    with consuming(new_bus, queue, handler):
        eventually(lambda: handler.bodies() == expected)
        time.sleep(0.3)  # nothing unexpected arrives late
    assert {d.event_type for _, d in handler.deliveries} == {t for t, ok in routed.items() if ok}


def test_every_published_message_is_delivered_at_least_once(new_bus, queue, prefix) -> None:  # type: ignore[no-untyped-def]
    bus = new_bus()
    bus.declare(queue, [f"{prefix}.#"])
    sent = [message(f"{prefix}.contact.created") for _ in range(25)]
    for outgoing in sent:
        assert bus.publish(outgoing)
    handler = Recorder()

    with consuming(new_bus, queue, handler):
        eventually(lambda: handler.bodies() >= {m.body for m in sent})

    assert all(d.attempt == 1 for _, d in handler.deliveries)


def test_a_failing_handler_is_retried_with_back_off_and_a_growing_attempt_number_until_it_succeeds(
    new_bus, queue, prefix
) -> None:  # type: ignore[no-untyped-def]
    bus = new_bus()
    bus.declare(queue, [f"{prefix}.#"])
    flaky = message(f"{prefix}.contact.created")
    handler = Recorder(should_fail=lambda delivery: delivery.attempt < 3)
    bus.publish(flaky)

    with consuming(new_bus, queue, handler):
        eventually(lambda: len(handler.of(flaky.body)) == 3)
        time.sleep(0.3)  # the third attempt succeeded: no fourth one comes

    times = [at for at, d in handler.deliveries]
    assert [d.attempt for _, d in handler.deliveries] == [1, 2, 3]
    assert times[1] - times[0] >= RETRY.delay(1) * 0.8
    assert times[2] - times[1] >= RETRY.delay(2) * 0.8
    assert bus.dead_letters(queue) == []


def test_a_message_that_always_fails_is_dead_lettered_with_its_error_while_later_messages_still_flow(
    new_bus, queue, prefix
) -> None:  # type: ignore[no-untyped-def]
    bus = new_bus()
    bus.declare(queue, [f"{prefix}.#"])
    poison = message(f"{prefix}.contact.poisoned")
    good = [message(f"{prefix}.contact.created") for _ in range(3)]
    handler = Recorder(should_fail=lambda delivery: delivery.body == poison.body)
    bus.publish(poison)

    with consuming(new_bus, queue, handler):
        for outgoing in good:
            bus.publish(outgoing)
        eventually(lambda: len(bus.dead_letters(queue)) == 1)
        eventually(lambda: handler.bodies() >= {m.body for m in good})

    [dead] = bus.dead_letters(queue)
    assert dead.event_id == poison.event_id
    assert dead.event_type == poison.event_type
    assert dead.body == poison.body
    assert dead.reason == f"ValueError: cannot handle {poison.body.decode()}"
    assert dead.attempts == RETRY.max_attempts
    assert [d.attempt for d in handler.of(poison.body)] == [1, 2, 3]


def test_replaying_dead_letters_delivers_them_again_and_empties_the_dead_letter_queue(new_bus, queue, prefix) -> None:  # type: ignore[no-untyped-def]
    bus = new_bus()
    bus.declare(queue, [f"{prefix}.#"])
    poison = message(f"{prefix}.contact.poisoned")
    broken = threading.Event()
    broken.set()
    handler = Recorder(should_fail=lambda delivery: broken.is_set())
    bus.publish(poison)

    with consuming(new_bus, queue, handler):
        eventually(lambda: len(bus.dead_letters(queue)) == 1)
        broken.clear()  # the operator fixed the bug

        replayed = bus.replay_dead_letters(queue)

        assert replayed == 1
        eventually(lambda: len(handler.of(poison.body)) == 4)
        eventually(lambda: bus.dead_letters(queue) == [])
    assert handler.of(poison.body)[-1].attempt == 1


def test_consume_returns_once_the_stop_event_is_set(new_bus, queue, prefix) -> None:  # type: ignore[no-untyped-def]
    bus = new_bus()
    bus.declare(queue, [f"{prefix}.#"])
    stop = threading.Event()
    consumer = new_bus()
    thread = threading.Thread(target=consumer.consume, args=(queue, Recorder()), kwargs={"stop": stop}, daemon=True)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()

    stop.set()
    thread.join(timeout=3)

    assert not thread.is_alive()


def test_publish_many_answers_for_each_message_in_order_and_every_routed_one_arrives(new_bus, queue, prefix) -> None:  # type: ignore[no-untyped-def]
    bus = new_bus()
    bus.declare(queue, [f"{prefix}.contact.*"])
    sent = [message(f"{prefix}.contact.created" if n % 3 else f"{prefix}.nobody.hears") for n in range(30)]

    answers = bus.publish_many(sent)

    assert answers == [bool(n % 3) for n in range(30)]
    handler = Recorder()
    with consuming(new_bus, queue, handler):
        eventually(lambda: handler.bodies() == {m.body for n, m in enumerate(sent) if n % 3})


class BatchRecorder:
    """A batch handler that applies a whole batch, or nothing when one of its messages is the poison."""

    def __init__(self, poison: bytes) -> None:
        self.poison = poison
        self.sizes: list[int] = []
        self.failed: list[int] = []
        self.applied: list[bytes] = []

    def __call__(self, deliveries) -> None:  # type: ignore[no-untyped-def]
        self.sizes.append(len(deliveries))
        time.sleep(0.05)  # a handler's work, meanwhile the broker sends the next messages
        if any(d.body == self.poison for d in deliveries):
            self.failed.append(len(deliveries))
            raise ValueError("the batch holds the poison")
        self.applied.extend(d.body for d in deliveries)


def test_a_batch_with_a_poison_message_is_handled_again_one_by_one_and_only_the_poison_is_dead_lettered(
    new_bus, queue, prefix, request
) -> None:  # type: ignore[no-untyped-def]
    bus = new_bus()
    bus.declare(queue, [f"{prefix}.#"])
    good = [message(f"{prefix}.contact.created") for _ in range(60)]
    poison = message(f"{prefix}.contact.poisoned")
    for outgoing in [*good[:30], poison, *good[30:]]:  # already waiting, so a prefetch takes several at once
        assert bus.publish(outgoing)
    alone = Recorder(should_fail=lambda delivery: delivery.body == poison.body)
    batches = BatchRecorder(poison.body)

    def applied() -> list[bytes]:
        return batches.applied + [d.body for _, d in alone.deliveries if d.body != poison.body]

    stop = threading.Event()
    consumer = new_bus()
    thread = threading.Thread(
        target=consumer.consume, args=(queue, alone), kwargs={"stop": stop, "batch": batches}, daemon=True
    )
    thread.start()
    try:
        eventually(lambda: len(bus.dead_letters(queue)) == 1)
        eventually(lambda: len(applied()) >= len(good))
    finally:
        stop.set()
        thread.join(timeout=10)

    assert sorted(applied()) == sorted(m.body for m in good)  # each once: a failed batch applied nothing
    [dead] = bus.dead_letters(queue)
    assert (dead.event_id, dead.reason) == (poison.event_id, f"ValueError: cannot handle {poison.body.decode()}")
    if "rabbitmq" in request.node.callspec.id:
        assert max(batches.sizes) > 1, "RabbitMQ handed no batch"
        assert batches.failed and batches.failed[0] > 1, f"the poison never came in a batch with others {batches.sizes}"
    else:
        assert batches.sizes == [], "the local bus hands one message at a time"
    again = Recorder()
    with consuming(new_bus, queue, again):  # every message of a batch was acknowledged: none comes back
        time.sleep(1.0)
    assert again.deliveries == []
