"""The PDF report: rendered in parts with xhtml2pdf, merged with pypdf.

Why parts (measured, see docs/architecture.md): xhtml2pdf's time is superlinear in the size of one table
and its memory grows with the document. So the report is cut into a summary part and detail
parts of at most ``rows_per_part`` affected-resource rows (groups split across parts carry a
"(continued)" heading); each part is its own ``pisa.CreatePDF`` call, and the parts are merged
at the end. Memory is bounded by one part, and the app renders parts in parallel activities
(``shared.pipeline``):

    specs = plan_pdf_parts(summary, rows_per_part)    # once, at summarize; small, JSON-able
    render_pdf_part(context, specs[i])                # one activity per part
    write_merged_pdf(parts, dest, footer=..., title=...)  # assemble: + footer and page numbers

Inside a part the markup is kept lean, which is what xhtml2pdf's cost follows: tables of at most
``TABLE_ROWS`` rows, few cells per row, explicit column widths, few CSS rules, and an explicit
height for every row, computed here from the text's measured width, so reportlab never has to
wrap a cell's content to find its row's height (each cell is laid out once, when drawn, instead
of up to three times).

Remote content is never fetched: the templates reference no resources, text from the API is
escaped, and every render runs with a link callback that answers every URL with an empty inline
resource and a resource policy that refuses network and file reads (see ``_link_callback``).
"""

from __future__ import annotations

import gc
import io
import json
import logging
import math
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from shared.summary import RecommendationGroup, ReportSummary, ResourceRow

from . import typeface
from .environment import (
    CATEGORY_COLORS,
    buyer_details,
    format_date,
    format_money,
    get_environment,
    impact_label,
)
from .logo import KINDS as LOGO_KINDS

log = logging.getLogger(__name__)

DEFAULT_ROWS_PER_PART = 1000
TABLE_ROWS = 100  # rows per <table>: xhtml2pdf's cost is superlinear in one table's size

SUMMARY_TEMPLATE = "pdf_summary.j2"
DETAIL_TEMPLATE = "pdf_detail.j2"

# Geometry of the detail tables (A4 portrait), shared by the template and the row heights.
MM = 72 / 25.4
FONT = "Helvetica"
FONT_SIZE = 7.5  # pt
LEADING = 9.5  # pt
CELL_PAD_X = 3.5  # pt, left and right
CELL_PAD_TOP = 2.5  # pt
CELL_PAD_BOTTOM = 1.5  # pt
MAX_ROW_LINES = 24

# Column widths in mm (they add up to the 182 mm between the page margins of A4 portrait).
COLUMNS_STANDARD = (
    ("Resource / resource group", 70),
    ("Subscription", 48),
    ("Impact", 16),
    ("Last updated", 20),
    ("Savings / month", 28),
)
COLUMNS_NO_SAVINGS = (
    ("Resource / resource group", 86),
    ("Subscription", 60),
    ("Impact", 16),
    ("Last updated", 20),
)
COLUMNS_COST = (
    ("Resource / resource group", 50),
    ("Subscription", 33),
    ("Recommended change", 42),
    ("Impact", 14),
    ("Updated", 17),
    ("Monthly / annual", 26),
)

# Neither the network nor the disk: the report needs no resource at all.
RENDER_POLICY = ResourceAccessPolicy(
    allow_remote=False,
    allow_private_networks=False,
    allowed_hosts=frozenset(),
    base_dir=None,
    allow_local_outside_base=False,
    max_resources=0,
    allow_remote_pdf_backgrounds=False,
)
# What the link callback answers for any URL: an empty inline resource, which xhtml2pdf reads
# without any I/O. Returning "" would not do: xhtml2pdf then falls back to the original URL.
_INERT_URI = "data:,"
_LOGO_PREFIXES = tuple(f"data:{kind};base64," for kind in LOGO_KINDS)
# Charts (rendering/charts.py): SVG drawn by svglib from the bytes in the URI, with no I/O.
_INLINE_PREFIXES = (*_LOGO_PREFIXES, "data:image/svg+xml;base64,")


