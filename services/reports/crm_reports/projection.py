"""The one way figures are kept: facts in, each touched subject derived again, the difference applied.

A *projection* (one per report feature) owns some fact kinds and derives, from all the facts of one subject in
the order things happened, what that subject contributes to the rollups and which durations it has. It is a pure
function, unit-tested without a database. The engine:

- ``ingest`` (``subscribe`` wires an event type to it): keeps new facts (redelivered ones are left out),
  derives each touched subject twice, without and with its new facts, adds the difference to the rollups and
  replaces the subject's durations. Derivation reads all of a subject's facts, so a late event (one that
  happened before facts already kept) lands in its place.
- ``rebuild``: forgets a workspace's rollups and durations and derives every subject again from the facts, which
  gives exactly what the incremental updates gave (a test checks it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from google.protobuf.message import Message
from sqlalchemy import delete, select

from crm_events import EventType
from crm_platform.consumer import BatchEventHandler, BatchGroup, EventHandler, Subscriptions
from crm_platform.db import Database, UnitOfWork
from crm_platform.events import Event
from crm_reports import durations, facts, rollups, workspaces
from crm_reports.durations import DurationRow
from crm_reports.facts import Fact, FactRow
from crm_reports.rollups import Contribution
from crm_reports.workspaces import Context


@dataclass(frozen=True)
class Derived:
    """What one subject's facts amount to."""

    contributions: Sequence[Contribution] = ()
    durations: Sequence[DurationRow] = ()


NOTHING = Derived()
P = TypeVar("P", bound=Message)
ToFacts = Callable[[Event[P]], list[FactRow]]


class Projection(Protocol):
    name: str  # short, stored with the durations: "conversations", "tickets", "funnel", "mail"
    kinds: frozenset[str]  # the fact kinds (event type names) it derives from

    def derive(self, subject_facts: Sequence[FactRow], context: Context) -> Derived:
        """What the subject's facts (in the order things happened, only this projection's kinds) amount to."""
        ...


def _derive(projection: Projection, subject_facts: Sequence[FactRow], context: Context) -> Derived:
    own = [fact for fact in subject_facts if fact.kind in projection.kinds]
    return projection.derive(facts.in_order(own), context) if own else NOTHING


def ingest(uow: UnitOfWork, projection: Projection, new_facts: Sequence[FactRow]) -> int:
    """Keep these facts (of ``projection``'s kinds) and bring every figure they touch up to date, in the open
    transaction; returns how many facts were new."""
    return ingest_many(uow, [(projection, new_facts)])


def ingest_many(uow: UnitOfWork, work: Sequence[tuple[Projection, Sequence[FactRow]]]) -> int:
    """``ingest`` for several projections' facts at once, with a fixed number of statements whatever the
    workspaces and subjects: one INSERT of the facts, one lock of the workspaces, one read of the touched
    subjects' facts, one DELETE and INSERT of durations per projection, one upsert of the rollups."""
    for projection, found in work:
        if stray := {fact.kind for fact in found} - projection.kinds:
            raise ValueError(f"{projection.name} does not derive from {sorted(stray)}")
    kept = {(fact.event_id, fact.subject_id) for fact in facts.record(uow, [f for _, found in work for f in found])}
    # projection -> (workspace, subject) -> its new event ids
    touched: dict[str, dict[tuple[str, str], set[str]]] = defaultdict(lambda: defaultdict(set))
    by_name: dict[str, Projection] = {}
    for projection, found in work:
        by_name[projection.name] = projection
        for fact in found:
            if (fact.event_id, fact.subject_id) in kept:
                touched[projection.name][(fact.workspace_id, fact.subject_id)].add(fact.event_id)
    if not touched:
        return 0
    pairs = {pair for subjects in touched.values() for pair in subjects}
    contexts = workspaces.lock_many(uow, [workspace for workspace, _subject in pairs])
    everything = facts.of_pairs(uow, pairs)
    before: dict[str, list[Contribution]] = defaultdict(list)
    after: dict[str, list[Contribution]] = defaultdict(list)
    for name in sorted(touched):
        projection, now_durations = by_name[name], {}
        for (workspace_id, subject), new_ids in touched[name].items():
            subject_facts, context = everything.get((workspace_id, subject), []), contexts[workspace_id]
            old = [fact for fact in subject_facts if fact.event_id not in new_ids]
            was, now = _derive(projection, old, context), _derive(projection, subject_facts, context)
            before[workspace_id].extend(was.contributions)
            after[workspace_id].extend(now.contributions)
            if list(now.durations) != list(was.durations):  # what is stored is what the old facts gave
                now_durations[(workspace_id, subject)] = now.durations
        if now_durations:
            durations.replace_many(uow, projection=name, rows=now_durations)
    rollups.add_all(
        uow,
        {
            workspace_id: rollups.difference(
                rollups.totals(before[workspace_id], contexts[workspace_id].zone),
                rollups.totals(after[workspace_id], contexts[workspace_id].zone),
            )
            for workspace_id in sorted(after.keys() | before.keys())
        },
    )
    return len(kept)


