"""The workspace's SLA calendar and policies over HTTP: defaults, admins' changes, validation, versions,
and deadlines computed again when they change."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from crm_tickets.sla import service
from tests.factories import tickets
from tests.integration.tickets.helpers import consume_own_events
from tests.support.stack import ContactsPeer, RunningService, problem_fields

URL = "/v1/tickets/settings/sla"
WEEK = {
    "mon": [{"from": "09:00", "to": "13:00"}, {"from": "14:00", "to": "18:00"}],
    "tue": [{"from": "09:00", "to": "18:00"}],
    "sat": [{"from": "10:00", "to": "24:00"}],
}
SETTINGS = {
    "time_zone": "Europe/Madrid",
    "business_hours": WEEK,
    "holidays": ["2026-12-25", "2026-12-08"],
    "policies": {"urgent": {"first_response_minutes": 30, "solution_minutes": 240}, "normal": {"update_minutes": 600}},
}


def put(api: RunningService, workspace_id: str, body: dict[str, Any], *, role: str = "admin", **headers: str) -> Any:
    return api.client.put(URL, json=body, headers={**api.auth(workspace_id, role=role), **headers})


def test_a_new_workspace_has_office_hours_and_no_policy(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()

    answer = tickets_api.client.get(URL, headers=tickets_api.auth(acme, role="agent"))

    assert answer.status_code == 200
    body = answer.get_json()
    office = [{"from": "09:00", "to": "17:00"}]
    assert body == {
        "time_zone": "UTC",
        "business_hours": {
            "mon": office,
            "tue": office,
            "wed": office,
            "thu": office,
            "fri": office,
            "sat": [],
            "sun": [],
        },
        "holidays": [],
        "policies": {"low": None, "normal": None, "high": None, "urgent": None},
        "version": 0,
    }


def test_an_admin_replaces_calendar_and_policies(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme, globex = contacts_peer_service.workspace(name="Acme"), contacts_peer_service.workspace(name="Globex")

    answer = put(tickets_api, acme, SETTINGS)

    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["time_zone"], body["version"], body["holidays"]) == ("Europe/Madrid", 1, ["2026-12-08", "2026-12-25"])
    assert body["business_hours"]["mon"] == WEEK["mon"]
    assert body["business_hours"]["sun"] == []
    urgent = body["policies"]["urgent"]
    assert (urgent["first_response_minutes"], urgent["update_minutes"], urgent["solution_minutes"]) == (30, None, 240)
    assert body["policies"]["low"] is None
    assert tickets_api.client.get(URL, headers=tickets_api.auth(acme)).get_json() == body
    assert tickets_api.client.get(URL, headers=tickets_api.auth(globex)).get_json()["version"] == 0

    again = put(tickets_api, acme, {**SETTINGS, "policies": {"urgent": {"first_response_minutes": 15}}}).get_json()
    assert again["policies"]["urgent"]["id"] == urgent["id"]  # a priority's policy keeps its id
    assert again["policies"]["urgent"]["solution_minutes"] is None
    assert again["policies"]["normal"] is None  # left out: removed


def test_an_agent_may_not_change_them(tickets_api: RunningService, contacts_peer_service: ContactsPeer) -> None:
    acme = contacts_peer_service.workspace()

    answer = put(tickets_api, acme, SETTINGS, role="agent")
    invalid = put(tickets_api, acme, {**SETTINGS, "time_zone": "Nowhere", "policies": {"low": {}}}, role="agent")

    assert (answer.status_code, invalid.status_code) == (403, 403)
    assert tickets_api.client.get(URL, headers=tickets_api.auth(acme)).get_json()["version"] == 0


def test_invalid_settings_are_refused_field_by_field(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    cases = [
        ({**SETTINGS, "time_zone": "Mars/Olympus"}, {"time_zone": "invalid_time_zone"}),
        (
            {**SETTINGS, "business_hours": {"mon": [{"from": "9", "to": "17:00"}]}},
            {"business_hours.mon.0.from": "invalid_time"},
        ),
        (
            {**SETTINGS, "business_hours": {"mon": [{"from": "17:00", "to": "09:00"}]}},
            {"business_hours.mon.0.to": "invalid_interval"},
        ),
        (
            {
                **SETTINGS,
                "business_hours": {"fri": [{"from": "09:00", "to": "13:00"}, {"from": "12:00", "to": "14:00"}]},
            },
            {"business_hours.fri": "overlapping_intervals"},
        ),
        ({**SETTINGS, "business_hours": {}}, {"business_hours": "required"}),
        ({**SETTINGS, "policies": {"urgent": {}}}, {"policies.urgent": "required"}),
        (
            {**SETTINGS, "policies": {"urgent": {"first_response_minutes": 0}}},
            {"policies.urgent.first_response_minutes": "greater_than_equal"},
        ),
        (
            {**SETTINGS, "policies": {"critical": {"first_response_minutes": 5}}},
            {"policies.critical": "extra_forbidden"},
        ),
        ({**SETTINGS, "holidays": ["2026-13-01"]}, {"holidays.0": "date_from_datetime_parsing"}),
    ]
    for body, errors in cases:
        answer = put(tickets_api, acme, body)
        assert answer.status_code == 422, body
        assert answer.mimetype == "application/problem+json"
        found = problem_fields(answer.get_json())
        assert list(found) == list(errors), (body, found)
    assert tickets_api.client.get(URL, headers=tickets_api.auth(acme)).get_json()["version"] == 0


def test_a_write_on_a_stale_version_is_refused(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    assert put(tickets_api, acme, SETTINGS).status_code == 200

    stale = put(tickets_api, acme, SETTINGS, **{"If-Match": '"0"'})

    assert stale.status_code == 412
    assert put(tickets_api, acme, SETTINGS, **{"If-Match": '"1"'}).get_json()["version"] == 2


def test_changed_policies_reach_the_open_tickets_deadlines(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    acme = contacts_peer_service.workspace()
    always = {day: [{"from": "00:00", "to": "24:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    ticket = tickets.open_ticket(tickets_api, tickets_api.auth(acme), contacts_peer_service.contact(acme)).get_json()
    consume_own_events(tickets_api)

    def get() -> Any:
        return tickets_api.client.get(f"/v1/tickets/{ticket['id']}", headers=tickets_api.auth(acme)).get_json()

    assert get()["sla"] is None  # no policy for normal tickets yet

    body = {"time_zone": "UTC", "business_hours": always, "policies": {"normal": {"solution_minutes": 60}}}
    assert put(tickets_api, acme, body).status_code == 200
    assert service.refresh_stale(tickets_api.rt.database) == 1

    sla = get()["sla"]
    created = datetime.fromisoformat(ticket["created_at"])
    assert datetime.fromisoformat(sla["solution_due_at"]) == created + timedelta(minutes=60)
    assert (sla["first_response_due_at"], sla["solution_met"], sla["breached"]) == (None, None, [])
    assert service.refresh_stale(tickets_api.rt.database) == 0


def test_tickets_without_deadlines_yet_get_them_when_the_policies_change(
    tickets_api: RunningService, contacts_peer_service: ContactsPeer
) -> None:
    """A ticket opened before SLAs existed (here: its opening event not handled) has no row: the PUT adds it."""
    acme = contacts_peer_service.workspace()
    ana = contacts_peer_service.contact(acme)
    ticket = tickets.open_ticket(tickets_api, tickets_api.auth(acme), ana).get_json()
    always = {day: [{"from": "00:00", "to": "24:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    body = {"time_zone": "UTC", "business_hours": always, "policies": {"normal": {"first_response_minutes": 5}}}

    assert put(tickets_api, acme, body).status_code == 200
    assert service.refresh_stale(tickets_api.rt.database) == 1
    consume_own_events(tickets_api)  # the opening event, late: it computes the same row again

    sla = tickets_api.client.get(f"/v1/tickets/{ticket['id']}", headers=tickets_api.auth(acme)).get_json()["sla"]
    due = datetime.fromisoformat(ticket["created_at"]) + timedelta(minutes=5)
    assert datetime.fromisoformat(sla["first_response_due_at"]) == due
    assert put(tickets_api, acme, body).status_code == 200  # the row exists now: nothing added twice
    assert service.refresh_stale(tickets_api.rt.database) == 1
