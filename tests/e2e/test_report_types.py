"""Every report type completes over the sample tenant, covers exactly its categories, and
produces both files (formats omitted: the default is html and pdf)."""

from __future__ import annotations

import io
import subprocess
from typing import Any

import pytest
from pypdf import PdfReader

from .support import REPORT_TIMEOUT_SECONDS, REPORT_TYPES, ApiClient, within

pytestmark = pytest.mark.e2e

TITLES = {
    "detailed": "Azure Advisor detailed report",
    "executive": "Azure Advisor executive summary",
    "cost": "Azure Advisor cost optimization report",
    "security": "Azure Advisor security report",
    "operations": "Azure Advisor operations report",
}
OPERATIONS = {"reliability", "operational_excellence", "performance"}


@pytest.fixture(scope="module")
def by_type(api: ApiClient, sample_subscriptions: list[str]) -> dict[str, dict[str, Any]]:
    """One report per type, started together, polled to the end, with both files downloaded."""
    with within(REPORT_TIMEOUT_SECONDS + 20):
        locations = {
            t: api.start({"subscriptionIds": sample_subscriptions, "reportType": t}).headers["Location"]
            for t in REPORT_TYPES
        }
        result: dict[str, dict[str, Any]] = {}
        for report_type, location in locations.items():
            report = api.poll(location)
            files = {}
            for fmt, link in (report.get("files") or {}).items():
                _, response = api.download(link)
                assert response.status_code == 200
                files[fmt] = response.content
            result[report_type] = {"report": report, "files": files}
    return result


def counts(report: dict[str, Any]) -> dict[str, int]:
    return {k: v["count"] for k, v in report["counts"]["byCategory"].items()}


@pytest.mark.parametrize("report_type", REPORT_TYPES)
def test_each_type_completes_with_both_files(
    by_type: dict[str, Any], report_type: str, tmp_path: Any
) -> None:
    report, files = by_type[report_type]["report"], by_type[report_type]["files"]
    assert report["status"] == "completed", report.get("failure")
    assert report["reportType"] == report_type
    assert report["formats"] == ["html", "pdf"]
    assert set(report["files"]) == {"html", "pdf"} == set(files)
    assert report["counts"]["recommendations"] > 0
    assert files["pdf"].startswith(b"%PDF")
    path = tmp_path / f"{report_type}.pdf"
    path.write_bytes(files["pdf"])
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=30
    ).stdout.decode("utf-8")
    assert TITLES[report_type] in " ".join(text.split())
    assert TITLES[report_type] in files["html"].decode("utf-8")


def test_types_cover_exactly_their_categories(by_type: dict[str, Any]) -> None:
    detailed = counts(by_type["detailed"]["report"])
    assert set(detailed) == OPERATIONS | {"security", "cost"}

    executive = by_type["executive"]["report"]
    assert counts(executive) == detailed
    assert executive["counts"] == by_type["detailed"]["report"]["counts"]

    cost = by_type["cost"]["report"]
    assert counts(cost) == {"cost": detailed["cost"]}
    assert cost["savings"]["byCurrency"] == by_type["detailed"]["report"]["savings"]["byCurrency"]

    assert counts(by_type["security"]["report"]) == {"security": detailed["security"]}
    assert not by_type["security"]["report"]["savings"]["byCurrency"]

    operations = counts(by_type["operations"]["report"])
    assert set(operations) <= OPERATIONS
    assert operations == {k: v for k, v in detailed.items() if k in OPERATIONS}
    for report_type in ("cost", "security", "operations"):
        report = by_type[report_type]["report"]
        assert sum(report["counts"]["byImpact"].values()) == report["counts"]["recommendations"]
        assert sum(counts(report).values()) == report["counts"]["recommendations"]


def test_executive_summary_is_shorter_than_the_detailed_report(by_type: dict[str, Any]) -> None:
    pages = {
        t: len(PdfReader(io.BytesIO(by_type[t]["files"]["pdf"])).pages) for t in ("executive", "detailed")
    }
    assert 1 <= pages["executive"] < pages["detailed"], pages