@dataclass
class Intake:
    """Every event type the service's projections derive from, with its projection and ``to_facts``, and the
    handlers other features apply alongside (the summary's counts): the consumer hands a run of any of these
    types, of any workspace, to one ``ingest_many`` (events arrive interleaved, so runs of one type and one
    workspace would be runs of one)."""

    routes: dict[str, tuple[Projection, ToFacts[Any]]] = field(default_factory=dict)
    alongside: dict[str, list[tuple[EventHandler[Any], BatchEventHandler[Any]]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.group = BatchGroup("reports.projections", self.batch)

    def register(self, subscriptions: Subscriptions, event_type: EventType[Any]) -> None:
        if event_type.name not in subscriptions.handlers:  # once per type: the handler reads the routes
            subscriptions.on(event_type, group=self.group)(self.one)

    def one(self, rt: Any, uow: UnitOfWork, event: Event[Any]) -> None:
        self.batch(rt, uow, [event])

    def batch(self, rt: Any, uow: UnitOfWork, batch: Sequence[Event[Any]]) -> None:
        by_projection: dict[str, tuple[Projection, list[FactRow]]] = {}
        for event in batch:
            route = self.routes.get(event.type.name)
            if route is not None:
                by_projection.setdefault(route[0].name, (route[0], []))[1].extend(route[1](event))
        ingest_many(uow, [by_projection[name] for name in sorted(by_projection)])
        # A batch form registered for several types (the summary's count of every event) gets their events
        # together, in the batch's order: one statement, not one a type.
        runs: dict[int, tuple[EventHandler[Any], BatchEventHandler[Any], list[Event[Any]]]] = {}
        for event in batch:
            for handler, many in self.alongside.get(event.type.name, ()):
                runs.setdefault(id(many), (handler, many, []))[2].append(event)
        for handler, many, of_types in runs.values():
            if len(of_types) > 1:
                many(rt, uow, of_types)
            else:
                handler(rt, uow, of_types[0])


def _intake(subscriptions: Subscriptions) -> Intake:
    intake: Intake = subscriptions.extras.setdefault("reports.intake", Intake())
    return intake


def subscribe(
    subscriptions: Subscriptions, event_type: EventType[P], projection: Projection, to_facts: ToFacts[P]
) -> None:
    """Make ``event_type``'s events facts of ``projection`` (``to_facts`` says which; none for an event that
    tells the report nothing), a consumer's batch at a time (``Intake``)."""
    intake = _intake(subscriptions)
    if event_type.name in intake.routes:
        raise ValueError(f"{event_type.name} is already a fact of {intake.routes[event_type.name][0].name}")
    intake.routes[event_type.name] = (projection, to_facts)
    intake.register(subscriptions, event_type)


def alongside(
    subscriptions: Subscriptions, event_type: EventType[P], handler: EventHandler[P], batch: BatchEventHandler[P]
) -> None:
    """Apply ``handler`` (or its batch form) to ``event_type``'s events too, in the projections' runs."""
    intake = _intake(subscriptions)
    intake.alongside.setdefault(event_type.name, []).append((handler, batch))
    intake.register(subscriptions, event_type)


def rebuild(
    database: Database,
    projections: Sequence[Projection],
    workspace_id: str,
    *,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Recompute every rollup and duration of the workspace from its kept facts, in one transaction (readers see
    the old figures until it commits; ingest of the workspace waits for it). Returns the facts read.

    The facts are read in one query, subject after subject (``facts.by_subject``, ``batch`` rows a fetch), each
    subject derived once; the durations are COPYed in as they come (``_DURATIONS_COPIED`` rows at a time), the
    rollups summed in memory and COPYed at the end (the DELETE before leaves no row to add to)."""
    uow = database.unit_of_work()
    read = 0
    of_kind: dict[str, list[Projection]] = defaultdict(list)  # a kind may feed several projections
    for projection in projections:
        for kind in projection.kinds:
            of_kind[kind].append(projection)
    with uow:
        context = workspaces.lock(uow, workspace_id)
        zone = context.zone
        uow.session.execute(delete(rollups.Rollup).where(rollups.Rollup.workspace_id == workspace_id))
        uow.session.execute(delete(durations.Duration).where(durations.Duration.workspace_id == workspace_id))
        totals: dict[rollups.Key, list[Any]] = {}
        pending: dict[str, dict[str, Sequence[DurationRow]]] = defaultdict(dict)  # projection -> subject -> rows
        waiting = 0
        for subject_facts in facts.by_subject(uow, workspace_id, size=batch):
            read += len(subject_facts)
            subject = subject_facts[0].subject_id
            own: dict[str, list[FactRow]] = {}  # by projection, each in the order things happened
            for fact in subject_facts:
                for projection in of_kind.get(fact.kind, ()):
                    own.setdefault(projection.name, []).append(fact)
            for projection in projections:
                found = own.get(projection.name)
                if not found:
                    continue
                derived = projection.derive(found, context)
                rollups.accumulate(totals, derived.contributions, zone)
                if derived.durations:
                    pending[projection.name][subject] = derived.durations
                    waiting += len(derived.durations)
            if waiting >= _DURATIONS_COPIED:
                _copy_durations(uow, workspace_id, pending)
                pending, waiting = defaultdict(dict), 0
                if progress is not None:
                    progress(read)
        _copy_durations(uow, workspace_id, pending)
        rollups.insert_new(uow, workspace_id, {key: (count, seconds) for key, (count, seconds) in totals.items()})
        if progress is not None:
            progress(read)
        uow.commit()
    return read


_DURATIONS_COPIED = 20_000  # duration rows held before they are COPYed


def _copy_durations(uow: UnitOfWork, workspace_id: str, pending: dict[str, dict[str, Sequence[DurationRow]]]) -> None:
    for name, rows in pending.items():
        durations.insert_many(uow, workspace_id=workspace_id, projection=name, rows_by_subject=rows)


def workspaces_with_facts(database: Database) -> list[str]:
    with database.unit_of_work() as uow:
        return list(uow.session.execute(select(Fact.workspace_id).distinct().order_by(Fact.workspace_id)).scalars())
