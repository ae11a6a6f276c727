"""The name a report's file is saved as: type, what the file is, customer and day; the
``Content-Disposition`` that carries it, read back as a browser reads it (RFC 6266: ``filename*``
wins over ``filename`` where both are given)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.models import Report, ReportType
from shared.report_service import content_disposition, download_name, file_name_text
from tests.downloads import browser_saves


def _report(customer: str, report_type: ReportType = ReportType.COST) -> Report:
    return Report(
        report_id="r",
        report_type=report_type,
        subscription_ids=[],
        customer=customer,
        requested_at=datetime(2026, 12, 1, 23, 50, tzinfo=UTC),
        fetched_at=datetime(2026, 12, 2, 0, 1, tzinfo=UTC),  # the day the data is from
        completed_at=datetime(2026, 12, 2, 0, 3, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("customer", "name"),
    [
        ("", "advisor-cost-2026-12-02.pdf"),
        ("Contoso", "advisor-cost-contoso-2026-12-02.pdf"),
        ("Contoso Ltd", "advisor-cost-contoso-ltd-2026-12-02.pdf"),
        ("Łódź Sp. z o.o.", "advisor-cost-lodz-sp-z-o-o-2026-12-02.pdf"),
        ('Evil"; filename=x.exe', "advisor-cost-evil-filename-x-exe-2026-12-02.pdf"),
        ("日本", "advisor-cost-2026-12-02.pdf"),  # nothing ASCII left: no customer part
        ("A" * 100, f"advisor-cost-{'a' * 40}-2026-12-02.pdf"),
    ],
)
def test_download_names(customer: str, name: str) -> None:
    assert download_name(_report(customer), "pdf") == name


def test_each_format_and_type_says_what_it_is() -> None:
    names = {
        (t.value, fmt): download_name(_report("Contoso", t), fmt)
        for t in ReportType
        for fmt in ("html", "pdf", "xlsx", "csv")
    }
    assert names[("executive", "html")] == "advisor-executive-contoso-2026-12-02.html"
    assert names[("security", "xlsx")] == "advisor-security-action-plan-contoso-2026-12-02.xlsx"
    assert names[("detailed", "csv")] == "advisor-detailed-action-plan-contoso-2026-12-02.csv"
    assert len(set(names.values())) == len(names)


@pytest.mark.parametrize(
    ("customer", "saved"),
    [
        ("Contoso", "advisor-cost-contoso-2026-12-02.pdf"),
        ("Zakłady Łódź S.A.", "advisor-cost-Zakłady-Łódź-S.A-2026-12-02.pdf"),
        ("日本語の顧客", "advisor-cost-日本語の顧客-2026-12-02.pdf"),
        ("Кириллица / ООО: «Тест»", "advisor-cost-Кириллица-ООО-«Тест»-2026-12-02.pdf"),
        ("한국어 고객", "advisor-cost-한국어-고객-2026-12-02.pdf"),
    ],
)
def test_what_a_browser_saves(customer: str, saved: str) -> None:
    header = content_disposition(_report(customer), "pdf")
    assert header.isascii()  # a header value is bytes; the real name travels percent-encoded
    assert browser_saves(header) == saved
    ascii_only = header.split(";")[1].strip()
    assert ascii_only == f'filename="{download_name(_report(customer), "pdf")}"'
    assert ("filename*" in header) == (not customer.isascii())


def test_hostile_names_cannot_escape_the_file_name() -> None:
    # quotes, path separators, header separators and a right-to-left override that would
    # show "...fdp.exe" as "...exe.pdf"
    customer = 'a"b\\c/d;e,f%g\u202eexe.pdf\r\nX-Injected: 1'
    header = content_disposition(_report(customer), "pdf")
    saved = browser_saves(header)
    assert "\r" not in header and "\n" not in header and header.count('"') == 2
    assert not set('"\\/;,%\u202e\r\n') & set(saved)
    assert saved.endswith("-2026-12-02.pdf")
    assert file_name_text("\u202e\u200b") == "" and file_name_text(" ...Łódź... ") == "Łódź"