def _link_callback(uri: str, rel: str | None) -> str:
    """Every URL a document asks xhtml2pdf to fetch (img, link, @import, url(), fonts).

    The report templates ask for none; a URL reaching here came from somewhere it should not,
    so it is logged and neutralised, never fetched.
    """
    if uri.startswith(_INLINE_PREFIXES):
        return uri  # a logo (rendering/logo.py) or a chart, inline in the document: no I/O
    log.warning("PDF rendering refused to fetch a resource: %.120r", uri)
    return _INERT_URI


# --- planning -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PartSpec:
    """One PDF part: the summary, or a slice of the detail rows (global row offsets).

    ``groups`` lists (group index, first row, end row) within the summary's ordered groups.
    ``total_rows`` lets the renderer check that the summary it gets is the one planned for.
    """

    index: int
    kind: str  # "summary" | "detail"
    start: int = 0
    stop: int = 0
    groups: tuple[tuple[int, int, int], ...] = ()
    total_rows: int = 0
    part_count: int = 1

    @property
    def rows(self) -> int:
        return self.stop - self.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "start": self.start,
            "stop": self.stop,
            "groups": [list(g) for g in self.groups],
            "totalRows": self.total_rows,
            "partCount": self.part_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartSpec:
        return cls(
            index=int(data["index"]),
            kind=str(data["kind"]),
            start=int(data.get("start", 0)),
            stop=int(data.get("stop", 0)),
            groups=tuple((int(g[0]), int(g[1]), int(g[2])) for g in data.get("groups") or ()),
            total_rows=int(data.get("totalRows", 0)),
            part_count=int(data.get("partCount", 1)),
        )


def plan_pdf_parts(
    summary: ReportSummary,
    rows_per_part: int = DEFAULT_ROWS_PER_PART,
    *,
    include_details: bool = True,
) -> list[PartSpec]:
    """Part 0 is the summary; then detail parts of at most ``rows_per_part`` rows each.

    ``include_details=False`` (the executive report) plans the summary part only.
    """
    if rows_per_part < 1:
        raise ValueError("rows_per_part must be at least 1")
    slices: list[list[tuple[int, int, int]]] = []
    if include_details and summary.row_count:
        if not summary.has_rows:
            raise ValueError("a summary rebuilt from its dict form has no rows to plan parts for")
        current: list[tuple[int, int, int]] = []
        room = rows_per_part
        for gi, group in enumerate(summary.groups):
            first = 0
            while first < group.count:
                take = min(room, group.count - first)
                current.append((gi, first, first + take))
                first += take
                room -= take
                if room == 0:
                    slices.append(current)
                    current, room = [], rows_per_part
        if current:
            slices.append(current)
    part_count = 1 + len(slices)
    specs = [PartSpec(index=0, kind="summary", total_rows=summary.row_count, part_count=part_count)]
    offset = 0
    for i, groups in enumerate(slices, start=1):
        rows = sum(stop - start for _, start, stop in groups)
        specs.append(
            PartSpec(
                index=i,
                kind="detail",
                start=offset,
                stop=offset + rows,
                groups=tuple(groups),
                total_rows=summary.row_count,
                part_count=part_count,
            )
        )
        offset += rows
    return specs


def dump_pdf_plan(specs: Sequence[PartSpec]) -> bytes:
    """The plan as stored beside the summary: summarize plans once, every part reads it."""
    return json.dumps({"parts": [s.to_dict() for s in specs]}, separators=(",", ":")).encode("utf-8")


def load_pdf_plan(data: bytes) -> list[PartSpec]:
    return [PartSpec.from_dict(p) for p in json.loads(data)["parts"]]


# --- row layout ---------------------------------------------------------------------------


