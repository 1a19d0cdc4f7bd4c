"""How a contact's facts become the funnel's figures: its state after each fact, its stays in stages, and what
they contribute. Pure functions, no I/O.

A contact is *in* a stage while it exists, is active (won and lost are statuses, not stages) and has that
stage. What it contributes:

- stocks (+1 when it enters, -1 when it leaves; summed over every day up to a date they give the funnel as of
  that date): ``OPEN_STAGE`` per stage, ``OPEN_TYPE`` per contact type, for the owner it had then;
- flows at the moment they happened: ``CREATED`` and ``WON``/``LOST`` per type, for the owner then;
- per stay in a stage, at the moment it entered (a cohort: the figures of a range are about the contacts that
  entered a stage in it): ``ENTERED``, ``EXITED`` (dimension ``"<stage>><where>"``: the next stage, ``won`` or
  ``lost``) and ``WON_AFTER`` (it was won later); and, once it left, the stay's length (``STAGE_TIME``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from crm_events import contacts
from crm_reports.durations import DurationRow
from crm_reports.facts import FactRow
from crm_reports.rollups import Contribution

OPEN_STAGE = "funnel_open_stage"
OPEN_TYPE = "funnel_open_type"
CREATED = "funnel_created"
WON = "funnel_won"
LOST = "funnel_lost"
ENTERED = "funnel_entered"
EXITED = "funnel_exited"
WON_AFTER = "funnel_won_after"
STAGE_TIME = "funnel_stage_time"
EXIT_SEPARATOR = ">"

ACTIVE, WON_STATUS, LOST_STATUS = "active", "won", "lost"
SNAPSHOTS = frozenset({contacts.CONTACT_CREATED.name, contacts.CONTACT_UPDATED.name})
REMOVALS = frozenset({contacts.CONTACT_MERGED.name, contacts.CONTACT_DELETED.name})


@dataclass(frozen=True)
class State:
    """What the funnel knows of a contact at one moment."""

    exists: bool = False
    removed: bool = False  # deleted, or merged into another contact: out of the funnel for good
    type: str = ""
    stage: str = ""
    status: str = ACTIVE
    owner: str = ""
    source: str = ""

    @property
    def open_stage(self) -> str:
        """The stage it is in ("" when it is in none: won, lost, removed, or no stage)."""
        return self.stage if self.exists and self.status == ACTIVE else ""

    @property
    def open_type(self) -> str:
        return self.type if self.exists and self.status == ACTIVE else ""


def apply(state: State, fact: FactRow) -> State:
    """The contact's state after one fact. A field an older event did not carry ("") leaves what was known."""
    if state.removed:
        return state
    attrs = fact.attrs
    if fact.kind in REMOVALS:
        return replace(state, exists=False, removed=True)
    if fact.kind in SNAPSHOTS:  # the contact whole: it is what it says
        return State(
            exists=True,
            type=attrs.get("type", ""),
            stage=attrs.get("stage_id", ""),
            status=attrs.get("status") or ACTIVE,
            owner=attrs.get("owner_id", ""),
            source=attrs.get("source_id", ""),
        )
    known = replace(
        state,
        exists=True,
        type=attrs.get("contact_type") or state.type,
        stage=attrs.get("stage_id") or state.stage,
        owner=attrs.get("owner_id") or state.owner,
        source=attrs.get("source_id") or state.source,
        status=attrs.get("status") or state.status,
    )
    if fact.kind == contacts.CONTACT_STAGE_CHANGED.name:
        return replace(known, stage=attrs.get("to_stage_id", ""))
    if fact.kind == contacts.CONTACT_STATUS_CHANGED.name:
        return replace(known, status=attrs.get("to_status") or known.status)
    if fact.kind == contacts.CONTACT_OWNER_CHANGED.name:
        return replace(known, owner=attrs.get("to_owner_id", ""))
    return known


@dataclass(frozen=True)
class Step:
    at: datetime
    before: State
    after: State


