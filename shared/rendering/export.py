"""The action-plan export: one row per recommendation of a report, as an Excel workbook (xlsx)
or a CSV file, for the people who work through the list.

Rows come from the stored summary, in the order the HTML and PDF list them, one per counted
recommendation (reservation variants folded, as the report counts them), so the export's rows
are the report's recommendation counts, in total and per category. Each row carries the action
plan's stable id (``shared.action_plan``), the same for the same recommendation in the next
report.

Safe to open: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is prefixed with ``'`` in both formats, so Excel, LibreOffice or Google Sheets never
evaluate text from Advisor or a CSV upload as a formula (OWASP's CSV injection advice). The CSV
is UTF-8 with a byte-order mark (so Excel reads non-Latin names right), RFC 4180 quoting and
CRLF line ends. The workbook is written in openpyxl's write-only mode (rows are streamed, so a
report of 15,000 rows stays small in memory) with a styled, frozen header row, an autofilter,
column widths, savings as numbers in the currency's number format and learn-more links as
hyperlinks.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any

from ..models import category_label
from ..report_request import EXPORT_FORMATS
from ..summary import ReportSummary, ResourceRow, term_months

__all__ = ["EXPORT_FORMATS", "ActionRow", "action_rows", "csv_bytes", "write_csv", "write_xlsx", "xlsx_bytes"]

# (header, column width in characters) in the order of the columns.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Id", 17),
    ("Category", 22),
    ("Impact", 9),
    ("Subscription", 28),
    ("Subscription id", 38),
    ("Resource group", 24),
    ("Resource", 28),
    ("Resource id", 48),
    ("Problem", 60),
    ("Solution", 60),
    ("Details", 36),
    ("Monthly savings", 16),
    ("Annual savings", 16),
    ("Currency", 9),
    ("Learn more", 40),
    ("Last updated (UTC)", 20),
)
HEADERS = tuple(name for name, _ in COLUMNS)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_WHOLE_CURRENCIES = frozenset({"JPY", "KRW", "CLP", "ISK", "HUF", "VND", "IDR"})
# Excel's limit per cell; longer text is cut (Advisor's texts are far shorter).
_CELL_LIMIT = 32_767


@dataclass(frozen=True, slots=True)
class ActionRow:
    """One recommendation as the export lists it."""

    stable_id: str
    category: str
    impact: str
    subscription_name: str
    subscription_id: str
    resource_group: str
    resource_name: str
    resource_id: str
    problem: str
    solution: str
    details: str
    monthly_savings: Decimal | None
    annual_savings: Decimal | None
    currency: str
    learn_more_link: str
    last_updated: datetime | None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def action_rows(summary: ReportSummary) -> Iterator[ActionRow]:
    """The report's recommendations in the report's order (groups, then their rows)."""
    names = summary.subscription_names
    for group in summary.groups:
        category = category_label(group.category)
        # Already plain text (shared.text.plain_text, applied once in shared.summary); a cell
        # holds it on one line, so a row reads as one line in a spreadsheet.
        problem, solution = _one_line(group.problem), _one_line(group.solution)
        for row in group.rows:
            yield ActionRow(
                stable_id=row.stable_id,
                category=category,
                impact=row.impact.capitalize(),
                subscription_name=names.get(row.subscription_id, ""),
                subscription_id=row.subscription_id,
                resource_group=row.resource_group,
                resource_name=row.resource_name,
                resource_id=row.resource_id,
                problem=problem,
                solution=solution,
                details=row_details(row),
                monthly_savings=row.monthly_savings if row.currency else None,
                annual_savings=row.annual_savings if row.currency else None,
                currency=row.currency or "",
                learn_more_link=group.learn_more_link,
                last_updated=row.last_updated,
            )


def row_details(row: ResourceRow) -> str:
    """What a buyer acts on, from Advisor's extended properties: the sizes of a right-size, the
    quantity, SKU, term and lookback of a reservation or savings plan ("Standard_D8s_v3 ->
    Standard_D4s_v3"; "6 x Standard_D2s_v3, 3 years, 30-day lookback")."""
    parts = []
    if row.current_sku and row.target_sku:
        parts.append(f"{row.current_sku} -> {row.target_sku}")
    elif row.target_sku:
        parts.append(f"{row.quantity} x {row.target_sku}" if row.quantity else row.target_sku)
    elif row.current_sku:
        parts.append(row.current_sku)
    months = term_months(row.term)
    if months and months % 12 == 0:
        parts.append(f"{months // 12} year{'s' if months != 12 else ''}")
    elif months:
        parts.append(f"{months} months")
    if row.lookback_days:
        parts.append(f"{row.lookback_days}-day lookback")
    return ", ".join(parts)


def safe_text(value: str) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets a ``'``; cut to what
    one cell holds."""
    text = value[:_CELL_LIMIT]
    return "'" + text if text.startswith(_FORMULA_START) else text


def _naive_utc(value: datetime | None) -> datetime | None:
    """Excel has no time zones: the time in UTC, as the header says."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _iso(value: datetime | None) -> str:
    moment = _naive_utc(value)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def _texts(row: ActionRow) -> list[str]:
    """The row's cells as text (the CSV): text cells made safe, savings as plain decimals
    (a number is never a formula, so it keeps its sign)."""
    texts = [
        safe_text(v)
        for v in (
            row.stable_id,
            row.category,
            row.impact,
            row.subscription_name,
            row.subscription_id,
            row.resource_group,
            row.resource_name,
            row.resource_id,
            row.problem,
            row.solution,
            row.details,
        )
    ]
    texts += ["" if m is None else str(m) for m in (row.monthly_savings, row.annual_savings)]
    texts += [safe_text(v) for v in (row.currency, row.learn_more_link, _iso(row.last_updated))]
    return texts


def write_csv(rows: Iterable[ActionRow], out: IO[bytes]) -> int:
    """UTF-8 with BOM, RFC 4180 (every field that needs it quoted, quotes doubled, CRLF); the
    number of rows written."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADERS)
    count = 0
    for row in rows:
        writer.writerow(_texts(row))
        count += 1
    text.flush()
    text.detach()  # leave ``out`` open for the caller
    return count


def csv_bytes(rows: Iterable[ActionRow]) -> bytes:
    out = io.BytesIO()
    write_csv(rows, out)
    return out.getvalue()


def money_format(currency: str) -> str:
    """Excel's number format for an amount in ``currency`` ('#,##0.00 "EUR"'; no decimals for
    currencies without minor units); a code that is not three letters is left out of it."""
    digits = "#,##0" if currency in _WHOLE_CURRENCIES else "#,##0.00"
    return f'{digits} "{currency}"' if _CURRENCY_RE.match(currency) else digits


def write_xlsx(rows: Iterable[ActionRow], out: IO[bytes], *, title: str = "Action plan") -> int:
    """The workbook (one sheet, streamed); the number of rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    workbook.properties.title = title[:200]
    workbook.properties.creator = "Advisor Reports"
    sheet: Any = workbook.create_sheet("Action plan")
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "B2"  # the header row and the id column stay in view

    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="1F4E79")
    header = []
    for name in HEADERS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font, cell.fill = header_font, header_fill
        cell.alignment = Alignment(vertical="center")
        header.append(cell)
    sheet.append(header)

    link_font = Font(color="0563C1", underline="single")
    wrap = Alignment(wrap_text=True, vertical="top")
    count = 0
    for row in rows:
        cells: list[Any] = _texts(row)[:11]
        for col in (8, 9, 10):  # problem, solution and details wrap
            cell = WriteOnlyCell(sheet, value=cells[col])
            cell.alignment = wrap
            cells[col] = cell
        for amount in (row.monthly_savings, row.annual_savings):
            cell = WriteOnlyCell(sheet, value=amount)
            cell.number_format = money_format(row.currency)
            cells.append(cell)
        cells.append(safe_text(row.currency))
        link = WriteOnlyCell(sheet, value=safe_text(row.learn_more_link))
        if row.learn_more_link.startswith(("https://", "http://")):
            link.hyperlink = row.learn_more_link
            link.font = link_font
        cells.append(link)
        updated = WriteOnlyCell(sheet, value=_naive_utc(row.last_updated))
        updated.number_format = "yyyy-mm-dd hh:mm"
        cells.append(updated)
        sheet.append(cells)
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{count + 1}"
    workbook.save(out)
    return count


def xlsx_bytes(rows: Iterable[ActionRow], *, title: str = "Action plan") -> bytes:
    out = io.BytesIO()
    write_xlsx(rows, out, title=title)
    return out.getvalue()
