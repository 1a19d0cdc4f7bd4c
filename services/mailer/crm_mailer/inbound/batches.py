"""What a batch of stored messages shares while it is processed in one transaction (``Pipeline.process_many`` and
``Pipeline.process_next``): its contacts, each sender asked once, and its metrics, added up once it committed."""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from crm_mailer.inbound.contacts import Sender, SenderDirectory
from crm_mailer.inbound.metrics import InboundMetrics

log = logging.getLogger(__name__)

PREFETCH_THREADS = 4  # contacts calls of a batch side by side


class SendersOfBatch:
    """A batch's contacts: each sender (workspace, address) is found or created once for the whole batch, its
    other messages get the same contact (not created by them). ``prefetch`` asks for the batch's senders side by
    side before its messages are processed, one call each, only those the processing will ask for. Failures are
    not kept: the processing asks again, and a failure there rolls the batch back (done again message by
    message)."""

    _pool: ThreadPoolExecutor | None = None
    _pool_lock = threading.Lock()

    def __init__(self, senders: SenderDirectory) -> None:
        self._senders = senders
        self._found: dict[tuple[str, str], Sender] = {}
        self._given: set[tuple[str, str]] = set()

    @classmethod
    def _executor(cls) -> ThreadPoolExecutor:
        with cls._pool_lock:
            if cls._pool is None:
                cls._pool = ThreadPoolExecutor(PREFETCH_THREADS, thread_name_prefix="mailer-inbound-contacts")
            return cls._pool

    def prefetch(self, wanted_senders: Sequence[tuple[str | None, tuple[str, str] | None]]) -> None:
        """``(workspace_id, (address, name))`` of each message, None where it asks for no sender."""
        wanted: dict[tuple[str, str], str] = {}
        for workspace_id, sender in wanted_senders:
            if workspace_id and sender is not None:
                wanted.setdefault((workspace_id, sender[0]), sender[1])
        if len(wanted) < 2:  # one is asked when it is needed
            return

        def ask(key: tuple[str, str], name: str) -> None:
            try:
                self._found[key] = self._senders.find_or_create(workspace_id=key[0], address=key[1], name=name)
            except Exception:
                log.debug("prefetching contact %s failed", key[1], exc_info=True)

        for done in [self._executor().submit(ask, key, name) for key, name in wanted.items()]:
            done.result()

    def find_or_create(self, *, workspace_id: str, address: str, name: str) -> Sender:
        key = (workspace_id, address)
        known = self._found.get(key)
        if known is None:
            known = self._found[key] = self._senders.find_or_create(
                workspace_id=workspace_id, address=address, name=name
            )
        if key in self._given:  # the batch's first message from this sender is the one that created the contact
            return replace(known, created=False)
        self._given.add(key)
        return known

    def workspace_exists(self, workspace_id: str) -> bool:
        return self._senders.workspace_exists(workspace_id)


class Tally:
    """``InboundMetrics`` counted in memory (``tally.kinds.labels("person").inc()``), added to the real counters by
    ``add_up`` once the batch they count committed: a batch rolled back and done again counts once."""

    def __init__(self, metrics: InboundMetrics) -> None:
        self._metrics = metrics
        self._counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def __getattr__(self, name: str) -> TallyCounter:
        return TallyCounter(self._counts, name)

    def add_up(self) -> None:
        for (name, label), amount in self._counts.items():
            getattr(self._metrics, name).labels(label).inc(amount)
        self._counts.clear()


@dataclass(frozen=True)
class TallyCounter:
    counts: collections.Counter[tuple[str, str]]
    name: str
    label: str = ""

    def labels(self, label: str) -> TallyCounter:
        return TallyCounter(self.counts, self.name, label)

    def inc(self, amount: float = 1) -> None:
        self.counts[(self.name, self.label)] += int(amount)
