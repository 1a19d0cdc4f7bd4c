"""The workspace's report settings over HTTP (its business hours): admins set them with If-Match, agents may
only read them, bad hours are refused field by field, a change asks for the figures to be derived again, and
the report then counts response and close times in business hours when asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crm_platform.ids import new_id
from crm_reports import projection
from crm_reports.app import PROJECTIONS
from crm_reports.workspaces import ReportWorkspace
from tests.integration.reports.conversations.helpers import Conversation, feed
from tests.support.stack import RunningService, problem_fields

URL = "/v1/reports/settings"
OFFICE = {day: [{"from": "09:00", "to": "17:00"}] for day in ("mon", "tue", "wed", "thu", "fri")}


def put(
    reports: RunningService, workspace_id: str, body: dict[str, Any], *, role: str = "admin", **headers: str
) -> Any:
    return reports.client.put(URL, json=body, headers={**reports.auth(workspace_id, role=role), **headers})


def test_an_admin_sets_business_hours_and_the_figures_are_derived_again(reports_api: RunningService) -> None:
    acme = new_id()
    first = reports_api.client.get(URL, headers=reports_api.auth(acme, role="agent"))
    assert first.status_code == 200
    assert first.get_json() == {"time_zone": "UTC", "business_hours": None, "holidays": [], "version": 0}

    answer = put(reports_api, acme, {"business_hours": OFFICE, "holidays": ["2026-12-08"]}, **{"If-Match": '"0"'})

    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["business_hours"]["mon"] == [{"from": "09:00", "to": "17:00"}] and body["business_hours"]["sat"] == []
    assert body["holidays"] == ["2026-12-08"]
    assert answer.headers["ETag"] == f'"{body["version"]}"'
    assert reports_api.client.get(URL, headers=reports_api.auth(acme)).get_json() == body
    with reports_api.rt.database.unit_of_work() as uow:
        assert uow.session.get(ReportWorkspace, acme).rebuild_requested_at is not None  # type: ignore[union-attr]

    stale = put(reports_api, acme, {"business_hours": None}, **{"If-Match": '"0"'})
    assert stale.status_code == 412
    assert stale.get_json()["current_version"] == body["version"]


def test_agents_may_not_change_the_settings_and_bad_hours_are_refused(reports_api: RunningService) -> None:
    acme = new_id()
    assert put(reports_api, acme, {"business_hours": OFFICE}, role="agent").status_code == 403

    overlapping = put(
        reports_api,
        acme,
        {"business_hours": {"mon": [{"from": "09:00", "to": "13:00"}, {"from": "12:00", "to": "18:00"}]}},
    )
    assert overlapping.status_code == 422
    assert problem_fields(overlapping.get_json()) == {"business_hours.mon": "overlapping_intervals"}
    bad_time = put(
        reports_api, acme, {"business_hours": {"tue": [{"from": "9am", "to": "17:00"}]}}, **{"Accept-Language": "es"}
    )
    assert problem_fields(bad_time.get_json()) == {"business_hours.tue.0.from": "invalid_time"}
    assert bad_time.get_json()["detail"] == "el horario laboral tiene campos no válidos"
    assert bad_time.get_json()["errors"][0]["message"] == "debe ser una hora como HH:MM"
    holidays_alone = put(reports_api, acme, {"business_hours": None, "holidays": ["2026-12-25"]})
    assert problem_fields(holidays_alone.get_json()) == {"holidays": "requires_business_hours"}
    assert reports_api.client.get(URL, headers=reports_api.auth(acme)).get_json()["version"] == 0


def test_the_report_counts_business_hours_only_when_asked(reports_api: RunningService) -> None:
    acme = new_id()
    friday_4pm = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    monday_10am = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    conversation = Conversation(acme).started(friday_4pm, assignee="ana").from_contact(friday_4pm)
    feed(
        reports_api, conversation.reply(monday_10am, "ana").archived(monday_10am + timedelta(hours=1), "ana").deliveries
    )
    query = "/v1/reports/conversations?from=2026-12-01&to=2026-12-31"

    def times(suffix: str) -> tuple[Any, Any, list[str]]:
        body = reports_api.client.get(query + suffix, headers=reports_api.auth(acme)).get_json()
        found = {figure["key"]: figure["value"] for figure in body["figures"]}
        return found["first_response"], found["close_time"], body["notes"]

    assert times("&business_hours=true") == (
        66 * 3600,
        67 * 3600,
        ["The workspace has no business hours: response and close times count every hour"],
    )
    assert put(reports_api, acme, {"business_hours": OFFICE}).status_code == 200
    projection.rebuild(reports_api.rt.database, PROJECTIONS, acme)  # what the rebuild request leads to

    assert times("&business_hours=true") == (2 * 3600, 3 * 3600, ["Response and close times count business hours only"])
    assert times("") == (66 * 3600, 67 * 3600, [])