def timeline(subject_facts: Sequence[FactRow]) -> list[Step]:
    """The contact's state before and after each of its facts (in the order things happened)."""
    steps, state = [], State()
    for fact in subject_facts:
        after = apply(state, fact)
        steps.append(Step(fact.occurred_at, state, after))
        state = after
    return steps


def stock_changes(metric: str, before: tuple[str, str], after: tuple[str, str], at: datetime) -> list[Contribution]:
    """-1 where it was (dimension, owner), +1 where it is now: nothing when neither changed."""
    if before == after:
        return []
    changes = []
    if before[0]:
        changes.append(Contribution(metric, at, before[1], before[0], count=-1))
    if after[0]:
        changes.append(Contribution(metric, at, after[1], after[0], count=1))
    return changes


def became(step: Step, status: str) -> bool:
    return (
        step.after.exists and step.after.status == status and not (step.before.exists and step.before.status == status)
    )


@dataclass(frozen=True)
class Stay:
    """One stay of the contact in a stage; ``exit`` is where it went ("" while it is still there, or when it
    left the funnel otherwise: deleted, merged, its stage cleared)."""

    stage: str
    entered_at: datetime
    owner: str
    exit: str = ""
    exited_at: datetime | None = None
    owner_at_exit: str = ""


def stays(steps: Sequence[Step]) -> list[Stay]:
    found: list[Stay] = []
    current: Stay | None = None
    for step in steps:
        if step.before.open_stage == step.after.open_stage:
            continue
        if current is not None:
            after = step.after
            exit = after.open_stage or (
                after.status if after.exists and after.status in (WON_STATUS, LOST_STATUS) else ""
            )
            found.append(replace(current, exit=exit, exited_at=step.at, owner_at_exit=after.owner))
            current = None
        if step.after.open_stage:
            current = Stay(step.after.open_stage, step.at, step.after.owner)
    if current is not None:
        found.append(current)
    return found


def contributions(steps: Sequence[Step]) -> list[Contribution]:
    """The stocks and flows of the contact's steps, and the cohort counts of its stays."""
    found: list[Contribution] = []
    for step in steps:
        before, after = step.before, step.after
        found += stock_changes(OPEN_STAGE, (before.open_stage, before.owner), (after.open_stage, after.owner), step.at)
        found += stock_changes(OPEN_TYPE, (before.open_type, before.owner), (after.open_type, after.owner), step.at)
        if after.exists and not before.exists:
            found.append(Contribution(CREATED, step.at, after.owner, after.type))
        for status, metric in ((WON_STATUS, WON), (LOST_STATUS, LOST)):
            if became(step, status):
                found.append(Contribution(metric, step.at, after.owner, after.type))
    won_at = [step.at for step in steps if became(step, WON_STATUS)]
    for stay in stays(steps):
        found.append(Contribution(ENTERED, stay.entered_at, stay.owner, stay.stage))
        if stay.exit:
            found.append(Contribution(EXITED, stay.entered_at, stay.owner, exit_key(stay.stage, stay.exit)))
        if any(moment > stay.entered_at for moment in won_at):
            found.append(Contribution(WON_AFTER, stay.entered_at, stay.owner, stay.stage))
    return found


def stage_times(steps: Sequence[Step]) -> list[DurationRow]:
    """How long each stay the contact has left for another stage, won or lost lasted, for the owner it had when
    it left (a deleted or merged contact's last stay measures nothing about the funnel)."""
    return [
        DurationRow(
            STAGE_TIME,
            seq,
            stay.exited_at,
            (stay.exited_at - stay.entered_at).total_seconds(),
            stay.owner_at_exit,
            stay.stage,
        )
        for seq, stay in enumerate(stays(steps))
        if stay.exited_at is not None and stay.exit
    ]


def exit_key(stage: str, exit: str) -> str:
    return f"{stage}{EXIT_SEPARATOR}{exit}"


def split_exit(dimension: str) -> tuple[str, str]:
    stage, _, exit = dimension.partition(EXIT_SEPARATOR)
    return stage, exit
