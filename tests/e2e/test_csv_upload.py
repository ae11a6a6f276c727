"""A report from the portal's CSV export (POST /api/reports/csv): the 17-column 2025 format and
the 13-column per-category one, with the category given in the query."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest

from .support import (
    HEADER_2025,
    PER_CATEGORY_DROPPED,
    SUB_A,
    SUB_B,
    ApiClient,
    count_stored_recommendations,
    row,
    to_csv,
)

pytestmark = pytest.mark.e2e

ROWS = [
    row(
        "Cost", "High", "Right-size or shutdown underutilized virtual machines", SUB_A, "rg-app", "vm-web-01",
        **{"Potential Annual Cost Savings": "1,200", "Potential Cost Savings Currency": "USD",
           "Description of changes": "Resize the VM to Standard_D2s_v3, then \"verify\""},
    ),
    row("Security", "High", "Enable MFA for accounts with owner permissions", SUB_A, "", "Production"),
    row(
        "Reliability", "Medium", "Use availability zones, for resilience", SUB_A, "rg-app", "vm-web-01",
        **{"Potential benefits": "Multi-line\nbenefit text, with a comma"},
    ),
    row(
        "Cost", "Medium", "Buy reserved instances", SUB_B, "rg-data", "sql-01",
        **{"Potential Annual Cost Savings": "2,400", "Potential Cost Savings Currency": "EUR"},
    ),
    row("Operational excellence", "Low", "Create an Azure service health alert", SUB_B, "", "Shared"),
]  # fmt: skip


def csv_2025() -> bytes:
    return to_csv(HEADER_2025, ROWS)


def test_csv_report_completes_with_the_rows_counts(api: ApiClient, stack: Any) -> None:
    response = api.start_csv(csv_2025(), reportType="detailed", formats="html,pdf", customer="Contoso")
    assert response.status_code == 202, response.text
    assert float(response.headers["Retry-After"]) > 0
    report = api.poll(response.headers["Location"])

    assert report["status"] == "completed", report.get("failure")
    assert report["source"] == "csv"
    assert sorted(report["scope"]["subscriptionIds"]) == sorted([SUB_A, SUB_B])
    assert count_stored_recommendations(stack, report["reportId"]) == len(ROWS)
    counts = report["counts"]
    assert counts["recommendations"] == len(ROWS)
    assert {k: v["count"] for k, v in counts["byCategory"].items()} == {
        "reliability": 1,
        "security": 1,
        "cost": 2,
        "operational_excellence": 1,
    }
    assert counts["byImpact"] == {"high": 2, "medium": 2, "low": 1}
    savings = report["savings"]["byCurrency"]
    assert set(savings) == {"USD", "EUR"}
    assert Decimal(savings["USD"]["annual"]) == Decimal("1200")
    assert Decimal(savings["USD"]["monthly"]) == Decimal("100")
    assert Decimal(savings["EUR"]["annual"]) == Decimal("2400")
    assert Decimal(savings["EUR"]["monthly"]) == Decimal("200")
    assert set(report["files"]) == {"html", "pdf"}

    _, html = api.download(report["files"]["html"])
    text = html.content.decode("utf-8")
    assert "Right-size or shutdown underutilized virtual machines" in text
    assert "vm-web-01" in text and "sql-01" in text
    _, pdf = api.download(report["files"]["pdf"])
    assert pdf.content.startswith(b"%PDF")


def test_per_category_export_takes_the_category_from_the_query(api: ApiClient) -> None:
    header = [h for h in HEADER_2025 if h not in PER_CATEGORY_DROPPED]
    rows = [
        row("", "High", "Enable MFA for accounts with owner permissions", SUB_A, "", "Production"),
        row("", "Medium", "Enable Defender for Storage", SUB_A, "rg-data", "stdata01"),
        row("", "Low", "Restrict access to storage accounts", SUB_B, "rg-data", "stdata02"),
    ]
    response = api.start_csv(to_csv(header, rows, bom=False), reportType="security", formats="html",
                             category="Security")  # fmt: skip
    assert response.status_code == 202, response.text
    report = api.poll(response.headers["Location"])
    assert report["status"] == "completed", report.get("failure")
    assert report["formats"] == ["html"] and set(report["files"]) == {"html"}
    assert report["counts"]["recommendations"] == 3
    assert {k: v["count"] for k, v in report["counts"]["byCategory"].items()} == {"security": 3}
    assert report["counts"]["byImpact"] == {"high": 1, "medium": 1, "low": 1}


def test_a_csv_of_exactly_20_mb_is_accepted(api: ApiClient) -> None:
    """Up to 20 MB means the limit itself is allowed (one byte more is a 413, see test_bad_inputs).
    The padding is rows of bare delimiters, which the parser skips."""
    limit = 20 * 1024 * 1024
    data = csv_2025()
    filler = b"," * (len(HEADER_2025) - 1) + b"\r\n"
    data += filler * ((limit - len(data)) // len(filler))
    data += b"\r\n" * ((limit - len(data)) // 2) + b"\n" * ((limit - len(data)) % 2)
    assert len(data) == limit
    response = api.start_csv(data, reportType="cost", formats="html")
    assert response.status_code == 202, response.text[:300]
    report = api.poll(response.headers["Location"])
    assert report["status"] == "completed", report.get("failure")
    assert {k: v["count"] for k, v in report["counts"]["byCategory"].items()} == {"cost": 2}


def test_a_csv_report_renders_its_action_plan_as_csv_too(api: ApiClient) -> None:
    """The import runs as the step "{id}:csv" and the CSV export as "{id}:export:csv": both in one
    report, neither taking the other's place; a second upload of the file gives the same ids."""
    ids = []
    for _ in range(2):
        response = api.start_csv(csv_2025(), reportType="detailed", formats="csv,xlsx")
        assert response.status_code == 202, response.text
        report = api.poll(response.headers["Location"])
        assert report["status"] == "completed", report.get("failure")
        assert set(report["files"]) == {"csv", "xlsx"}
        _, exported = api.download(report["files"]["csv"])
        lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"), newline="")))
        assert len(lines) - 1 == report["counts"]["recommendations"] == len(ROWS)
        assert {line[6] for line in lines[1:]} >= {"vm-web-01", "sql-01"}
        ids.append(sorted(line[0] for line in lines[1:]))
    assert ids[0] == ids[1] and len(set(ids[0])) == len(ROWS)
