"""Names and the time zone from contacts' events, as the reports show them: the newest event wins whatever order
events arrive in; a new time zone asks for the workspace's figures to be derived again."""

from __future__ import annotations

from sqlalchemy import select

from crm.events.v1 import contacts_pb2
from crm_platform.ids import new_id
from crm_reports.workspaces import ReportWorkspace
from tests.integration.reports.funnel.feed import (
    at,
    body,
    chart,
    created,
    feed,
    funnel,
    member,
    report,
    sources,
    table,
)
from tests.support.stack import RunningService

MAY = "?from=2026-05-01&to=2026-05-05"


def settings(workspace: str, day: int, time_zone: str) -> bytes:
    payload = contacts_pb2.WorkspaceSettingsChanged(changed_fields=["time_zone"], time_zone=time_zone)
    return body("contacts.workspace.settings_changed", payload, workspace, at(day))


def workspace_row(reports: RunningService, workspace: str) -> tuple:
    with reports.rt.database.unit_of_work() as uow:
        return tuple(
            uow.session.execute(
                select(ReportWorkspace.time_zone, ReportWorkspace.rebuild_requested_at).where(
                    ReportWorkspace.workspace_id == workspace
                )
            ).one()
        )


def forget_rebuild_request(reports: RunningService, workspace: str) -> None:
    with reports.rt.database.unit_of_work() as uow:
        row = uow.session.get(ReportWorkspace, workspace)
        assert row is not None
        row.rebuild_requested_at = None
        uow.commit()


def test_stages_are_named_and_ordered_by_the_newest_funnel_even_when_an_older_one_arrives_late(
    reports_api: RunningService,
) -> None:
    acme = new_id()
    renamed = [("s1", "Lead"), ("s3", "Proposal"), ("s2", "Qualified")]  # Proposal moved before Qualified
    feed(
        reports_api,
        [
            funnel(acme, at(2), renamed),
            funnel(acme, at(1)),
            created(acme, at(1), "c1", stage="s1", owner="ana", source="web"),
        ],
    )

    assert chart(report(reports_api, "funnel", acme, MAY), "funnel")["categories"] == ["Lead", "Proposal", "Qualified"]


def test_a_stage_the_newest_funnel_dropped_is_no_longer_listed(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, [funnel(acme, at(1)), funnel(acme, at(2), [("s1", "New"), ("s2", "Qualified")])])

    assert [row["stage"] for row in table(report(reports_api, "funnel", acme, MAY), "stages")] == ["New", "Qualified"]


def test_a_members_newest_name_wins(reports_api: RunningService) -> None:
    acme = new_id()
    feed(
        reports_api,
        [
            member(acme, at(1), "ana", "Ana"),
            member(acme, at(3), "ana", "Ana María", added=False),
            member(acme, at(2), "ana", "Ana M.", added=False),  # late: older than the name already kept
            created(acme, at(1), "c1", stage="s1", owner="ana", source="web"),
        ],
    )

    assert [row["member"] for row in table(report(reports_api, "funnel", acme, MAY), "owners")] == ["Ana María"]


def test_sources_keep_both_languages_from_the_newest_list(reports_api: RunningService) -> None:
    acme = new_id()
    feed(
        reports_api,
        [
            sources(acme, at(2), {"web": ("Website", "Sitio web")}),
            sources(acme, at(1), {"web": ("Web", "")}),  # late
            created(acme, at(1), "c1", stage="s1", owner="ana", source="web"),
        ],
    )

    row = table(report(reports_api, "sources", acme, MAY), "sources")[0]
    assert (row["source"], row["name_es"]) == ("Website", "Sitio web")


def test_a_new_time_zone_is_the_reports_days_and_asks_for_a_rebuild(reports_api: RunningService) -> None:
    acme = new_id()
    reports_api.consume(settings(acme, 2, "Europe/Madrid"))

    zone, requested = workspace_row(reports_api, acme)
    assert zone == "Europe/Madrid" and requested is not None
    assert report(reports_api, "funnel", acme, MAY)["time_zone"] == "Europe/Madrid"


def test_the_same_zone_again_an_older_or_an_unknown_one_change_nothing(reports_api: RunningService) -> None:
    acme = new_id()
    reports_api.consume(settings(acme, 2, "Europe/Madrid"))
    forget_rebuild_request(reports_api, acme)

    feed(
        reports_api,
        [settings(acme, 3, "Europe/Madrid"), settings(acme, 1, "Asia/Tokyo"), settings(acme, 4, "Mars/Olympus")],
    )

    assert workspace_row(reports_api, acme) == ("Europe/Madrid", None)
