"""The sources report read over HTTP after contacts' events: contacts, new and won per source, in both languages;
agents see their own contacts only; late, redelivered and rebuilt give the same."""

from __future__ import annotations

import random

from crm_platform.ids import new_id
from crm_reports import projection
from crm_reports.app import PROJECTIONS
from tests.integration.reports.funnel.feed import chart, feed, figures, history, report, table
from tests.support.stack import RunningService

MAY = "?from=2026-05-01&to=2026-05-05"


def rows(found: dict) -> list[tuple]:
    return [
        (row["source"], row["name_es"], row["contacts"], row["created"], row["won"]) for row in table(found, "sources")
    ]


def test_each_source_has_its_contacts_new_and_won(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, history(acme))

    found = report(reports_api, "sources", acme, MAY)

    # web: c1 (won), c3 and c4 (merged away: no longer a contact of it); fair: c2 (lost, still a contact)
    assert rows(found) == [("Website", "Sitio web", 2, 3, 1), ("Trade fair", "Feria", 1, 1, 0)]
    assert figures(found) == {"contacts": 3, "created": 4, "won": 1}
    bars = chart(found, "sources")
    assert (bars["kind"], bars["categories"]) == ("bars", ["Website", "Trade fair"])
    assert [series["values"] for series in bars["series"]] == [[3, 1], [1, 0]]


def test_new_contacts_count_in_the_range_and_contacts_as_of_its_last_day(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, history(acme))

    first_day = report(reports_api, "sources", acme, "?from=2026-05-01&to=2026-05-01")
    later = report(reports_api, "sources", acme, "?from=2026-05-03&to=2026-05-05")

    assert rows(first_day) == [("Website", "Sitio web", 2, 2, 0), ("Trade fair", "Feria", 1, 1, 0)]
    assert rows(later) == [("Website", "Sitio web", 2, 0, 1), ("Trade fair", "Feria", 1, 0, 0)]


def test_an_agent_sees_the_sources_of_their_own_contacts_only(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, history(acme))

    mine = report(reports_api, "sources", acme, MAY, user="ana", role="agent")
    bea = report(reports_api, "sources", acme, MAY + "&member=bea")
    refused = reports_api.client.get(
        f"/v1/reports/sources{MAY}&member=bea", headers=reports_api.auth(acme, user_id="ana", role="agent")
    )

    assert rows(mine) == [("Website", "Sitio web", 2, 2, 1)]
    assert rows(bea) == [("Trade fair", "Feria", 1, 1, 0), ("Website", "Sitio web", 0, 1, 0)]
    assert refused.status_code == 404


def test_another_workspace_sees_nothing_of_it(reports_api: RunningService) -> None:
    acme = new_id()
    feed(reports_api, history(acme))

    found = report(reports_api, "sources", new_id(), MAY)

    assert table(found, "sources") == [] and figures(found) == {"contacts": 0, "created": 0, "won": 0}


def test_late_redelivered_and_rebuilt_give_the_same_sources(reports_api: RunningService) -> None:
    in_order, shuffled = new_id(), new_id()
    feed(reports_api, history(in_order))
    late = history(shuffled)
    random.Random(11).shuffle(late)
    feed(reports_api, late + late[-4:])
    expected = report(reports_api, "sources", in_order, MAY)

    assert report(reports_api, "sources", shuffled, MAY) == expected
    projection.rebuild(reports_api.rt.database, PROJECTIONS, shuffled)
    assert report(reports_api, "sources", shuffled, MAY) == expected
