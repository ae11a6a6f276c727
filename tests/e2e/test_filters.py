"""Filters: categories (Advisor's and our spellings), impacts and resource groups narrow the
report, and the categories/resource groups reach Advisor as a server-side ``$filter``."""

from __future__ import annotations

from typing import Any

import pytest

from .support import (
    REPORT_TIMEOUT_SECONDS,
    ApiClient,
    TenantFigures,
    arm_requests_since,
    last_seq,
    rec_category,
    rec_impact,
    within,
)

pytestmark = pytest.mark.e2e

CASES: dict[str, dict[str, Any]] = {
    "advisor_category_name": {"categories": ["HighAvailability"]},
    "our_category_name": {"categories": ["reliability"]},
    "impact_and_category": {"categories": ["Security"], "impacts": ["High"]},
    "resource_group_and_categories": {
        "categories": ["HighAvailability", "operational_excellence"],
        "resourceGroups": ["RG-SAP-Prod-NEU"],  # ARM compares resource group names ignoring case
    },
    "resource_group_only": {"resourceGroups": ["rg-identity", "rg-monitoring"]},
}


@pytest.fixture(scope="module")
def filtered(api: ApiClient, stack: Any, sample_subscriptions: list[str]) -> dict[str, Any]:
    """Every case's report, started together and polled to the end."""
    seq = last_seq(stack)
    with within(REPORT_TIMEOUT_SECONDS + 10):
        locations = {
            name: api.start(
                {"subscriptionIds": sample_subscriptions, "reportType": "detailed", "filters": filters}
            ).headers["Location"]
            for name, filters in CASES.items()
        }
        reports = {name: api.poll(location) for name, location in locations.items()}
    return {"reports": reports, "requests": arm_requests_since(stack, seq)}


def category_counts(report: dict[str, Any]) -> dict[str, int]:
    return {k: v["count"] for k, v in report["counts"]["byCategory"].items()}


def list_filters(requests: list[dict[str, Any]], subscription: str) -> set[str | None]:
    return {
        r["query"].get("$filter")
        for r in requests
        if r["operation"] == "list" and (r["subscription"] or "").lower() == subscription.lower()
    }


def test_both_category_spellings_give_the_same_report(
    filtered: dict[str, Any], stack: Any, sample_subscriptions: list[str]
) -> None:
    tenant = TenantFigures.of(stack, sample_subscriptions)
    expected = tenant.where(category="reliability")
    assert expected.total and expected.plain.total == expected.total
    for name in ("advisor_category_name", "our_category_name"):
        report = filtered["reports"][name]
        assert report["status"] == "completed", report.get("failure")
        assert report["filters"]["categories"] == ["reliability"]
        assert category_counts(report) == {"reliability": expected.total}
        assert report["counts"]["recommendations"] == expected.total
        assert report["counts"]["byImpact"] == expected.by(rec_impact)
    for sub in sample_subscriptions:
        assert "Category eq 'HighAvailability'" in list_filters(filtered["requests"], sub)


def test_impacts_are_filtered(filtered: dict[str, Any], stack: Any, sample_subscriptions: list[str]) -> None:
    report = filtered["reports"]["impact_and_category"]
    assert report["status"] == "completed", report.get("failure")
    assert report["filters"] == {"categories": ["security"], "impacts": ["high"], "resourceGroups": []}
    expected = TenantFigures.of(stack, sample_subscriptions).where(category="security", impact="high")
    assert expected.total and expected.plain.total == expected.total
    assert report["counts"]["byImpact"] == {"high": expected.total}
    assert category_counts(report) == {"security": expected.total}
    for sub in sample_subscriptions:
        # Impact is not filterable server-side: only the category goes to Advisor.
        assert "Category eq 'Security'" in list_filters(filtered["requests"], sub)


def test_resource_groups_are_filtered(
    filtered: dict[str, Any], stack: Any, sample_subscriptions: list[str]
) -> None:
    tenant = TenantFigures.of(stack, sample_subscriptions)

    report = filtered["reports"]["resource_group_and_categories"]
    assert report["status"] == "completed", report.get("failure")
    assert report["filters"]["resourceGroups"] == ["RG-SAP-Prod-NEU"]
    expected = tenant.where(
        category=["reliability", "operational_excellence"], resource_group="rg-sap-prod-neu"
    )
    assert expected.total and expected.plain.total == expected.total
    assert category_counts(report) == expected.by(rec_category)
    want = (
        "Category eq 'HighAvailability' and ResourceGroup eq 'RG-SAP-Prod-NEU' or "
        "Category eq 'OperationalExcellence' and ResourceGroup eq 'RG-SAP-Prod-NEU'"
    )
    for sub in sample_subscriptions:
        assert want in list_filters(filtered["requests"], sub)

    report = filtered["reports"]["resource_group_only"]
    assert report["status"] == "completed", report.get("failure")
    expected = tenant.where(resource_group=["rg-identity", "rg-monitoring"])
    assert expected.total
    assert expected.plain.total <= report["counts"]["recommendations"] <= expected.total
    assert set(category_counts(report)) == set(expected.by(rec_category))
    for sub in sample_subscriptions:
        assert "ResourceGroup eq 'rg-identity' or ResourceGroup eq 'rg-monitoring'" in list_filters(
            filtered["requests"], sub
        )


def test_unfiltered_reports_send_no_filter(api: ApiClient, stack: Any, new_subscriptions: Any) -> None:
    sub = new_subscriptions(1, 10)[0]["subscriptionId"]
    seq = last_seq(stack)
    report = api.run_report({"subscriptionIds": [sub], "reportType": "detailed", "formats": ["html"]})
    assert report["status"] == "completed", report.get("failure")
    assert list_filters(arm_requests_since(stack, seq), sub) == {None}


def test_a_filter_that_matches_nothing_gives_an_empty_but_complete_report(
    api: ApiClient, stack: Any, new_subscriptions: Any, tmp_path: Any
) -> None:
    sub, empty = (s["subscriptionId"] for s in new_subscriptions(2, 10))
    stack.standin.set_recommendations(empty, [])  # a subscription Advisor has nothing to say about
    report = api.run_report(
        {
            "subscriptionIds": [sub, empty],
            "reportType": "detailed",
            "filters": {"resourceGroups": ["rg-none"]},
        }
    )
    assert report["status"] == "completed", report.get("failure")
    assert report["scope"]["subscriptionsLeftOut"] == []
    assert report["counts"] == {"recommendations": 0, "byCategory": {}, "byImpact": {}}
    assert report["savings"]["byCurrency"] == {}
    assert set(report["files"]) == {"html", "pdf"}
    _, pdf = api.download(report["files"]["pdf"])
    assert pdf.content.startswith(b"%PDF")
    _, html = api.download(report["files"]["html"])
    assert "Azure Advisor detailed report" in html.content.decode("utf-8")
