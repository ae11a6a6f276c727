"""The name a report's file is saved as: type, customer (as a plain ASCII slug) and day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.models import Report, ReportType
from shared.report_service import download_name


def _report(customer: str) -> Report:
    return Report(
        report_id="r",
        report_type=ReportType.COST,
        subscription_ids=[],
        customer=customer,
        completed_at=datetime(2026, 12, 2, 23, 59, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("customer", "name"),
    [
        ("", "advisor-cost-report-20261202.pdf"),
        ("Contoso Ltd", "advisor-cost-report-contoso-ltd-20261202.pdf"),
        ("Łódź Sp. z o.o.", "advisor-cost-report-lodz-sp-z-o-o-20261202.pdf"),
        ('Evil"; filename=x.exe', "advisor-cost-report-evil-filename-x-exe-20261202.pdf"),
        ("日本", "advisor-cost-report-20261202.pdf"),  # nothing ASCII left: no customer part
        ("A" * 100, f"advisor-cost-report-{'a' * 40}-20261202.pdf"),
    ],
)
def test_download_names(customer: str, name: str) -> None:
    assert download_name(_report(customer), "pdf") == name