def _lines(text: str, width_pt: float) -> int:
    """How many lines reportlab needs for ``text`` in ``width_pt`` (greedy, at spaces)."""
    if not text:
        return 1
    space = stringWidth(" ", FONT, FONT_SIZE)
    lines, used = 1, 0.0
    for word in text.split():
        w = stringWidth(word, FONT, FONT_SIZE)
        if w > width_pt:  # a long word is broken wherever it has to be
            extra = math.ceil(w / width_pt)
            lines += extra - (1 if used == 0 else 0)
            used = w - (extra - 1) * width_pt
            continue
        if used and used + space + w > width_pt:
            lines += 1
            used = w
        else:
            used = used + space + w if used else w
    return lines


@dataclass(slots=True)
class _Row:
    """A detail row as the template prints it: the strings of each cell and the row height."""

    name: str
    group: str
    subscription: str
    impact: str
    updated: str
    change: str = ""
    monthly: str = ""
    annual: str = ""
    height: str = ""  # for the <td height> attribute, in pt


@dataclass(slots=True)
class _Block:
    """One group's slice in a part: heading, then tables of at most TABLE_ROWS rows."""

    group: RecommendationGroup
    number: int
    continued: bool
    columns: Sequence[tuple[str, int]]
    savings: bool
    tables: list[list[_Row]] = field(default_factory=list)


def _row(
    row: ResourceRow, columns: Sequence[tuple[str, int]], cost: bool, savings: bool, names: Mapping[str, str]
) -> _Row:
    usable = [w * MM - 2 * CELL_PAD_X for _, w in columns]
    out = _Row(
        name=row.resource_name or "(unnamed resource)",
        group=row.resource_group or "Subscription-level",
        subscription=names.get(row.subscription_id) or row.subscription_id,
        impact=impact_label(row.impact),
        updated=format_date(row.last_updated),
    )
    lines = max(
        _lines(out.name, usable[0]) + _lines(out.group, usable[0]),
        _lines(out.subscription, usable[1]),
    )
    if cost:
        out.change = buyer_details(row)
        if row.variants > 1:
            out.change += f" ({row.variants - 1} more variant{'s' if row.variants > 2 else ''} not counted)"
        lines = max(lines, _lines(out.change, usable[2]))
    if savings and row.has_savings:
        out.monthly = format_money(row.monthly_savings, row.currency)
        out.annual = format_money(row.annual_savings, row.currency)
        lines = max(lines, _lines(out.monthly, usable[-1]) + (_lines(out.annual, usable[-1]) if cost else 0))
    # The row's height: its lines plus the cell's padding and a hair for rounding. Capped well
    # below a page: a pathological value is shrunk into the cell rather than overflowing the page.
    lines = min(lines, MAX_ROW_LINES)
    out.height = f"{lines * LEADING + CELL_PAD_TOP + CELL_PAD_BOTTOM + 0.5:.1f}pt"
    return out


def _blocks(context: Mapping[str, Any], spec: PartSpec) -> list[_Block]:
    groups: Sequence[RecommendationGroup] = context["groups"]
    cost = bool(context["report"]["cost_columns"])
    names: Mapping[str, str] = context["sub_names"]
    blocks: list[_Block] = []
    for gi, first, end in spec.groups:
        group = groups[gi]
        savings = group.has_savings
        columns = COLUMNS_COST if cost else (COLUMNS_STANDARD if savings else COLUMNS_NO_SAVINGS)
        rows = [_row(r, columns, cost, savings, names) for r in group.rows[first:end]]
        block = _Block(group=group, number=gi + 1, continued=first > 0, columns=columns, savings=savings)
        block.tables = [rows[i : i + TABLE_ROWS] for i in range(0, len(rows), TABLE_ROWS)]
        blocks.append(block)
    return blocks


# --- rendering ----------------------------------------------------------------------------


# xhtml2pdf renders one document at a time per process anyway (it holds a global lock); ours
# also covers the garbage-collector setting below, which is process-wide.
_render_lock = threading.Lock()
# A render allocates millions of short-lived objects; with the default gen-0 threshold (700) the
# cyclic collector runs thousands of times per part and costs 10-15% of the time while freeing
# next to nothing (measured: same peak RSS). The threshold is raised for the render only.
_RENDER_GC_THRESHOLD = 100_000


