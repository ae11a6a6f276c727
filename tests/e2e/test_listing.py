"""GET /api/reports: newest first, filtered by status, paged with limit + continuationToken,
and its parameters validated."""

from __future__ import annotations

import time
from typing import Any

import pytest

from .support import REPORT_TIMEOUT_SECONDS, ApiClient, within

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def created(api: ApiClient, stack: Any) -> list[dict[str, Any]]:
    """Four small reports started one after the other (oldest first); the third one fails."""
    from devhost.sample_tenant import build_tenant

    tenant = build_tenant(4, 5, seed=77)
    subs = [s["subscriptionId"] for s in tenant["subscriptions"]]
    for sub in tenant["subscriptions"]:
        stack.standin.set_recommendations(sub["subscriptionId"], sub["recommendations"], sub["displayName"])
    stack.standin.inject_fault(subscription=subs[2], status=403)
    with within(REPORT_TIMEOUT_SECONDS + 10):
        locations = []
        for sub in subs:
            locations.append(
                api.start({"subscriptionIds": [sub], "reportType": "security", "formats": ["html"]}).headers[
                    "Location"
                ]
            )
            time.sleep(0.02)  # distinct requestedAt milliseconds
        reports = [api.poll(location) for location in locations]
    stack.standin.clear_faults()
    assert [r["status"] for r in reports] == ["completed", "completed", "failed", "completed"]
    return reports


def listing(api: ApiClient, **params: Any) -> dict[str, Any]:
    response = api.list_reports(**params)
    assert response.status_code == 200, response.text
    return response.json()


def walk(api: ApiClient, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item, following continuationToken; and how many pages that took."""
    items: list[dict[str, Any]] = []
    pages, token = 0, None
    while True:
        page = listing(api, **params, **({"continuationToken": token} if token else {}))
        pages += 1
        assert len(page["reports"]) <= int(params.get("limit", 20))
        items += page["reports"]
        token = page["continuationToken"]
        if not token:
            return items, pages
        assert pages < 200, "the continuation tokens never end"


def test_newest_first(api: ApiClient, created: list[dict[str, Any]]) -> None:
    items = listing(api, limit=100)["reports"]
    ids = [i["reportId"] for i in items]
    mine = [r["reportId"] for r in created]
    assert [i for i in ids if i in mine] == mine[::-1]
    assert ids[: len(mine)] == mine[::-1]  # nothing was started after them
    stamps = [i["requestedAt"] for i in items]
    assert stamps == sorted(stamps, reverse=True)
    for item in items[: len(mine)]:
        assert set(item) >= {"reportId", "status", "reportType", "requestedAt", "url"}
        assert item["url"].split("?")[0].endswith(f"/api/reports/{item['reportId']}")
        assert item["reportType"] == "security"


def test_status_filter(api: ApiClient, created: list[dict[str, Any]]) -> None:
    failed_id = created[2]["reportId"]
    completed = listing(api, status="completed", limit=100)["reports"]
    assert completed and all(i["status"] == "completed" for i in completed)
    completed_ids = {i["reportId"] for i in completed}
    assert {r["reportId"] for r in created if r["status"] == "completed"} <= completed_ids
    assert failed_id not in completed_ids
    failed = listing(api, status="failed", limit=100)["reports"]
    assert failed and all(i["status"] == "failed" for i in failed)
    assert failed_id in {i["reportId"] for i in failed}
    assert listing(api, status="pending", limit=100)["reports"] == []


def test_paging_with_limit_and_continuation_token(api: ApiClient, created: list[dict[str, Any]]) -> None:
    everything = listing(api, limit=100)
    assert len(everything["reports"]) >= len(created)
    first = listing(api, limit=2)
    assert len(first["reports"]) == 2 and first["continuationToken"]
    assert [i["reportId"] for i in first["reports"]] == [i["reportId"] for i in everything["reports"][:2]]

    paged, pages = walk(api, limit=2)
    ids = [i["reportId"] for i in paged]
    assert len(ids) == len(set(ids)), "a report was listed twice"
    if everything["continuationToken"] is None:  # at most 100 reports: the walk sees them all
        assert ids == [i["reportId"] for i in everything["reports"]]
        assert pages >= len(ids) / 2
    stamps = [i["requestedAt"] for i in paged]
    assert stamps == sorted(stamps, reverse=True)

    completed, _ = walk(api, limit=1, status="completed")
    assert [i["reportId"] for i in completed] == [
        i["reportId"] for i in everything["reports"] if i["status"] == "completed"
    ][: len(completed)]
    assert all(i["status"] == "completed" for i in completed)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "2.5"}, "limit"),
        # Digits str.isdigit() accepts and int() does not (superscript two, circled one), and
        # digits int() would accept but are not ASCII (Arabic-Indic five, full-width one).
        ({"limit": "\u00b2"}, "limit"),
        ({"limit": "\u2460"}, "limit"),
        ({"limit": "\u0665"}, "limit"),
        ({"limit": "\uff11"}, "limit"),
        ({"limit": "1" * 40}, "limit"),
        ({"status": "done"}, "status"),
        ({"continuationToken": "not-a-token"}, "continuationToken"),
    ],
)
def test_bad_listing_parameters_are_400(api: ApiClient, params: dict[str, str], field: str) -> None:
    response = api.list_reports(**params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and error["field"] == field
