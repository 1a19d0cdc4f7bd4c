"""The worker loop that rebuilds the workspaces whose figures were asked to be derived again (their time zone or
business hours changed): it rebuilds each, clears the request only if nobody asked again meanwhile, and one
workspace that fails holds up no other.

A toy projection (each "opened" fact counts on its day) stands in for the report features, so most of these pin the
loop alone; the last drives it as a user would: contacts' settings event changes the time zone, the funnel report
moves its days once the worker's loop has run."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest

from crm.events.v1 import contacts_pb2
from crm_platform.ids import new_id
from crm_reports import projection, rebuilds
from crm_reports.workspaces import ReportWorkspace
from tests.integration.reports.funnel import feed
from tests.integration.reports.rebuilds.toy import LATE_EVENING, TOY, FailsFor, days, move_to, opened_in
from tests.support.stack import RunningService


def still_requested(service: RunningService, workspace_id: str) -> bool:
    with service.rt.database.unit_of_work() as uow:
        row = uow.session.get(ReportWorkspace, workspace_id)
        return row is not None and row.rebuild_requested_at is not None


def test_the_worker_loop_rebuilds_a_workspace_whose_time_zone_changed(reports_api: RunningService) -> None:
    acme, other = new_id(), new_id()
    opened_in(reports_api, acme)
    opened_in(reports_api, other)
    move_to(reports_api, acme, "Asia/Tokyo")
    assert days(reports_api, acme) == [(date(2026, 3, 10), 1)]  # the old days until the loop comes round

    stop = threading.Event()
    worker = threading.Thread(
        target=rebuilds.rebuild_loop([TOY], idle_seconds=0.05), args=(reports_api.rt, stop), daemon=True
    )
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while still_requested(reports_api, acme) and time.monotonic() < deadline:
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)

    assert not worker.is_alive()
    assert not still_requested(reports_api, acme)
    assert days(reports_api, acme) == [(date(2026, 3, 11), 1)]  # 07:30 in Tokyo
    assert days(reports_api, other) == [(date(2026, 3, 10), 1)]  # not asked for: untouched
    assert rebuilds.rebuild_requested(reports_api.rt.database, [TOY]) == (0, 0)  # nothing left waiting


def test_a_request_made_while_the_rebuild_ran_is_kept_and_rebuilt_at_the_next_look(
    reports_api: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = new_id()
    opened_in(reports_api, acme)
    move_to(reports_api, acme, "Asia/Tokyo")
    real_rebuild = projection.rebuild

    def rebuild_then_the_zone_changes_again(*args: Any, **kwargs: Any) -> int:
        read = real_rebuild(*args, **kwargs)  # committed: a settings event lands before the request is cleared
        move_to(reports_api, acme, "America/Los_Angeles")
        return read

    monkeypatch.setattr(projection, "rebuild", rebuild_then_the_zone_changes_again)
    assert rebuilds.rebuild_requested(reports_api.rt.database, [TOY]) == (1, 1)
    monkeypatch.undo()

    assert still_requested(reports_api, acme)
    assert days(reports_api, acme) == [(date(2026, 3, 11), 1)]  # what the first rebuild derived, in Tokyo
    assert rebuilds.rebuild_requested(reports_api.rt.database, [TOY]) == (1, 1)
    assert not still_requested(reports_api, acme)
    assert days(reports_api, acme) == [(date(2026, 3, 10), 1)]  # 15:30 the day before in Los Angeles


def test_a_workspace_whose_rebuild_fails_stays_requested_and_holds_up_no_other(reports_api: RunningService) -> None:
    broken, fine = new_id(), new_id()
    for workspace_id in (broken, fine):
        opened_in(reports_api, workspace_id)
        move_to(reports_api, workspace_id, "Asia/Tokyo")

    assert rebuilds.rebuild_requested(reports_api.rt.database, [FailsFor(broken)]) == (2, 1)

    assert still_requested(reports_api, broken)
    assert days(reports_api, broken) == [(date(2026, 3, 10), 1)]  # rolled back: the old figures stay
    assert not still_requested(reports_api, fine)
    assert days(reports_api, fine) == [(date(2026, 3, 11), 1)]


def test_the_longest_waiting_workspaces_are_rebuilt_first_a_batch_at_a_time(reports_api: RunningService) -> None:
    waiting = [new_id() for _ in range(3)]
    for workspace_id in waiting:
        opened_in(reports_api, workspace_id, LATE_EVENING - timedelta(days=1))
        move_to(reports_api, workspace_id, "Asia/Tokyo")

    assert rebuilds.rebuild_requested(reports_api.rt.database, [TOY], limit=2) == (2, 2)

    assert [still_requested(reports_api, workspace_id) for workspace_id in waiting] == [False, False, True]


def test_a_time_zone_change_from_contacts_moves_the_funnels_days_once_the_loop_has_run(
    reports_api: RunningService,
) -> None:
    acme = new_id()
    admin = reports_api.auth(acme)
    late = feed.at(10, 22)  # 22:00 UTC on 10 May: already the 11th in Tokyo
    reports_api.consume(feed.funnel(acme, feed.at(1)))
    reports_api.consume(feed.created(acme, late, new_id(), stage="s1", owner="m1", source="web"))

    def new_contacts(day: str) -> int:
        answer = reports_api.client.get(f"/v1/reports/funnel?from={day}&to={day}", headers=admin)
        assert answer.status_code == 200, answer.get_json()
        (created,) = [f["value"] for f in answer.get_json()["figures"] if f["key"] == "created"]
        return int(created)

    assert (new_contacts("2026-05-10"), new_contacts("2026-05-11")) == (1, 0)
    settings = contacts_pb2.WorkspaceSettingsChanged(changed_fields=["time_zone"], time_zone="Asia/Tokyo")
    reports_api.consume(feed.body("contacts.workspace.settings_changed", settings, acme, feed.at(12)))
    assert still_requested(reports_api, acme)

    stop = threading.Event()
    worker = threading.Thread(target=rebuilds.rebuild_loop(idle_seconds=0.05), args=(reports_api.rt, stop), daemon=True)
    worker.start()  # the service's own projections, as the worker runs it
    try:
        deadline = time.monotonic() + 20
        while still_requested(reports_api, acme) and time.monotonic() < deadline:
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)

    assert (new_contacts("2026-05-10"), new_contacts("2026-05-11")) == (0, 1)