@contextmanager
def _relaxed_gc() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(max(saved[0], _RENDER_GC_THRESHOLD), *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def html_to_pdf(html: str) -> bytes:
    """Convert one part's markup with xhtml2pdf: no fetches, errors raised, bytes returned."""
    typeface.register()
    out = io.BytesIO()
    with _render_lock, _relaxed_gc():
        status = pisa.CreatePDF(
            html,
            dest=out,
            encoding="utf-8",
            link_callback=_link_callback,
            resource_policy=RENDER_POLICY,
            raise_exception=True,
        )
    if status.err:
        raise RuntimeError(f"xhtml2pdf reported {status.err} error(s) rendering a report part")
    return out.getvalue()


def render_part_html(context: Mapping[str, Any], part_spec: PartSpec | Mapping[str, Any]) -> str:
    """The xhtml2pdf markup of one part (exposed for tests and debugging)."""
    spec = part_spec if isinstance(part_spec, PartSpec) else PartSpec.from_dict(part_spec)
    env = get_environment()
    summary: ReportSummary = context["summary"]
    if spec.total_rows != summary.row_count:
        raise ValueError(
            f"part {spec.index} was planned for {spec.total_rows} rows but the summary has "
            f"{summary.row_count}: plan and render from the same data"
        )
    common = {
        "part": spec,
        "layout": _layout(),
        "category_colors": CATEGORY_COLORS,
        "font_family": typeface.FAMILY,
    }
    if spec.kind == "summary":
        return env.get_template(SUMMARY_TEMPLATE).render({**context, **common})
    if spec.kind != "detail":
        raise ValueError(f"unknown part kind {spec.kind!r}")
    if not context["report"]["show_resources"]:
        raise ValueError("this report type has no detail parts")
    return env.get_template(DETAIL_TEMPLATE).render({**context, **common, "blocks": _blocks(context, spec)})


def _layout() -> dict[str, Any]:
    return {
        "font_size": FONT_SIZE,
        "leading": LEADING,
        "pad": f"{CELL_PAD_TOP}pt {CELL_PAD_X}pt {CELL_PAD_BOTTOM}pt {CELL_PAD_X}pt",
    }


def render_pdf_part(context: Mapping[str, Any], part_spec: PartSpec | Mapping[str, Any]) -> bytes:
    """Render one planned part to PDF bytes (a document of its own)."""
    return html_to_pdf(render_part_html(context, part_spec))


# --- merging ------------------------------------------------------------------------------

_FOOTER_SIZE = 8
_FOOTER_COLOR = (0.36, 0.4, 0.46)
_FONT_NAME = re.compile(rb"/(F\d+(?:\+\d+)?) ")


def _footer_overlay(sizes: Sequence[tuple[float, float]], footer: str, number_pages: bool) -> bytes:
    """One page per page of the merged file, with its footer and page number only, drawn by
    reportlab in the report's own fonts (embedded), so any title prints."""
    typeface.register()
    out = io.BytesIO()
    canvas = Canvas(out, initialFontName=typeface.SANS, pageCompression=1)
    total = len(sizes)
    margin, baseline = 14 * MM, 7 * MM
    for number, (width, height) in enumerate(sizes, start=1):
        canvas.setPageSize((width, height))
        canvas.setFillColorRGB(*_FOOTER_COLOR)
        label = f"Page {number} of {total}" if number_pages else ""
        label_x = width - margin - typeface.text_width(label, _FOOTER_SIZE)
        x = margin
        if footer:
            room = label_x - margin - 12 if label else width - 2 * margin
            for run, font in typeface.runs(_fit(footer, room)):
                canvas.setFont(font, _FOOTER_SIZE)
                canvas.drawString(x, baseline, run)
                x += typeface.text_width(run, _FOOTER_SIZE)
        if label:
            canvas.setFont(typeface.SANS, _FOOTER_SIZE)
            canvas.drawString(label_x, baseline, label)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _fit(text: str, width: float) -> str:
    """The footer cut with an ellipsis where it would run into the page number."""
    if typeface.text_width(text, _FOOTER_SIZE) <= width:
        return text
    while text and typeface.text_width(text + "\u2026", _FOOTER_SIZE) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"


def _inherited(page: Any, key: str) -> Any:
    """A page attribute, looked up the page tree as PDF inheritance says."""
    node = page
    while node is not None:
        node = node.get_object()
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def _stamp_footer(writer: PdfWriter, footer: str, number_pages: bool) -> None:
    """Footer text on the left and 'Page i of n' on the right of every page of the merged file.

    The stamps are drawn on an overlay (``_footer_overlay``) whose content streams are appended
    to each page, with its fonts (renamed /AR...) added to the page's resources; the page's own
    content is wrapped in q/Q. That is rather than merging the overlay pages, which would
    re-parse every page's content.
    """
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in writer.pages]
    overlay = PdfReader(io.BytesIO(_footer_overlay(sizes, footer, number_pages)))
    cloned: dict[Any, Any] = {}  # the overlay's font objects, added to the writer once each
    push = DecodedStreamObject()
    push.set_data(b"q\n")
    push_ref = writer._add_object(push)
    for page, stamp_page in zip(writer.pages, overlay.pages, strict=True):
        stamp_resources: Any = stamp_page["/Resources"].get_object()
        stamp_fonts: Any = stamp_resources.get("/Font")
        stamp_fonts = stamp_fonts.get_object() if stamp_fonts is not None else DictionaryObject()
        data = stamp_page.get_contents()
        stamp = DecodedStreamObject()
        stamp.set_data(
            b"Q q\n" + _FONT_NAME.sub(rb"/AR\1 ", data.get_data() if data is not None else b"") + b"\nQ\n"
        )
        stamp_ref = writer._add_object(stamp)

        resources = _inherited(page, "/Resources")
        # A copy when inherited from the page tree, so that other pages keep theirs as they are.
        resources = resources.get_object() if resources is not None else DictionaryObject()
        if "/Resources" not in page:
            resources = DictionaryObject(resources)
        page[NameObject("/Resources")] = resources
        fonts = resources.get("/Font")
        fonts = DictionaryObject(fonts.get_object()) if fonts is not None else DictionaryObject()
        resources[NameObject("/Font")] = fonts
        for name, ref in stamp_fonts.items():
            key = ref.idnum if hasattr(ref, "idnum") else id(ref)
            if key not in cloned:
                copy = ref.get_object().clone(writer)
                cloned[key] = copy.indirect_reference or writer._add_object(copy)
            fonts[NameObject("/AR" + name[1:])] = cloned[key]

        contents = page.get("/Contents")
        existing: list[Any] = []
        if contents is not None:
            obj = contents.get_object()
            existing = list(obj) if isinstance(obj, ArrayObject) else [contents]
        page[NameObject("/Contents")] = ArrayObject([push_ref, *existing, stamp_ref])


def _writer(parts: Iterable[bytes | IO[bytes]], footer: str, number_pages: bool, title: str) -> PdfWriter:
    writer = PdfWriter()
    for part in parts:
        source = io.BytesIO(part) if isinstance(part, bytes | bytearray) else part
        writer.append(PdfReader(source), import_outline=True)
    if footer or number_pages:
        _stamp_footer(writer, footer, number_pages)
    if title:
        writer.add_metadata({"/Title": title, "/Creator": "Advisor Reports"})
    return writer


def write_merged_pdf(
    parts: Iterable[bytes | IO[bytes]],
    dest: IO[bytes],
    *,
    footer: str = "",
    number_pages: bool = True,
    title: str = "",
) -> int:
    """Merge rendered parts, in order, into one PDF written to ``dest``; stamp the footer and
    page numbers. Returns the page count."""
    writer = _writer(parts, footer, number_pages, title)
    writer.write(dest)
    return len(writer.pages)


def footer_text(title: str, generated_at: datetime) -> str:
    """The footer stamped on every page of the merged PDF (beside "Page i of n")."""
    return f"{title} \u00b7 Generated {generated_at.strftime('%Y-%m-%d')}"
