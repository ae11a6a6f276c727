"""The PDF's detail tables, drawn with reportlab's platypus directly (not through xhtml2pdf).

The detail rows are most of a large report's pages, and xhtml2pdf spends about three times
what reportlab alone spends on the same table (measured: ``make bench``): it parses markup and
applies CSS to every cell. Here the tables are built from what :mod:`pdf_layout` already
computed for the plan (each cell's text, each row's height, where each page starts), so the
pages come out exactly as planned:

- :func:`render_detail_pages`: a detail part, A4 landscape, an explicit page break before
  every planned page;
- :func:`render_tail`: the first detail rows, drawn in the space left below the summary on its
  last page (a page of its own whose frame starts where the summary ends, merged onto it).

Text is escaped, and runs of characters only the CJK font has are set in it (reportlab's
Paragraph sets a whole run in one font; see :func:`typeface.runs`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)

from . import pdf_layout as lay
from . import typeface

NAVY = colors.HexColor("#0b3d66")
HEADING_BG = colors.HexColor("#e6edf5")
ZEBRA = colors.HexColor("#eef2f6")
MUTED = "#5b6675"
LINK = "#1d6fb8"
MARGINS = {"left": 14 * lay.MM, "right": 14 * lay.MM, "top": 14 * lay.MM, "bottom": 16 * lay.MM}

_CELL = ParagraphStyle(
    "cell",
    fontName=typeface.SANS,
    fontSize=lay.FONT_SIZE,
    leading=lay.LEADING,
    textColor=colors.HexColor("#1b2430"),
    splitLongWords=True,
)
_RIGHT = ParagraphStyle("right", parent=_CELL, alignment=2)
_HEAD = ParagraphStyle("head", parent=_CELL, fontName=typeface.SANS_BOLD, textColor=colors.white)
_HEAD_RIGHT = ParagraphStyle("head_right", parent=_HEAD, alignment=2)
_TITLE = ParagraphStyle(
    "title", parent=_CELL, fontName=typeface.SANS_BOLD, fontSize=lay.TITLE_SIZE, leading=lay.TITLE_LEADING
)
_TITLE.textColor = NAVY
_SECTION = ParagraphStyle(
    "section", parent=_CELL, fontName=typeface.SANS_BOLD, fontSize=13, leading=16, textColor=NAVY
)


def text(value: str) -> str:
    """``value`` as Paragraph markup: escaped, CJK runs in the CJK font."""
    parts = typeface.runs(value)
    if len(parts) == 1 and parts[0][1] != typeface.CJK:
        return escape(value)
    return "".join(
        f'<font face="{typeface.CJK}">{escape(run)}</font>' if font == typeface.CJK else escape(run)
        for run, font in parts
    )


SECTION_TITLE = "Recommendations and affected resources"


class _Section(Flowable):  # type: ignore[misc]
    """The section's heading (the report type's, else :data:`SECTION_TITLE`), ruled below."""

    def __init__(self, title: str = SECTION_TITLE) -> None:
        super().__init__()
        self.title = title
        self.para = Paragraph(text(title), _SECTION)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.para.wrap(avail_width, avail_height)
        return avail_width, lay.SECTION_HEIGHT - lay.TABLE_GAP

    def draw(self) -> None:
        height = lay.SECTION_HEIGHT - lay.TABLE_GAP
        self.para.drawOn(self.canv, 0, height - 18)
        self.canv.setStrokeColor(colors.HexColor("#c9d3de"))
        self.canv.setLineWidth(0.75)
        self.canv.line(0, height - 22, self.width, height - 22)
        self.canv.bookmarkPage("details")
        self.canv.addOutlineEntry(self.title, "details", level=0)


def _notes(h: lay.Heading) -> str:
    out = f'<font color="{h.category_color}"><b>{text(h.category)}</b></font>{text(h.facts)}'
    for label, value in h.notes:
        if label == "Learn more:" and _is_https(h.link):
            shown = f'<a href="{escape(h.link, {chr(34): "&quot;"})}" color="{LINK}">{text(value)}</a>'
        else:
            shown = text(value)
        out += f"<br/><b>{escape(label)}</b> {shown}"
    return out


def _is_https(url: str) -> bool:
    from .environment import is_https_url

    return is_https_url(url)


def _row_cells(t: lay.Table, r: lay.Row, cost: bool) -> list[Any]:
    cells: list[Any] = [Paragraph(text(r.name), _CELL), Paragraph(text(r.group), _CELL)]
    cells.append(Paragraph(text(r.subscription), _CELL))
    if cost:
        cells.append(Paragraph(text(r.change), _CELL))
    cells.append(Paragraph(text(r.impact), _CELL))
    if cost:
        annual = f'<br/><font color="{MUTED}">{text(r.annual)}</font>' if r.annual else ""
        cells.append(Paragraph(text(r.monthly) + annual, _RIGHT))
    elif t.savings:
        cells.append(Paragraph(text(r.monthly), _RIGHT))
    return cells


def table(t: lay.Table, cost: bool) -> Table:
    """One planned table: heading rows, column headers, rows, at their planned heights."""
    span = len(t.columns)
    h = t.heading
    data: list[list[Any]] = [[Paragraph(text(h.title), _TITLE)] + [""] * (span - 1)]
    heights = [h.title_points]
    if not t.continued:
        data.append([Paragraph(_notes(h), _CELL)] + [""] * (span - 1))
        heights.append(h.notes_points)
    head = len(data)
    right = t.savings or cost
    data.append(
        [
            Paragraph(escape(label), _HEAD_RIGHT if right and i == span - 1 else _HEAD)
            for i, (label, _) in enumerate(t.columns)
        ]
    )
    heights.append(float(t.header_height.removesuffix("pt")))
    data += [_row_cells(t, r, cost) for r in t.rows]
    heights += [r.points for r in t.rows]
    x, gx = lay.CELL_PAD_X, lay.GROUP_PAD_X
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), x),
        ("RIGHTPADDING", (0, 0), (-1, -1), x),
        ("TOPPADDING", (0, 0), (-1, -1), lay.CELL_PAD_TOP),
        ("BOTTOMPADDING", (0, 0), (-1, -1), lay.CELL_PAD_BOTTOM),
        ("BACKGROUND", (0, 0), (-1, head - 1), HEADING_BG),
        ("LINEABOVE", (0, 0), (-1, 0), 1.5, NAVY),
        ("LEFTPADDING", (0, 0), (-1, head - 1), gx),
        ("RIGHTPADDING", (0, 0), (-1, head - 1), gx),
        ("TOPPADDING", (0, 0), (-1, 0), lay.TITLE_PAD_TOP),
        ("BOTTOMPADDING", (0, 0), (-1, 0), lay.TITLE_PAD_BOTTOM),
        ("BACKGROUND", (0, head), (-1, head), NAVY),
        ("VALIGN", (0, head), (-1, head), "BOTTOM"),
        ("TOPPADDING", (0, head), (-1, head), lay.HEAD_PAD_TOP),
        ("BOTTOMPADDING", (0, head), (-1, head), lay.HEAD_PAD_BOTTOM),
        ("ROWBACKGROUNDS", (0, head + 1), (-1, -1), [colors.white, ZEBRA]),
    ]
    for row in range(head):
        style.append(("SPAN", (0, row), (-1, row)))
    if head == 2:
        style += [
            ("TOPPADDING", (0, 1), (-1, 1), 0),
            ("BOTTOMPADDING", (0, 1), (-1, 1), lay.NOTES_PAD_BOTTOM),
        ]
    out = Table(data, colWidths=[w * lay.MM for _, w in t.columns], rowHeights=heights, repeatRows=head + 1)
    out.setStyle(TableStyle(style))
    out.spaceBefore = lay.TABLE_GAP
    out.hAlign = "LEFT"
    return out


def story(
    tables: Sequence[lay.Table], *, cost: bool, section: bool, title: str = SECTION_TITLE
) -> list[Flowable]:
    flow: list[Flowable] = [_Section(title)] if section else []
    for t in tables:
        if t.new_page and flow:
            flow.append(PageBreak())
        flow.append(table(t, cost))
    return flow


def _build(flow: list[Flowable], pagesize: tuple[float, float], frame_top: float | None = None) -> bytes:
    typeface.register()
    out = io.BytesIO()
    width, height = pagesize
    top = height - MARGINS["top"] if frame_top is None else frame_top
    frame = Frame(
        MARGINS["left"],
        MARGINS["bottom"],
        width - MARGINS["left"] - MARGINS["right"],
        top - MARGINS["bottom"],
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    doc = BaseDocTemplate(out, pagesize=pagesize, pageTemplates=[PageTemplate(id="page", frames=[frame])])
    doc.build(flow)
    return out.getvalue()


def render_detail_pages(
    tables: Sequence[lay.Table], *, cost: bool, section: bool, title: str = SECTION_TITLE
) -> bytes:
    """A detail part: its tables on A4 landscape pages, a page break where the plan put one."""
    return _build(story(tables, cost=cost, section=section, title=title), landscape(A4))


def render_tail(
    tables: Sequence[lay.Table], *, cost: bool, frame_top: float, title: str = SECTION_TITLE
) -> bytes:
    """The section's heading and the first detail rows on an A4 portrait page whose frame
    starts at ``frame_top`` (points from the bottom), to be laid over the summary's last page."""
    return _build(story(tables, cost=cost, section=True, title=title), A4, frame_top=frame_top)
