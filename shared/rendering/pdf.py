"""The PDF report: rendered in parts, merged with pypdf.

Why parts (measured, see docs/architecture.md): the renderers' time is superlinear in the size
of one document and their memory grows with it. So the report is cut into a summary part and
detail parts of about ``rows_per_part`` affected-resource rows, each rendered on its own and
merged at the end. Memory is bounded by one part, and the app renders parts in parallel
activities (``shared.pipeline``):

    specs = plan_pdf_parts(summary, rows_per_part, context=context)  # once, at summarize
    render_pdf_part(context, specs[i])                # one activity per part
    write_merged_pdf(parts, dest, footer=..., title=...)  # assemble: + footer and page numbers

The plan is made with the report's context and says where every page starts
(``pdf_layout``): parts are whole pages, so no page but the last is left part-empty, and the
summary part ends with the detail rows that fit below the summary. The summary is rendered by
xhtml2pdf from ``pdf_summary.j2``; the detail rows are drawn by reportlab from the plan
(``pdf_tables``), about three times faster than the same tables through xhtml2pdf. Every
font is the report's own, embedded (``typeface``); the footer and page numbers are stamped at
the merge in the same fonts.

Remote content is never fetched: the templates reference no resources, text from the API is
escaped, and every render runs with a link callback that answers every URL with an empty inline
resource (except the logo's and the charts' own inline data) and a resource policy that
refuses network and file reads (see ``_link_callback``).
"""

from __future__ import annotations

import gc
import io
import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, KeepTogether, Paragraph
from reportlab.platypus.flowables import _listWrapOn
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy
from xhtml2pdf.xhtml2pdf_reportlab import PmlBaseDoc

from shared.summary import ReportSummary

from . import pdf_layout, pdf_tables, typeface
from .environment import (
    CATEGORY_COLORS,
    get_environment,
)
from .logo import KINDS as LOGO_KINDS

log = logging.getLogger(__name__)

DEFAULT_ROWS_PER_PART = 1000
TABLE_ROWS = 100  # rows per table at most (a page holds fewer; a plan without pages may not)

SUMMARY_TEMPLATE = "pdf_summary.j2"

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


Slice = tuple[int, int, int]  # (group index, first row, end row) within the ordered groups


@dataclass(frozen=True)
class PartSpec:
    """One PDF part: the summary, or a slice of the detail rows (global row offsets).

    ``groups`` lists (group index, first row, end row) within the summary's ordered groups; for
    the summary part, the detail rows that end its last page (maybe none). ``breaks`` are the
    global row offsets where the part starts a new page (planned: see ``pdf_layout``); a plan
    made without the report's context has none and leaves page breaks to xhtml2pdf.
    ``total_rows`` lets the renderer check that the summary it gets is the one planned for.
    """

    index: int
    kind: str  # "summary" | "detail"
    start: int = 0
    stop: int = 0
    groups: tuple[Slice, ...] = ()
    total_rows: int = 0
    part_count: int = 1
    breaks: tuple[int, ...] = ()

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
            "breaks": list(self.breaks),
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
            breaks=tuple(int(b) for b in data.get("breaks") or ()),
        )


def plan_pdf_parts(
    summary: ReportSummary,
    rows_per_part: int = DEFAULT_ROWS_PER_PART,
    *,
    include_details: bool = True,
    context: Mapping[str, Any] | None = None,
) -> list[PartSpec]:
    """Part 0 is the summary; then detail parts of about ``rows_per_part`` rows each.

    With the report's ``context`` (what the parts will be rendered from) the plan is paginated:
    the summary is rendered once to see how much of its last page is left, that space takes
    the first detail rows, and the detail parts are cut into whole pages (``pdf_layout``), so
    no page but the report's last is left part-empty. Without it, parts are cut at exactly
    ``rows_per_part`` rows and xhtml2pdf breaks the pages.

    ``include_details=False`` (the executive report) plans the summary part only.
    """
    if rows_per_part < 1:
        raise ValueError("rows_per_part must be at least 1")
    details = include_details and summary.row_count > 0
    if details and not summary.has_rows:
        raise ValueError("a summary rebuilt from its dict form has no rows to plan parts for")
    if not details:
        return [PartSpec(index=0, kind="summary", total_rows=summary.row_count)]
    if context is None:
        return _specs(summary.row_count, [], [[s] for s in _row_slices(summary, rows_per_part)])
    layout = pdf_layout.Layout.of(context)
    tail = pdf_layout.fill_tail(layout, _space_after_summary(context))
    start = sum(end - first for _, first, end in tail)
    pages = pdf_layout.paginate(
        layout, pdf_layout.LANDSCAPE, first_capacity=None if not start else _full_page(), start=start
    )
    parts: list[list[list[Slice]]] = []  # parts -> pages -> slices
    rows = rows_per_part
    for page in pages:
        if rows >= rows_per_part:
            parts.append([])
            rows = 0
        parts[-1].append(page.slices)
        rows += page.rows
    return _specs(summary.row_count, tail, parts)


def _full_page() -> float:
    return pdf_layout.FRAME[pdf_layout.LANDSCAPE][1] * pdf_layout.FILL


def _row_slices(summary: ReportSummary, rows_per_part: int) -> list[list[Slice]]:
    """The detail rows cut into runs of ``rows_per_part`` (groups split where they must)."""
    out: list[list[Slice]] = []
    current: list[Slice] = []
    room = rows_per_part
    for gi, group in enumerate(summary.groups):
        first = 0
        while first < group.count:
            take = min(room, group.count - first)
            current.append((gi, first, first + take))
            first += take
            room -= take
            if room == 0:
                out.append(current)
                current, room = [], rows_per_part
    if current:
        out.append(current)
    return out


def _merge(slices: Sequence[Slice]) -> list[Slice]:
    """Consecutive slices of one group (split only by a page break) as one."""
    out: list[Slice] = []
    for gi, first, end in slices:
        if out and out[-1][0] == gi and out[-1][2] == first:
            out[-1] = (gi, out[-1][1], end)
        else:
            out.append((gi, first, end))
    return out


def _specs(total: int, tail: Sequence[Slice], parts: Sequence[Sequence[Sequence[Slice]]]) -> list[PartSpec]:
    count = 1 + len(parts)
    offset = sum(end - first for _, first, end in tail)
    specs = [
        PartSpec(index=0, kind="summary", stop=offset, groups=tuple(tail), total_rows=total, part_count=count)
    ]
    for i, pages in enumerate(parts, start=1):
        start = offset
        breaks = []
        for page in pages:
            if offset > start:
                breaks.append(offset)
            offset += sum(end - first for _, first, end in page)
        specs.append(
            PartSpec(
                index=i,
                kind="detail",
                start=start,
                stop=offset,
                groups=tuple(_merge([s for page in pages for s in page])),
                total_rows=total,
                part_count=count,
                breaks=tuple(breaks),
            )
        )
    return specs


# What is left below the summary's last line: the lowest text, less its descent and a gap for
# whatever box or padding closes the summary, above the bottom margin.
_DESCENT = 0.3  # of the font size
_CLOSING_GAP = 12.0  # pt
_BOTTOM_MARGIN = 16 * pdf_layout.MM


def _summary_end(pdf: bytes) -> tuple[PdfReader, float]:
    """The summary part's reader and how far up its last page its content ends (points from
    the bottom edge, with the closing gap): where the detail rows that follow it may start."""
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[-1]
    lowest = [float(page.mediabox.height)]

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text.strip():
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            lowest.append(y - _DESCENT * size * abs(cm[3] or 1))

    page.extract_text(visitor_text=visit)
    return reader, min(lowest) - _CLOSING_GAP


def _space_after_summary(context: Mapping[str, Any]) -> float:
    """Points free at the bottom of the summary's last page, measured on the summary rendered."""
    summary_only = PartSpec(index=0, kind="summary", total_rows=context["summary"].row_count)
    # the summary alone: without the appendix a last part carries (render_pdf_part)
    _, end = _summary_end(_render_part(context, summary_only))
    return max(end - _BOTTOM_MARGIN, 0.0)


def dump_pdf_plan(specs: Sequence[PartSpec]) -> bytes:
    """The plan as stored beside the summary: summarize plans once, every part reads it."""
    return json.dumps({"parts": [s.to_dict() for s in specs]}, separators=(",", ":")).encode("utf-8")


def load_pdf_plan(data: bytes) -> list[PartSpec]:
    return [PartSpec.from_dict(p) for p in json.loads(data)["parts"]]


# --- tables of a part ---------------------------------------------------------------------


def _tables(context: Mapping[str, Any], spec: PartSpec, orientation: str) -> list[pdf_layout.Table]:
    """The part's tables: one per group slice, cut at the planned page breaks (a new table,
    its heading "(continued)", on the next page) and at TABLE_ROWS rows."""
    layout = pdf_layout.Layout.of(context)
    breaks = set(spec.breaks)
    tables: list[pdf_layout.Table] = []
    offset = spec.start
    for gi, first, end in spec.groups:
        cut = first
        for i in range(first, end):
            if i > cut and (offset + i - first in breaks or i - cut >= TABLE_ROWS):
                tables.append(layout.table(gi, cut, i, orientation, new_page=offset + cut - first in breaks))
                cut = i
        tables.append(layout.table(gi, cut, end, orientation, new_page=offset + cut - first in breaks))
        offset += end - first
    return tables


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


class _KeepWithStart(KeepTogether):  # type: ignore[misc]
    """keep-with-next (the templates' headings) that needs only the start of what follows.

    reportlab keeps a heading and the whole block after it together, so a heading before a
    table taller than what is left of the page moved both to the next page and left the rest
    of this one blank. Here, when the heading and the first piece of the block fit, they stay;
    only when not even that fits does the heading go to the next page with its block."""

    def split(self, aW: float, aH: float) -> list[Any]:  # noqa: N803 - reportlab's names
        if getattr(self, "_wrapInfo", None) != (aW, aH):
            self.wrap(aW, aH)
        *heads, follow = self._content
        if heads and self._H > aH:
            _, used = _listWrapOn(heads, aW, self.canv)
            # _listWrapOn leaves out the last heading's space after it and the block's space
            # before it; without them the first piece could be measured to fit and then not,
            # which left the heading alone at the foot of the page.
            room = aH - used - heads[-1].getSpaceAfter() - follow.getSpaceBefore()
            pieces = follow.splitOn(self.canv, aW, room) if room > 0 else []
            if len(pieces) >= 2 and _has_body(pieces[0]):
                more = [_continued(heads[-1])] if _is_heading(heads[-1]) else []
                return [*heads, pieces[0], *more, *pieces[1:]]
        return list(super().split(aW, aH))


def _has_body(piece: Any) -> bool:
    """Whether the first piece of a split block shows more than a table's header row."""
    return getattr(piece, "_nrows", 2) >= 2


class _ContinuedHeading(Paragraph):  # type: ignore[misc]
    """A section heading repeated, marked "(continued)", where its block runs onto a page."""


def _is_heading(flowable: Any) -> bool:
    return isinstance(flowable, _ContinuedHeading) or getattr(flowable, "outlineLevel", None) is not None


def _continued(heading: Any) -> _ContinuedHeading:
    if isinstance(heading, _ContinuedHeading):
        return _ContinuedHeading(heading.text, heading.style)
    style = heading.style
    copy = ParagraphStyle(
        "continued",
        fontName=style.fontName,
        fontSize=style.fontSize,
        leading=style.leading,
        textColor=style.textColor,
        spaceAfter=5,
        keepWithNext=1,
    )
    return _ContinuedHeading(pdf_tables.text(f"{heading.getPlainText().strip()} (continued)"), copy)


# Every xhtml2pdf document groups keep-with-next flowables with this class.
PmlBaseDoc._initArgs = {**BaseDocTemplate._initArgs, "keepTogetherClass": _KeepWithStart}


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


def _checked(context: Mapping[str, Any], part_spec: PartSpec | Mapping[str, Any]) -> PartSpec:
    spec = part_spec if isinstance(part_spec, PartSpec) else PartSpec.from_dict(part_spec)
    summary: ReportSummary = context["summary"]
    if spec.total_rows != summary.row_count:
        raise ValueError(
            f"part {spec.index} was planned for {spec.total_rows} rows but the summary has "
            f"{summary.row_count}: plan and render from the same data"
        )
    if spec.kind not in ("summary", "detail"):
        raise ValueError(f"unknown part kind {spec.kind!r}")
    if spec.kind == "detail" and not context["report"]["show_resources"]:
        raise ValueError("this report type has no detail parts")
    return spec


def render_part_html(context: Mapping[str, Any], part_spec: PartSpec | Mapping[str, Any]) -> str:
    """The xhtml2pdf markup of the summary part (exposed for tests and debugging); the detail
    tables have none, they are drawn by ``pdf_tables``."""
    spec = _checked(context, part_spec)
    if spec.kind != "summary":
        raise ValueError("only the summary part is rendered from markup")
    values = {
        **context,
        "part": spec,
        "layout": _layout(),
        "category_colors": CATEGORY_COLORS,
        "font_family": typeface.FAMILY,
        "orientation": pdf_layout.PORTRAIT,
    }
    return get_environment().get_template(SUMMARY_TEMPLATE).render(values)


def detail_tables(
    context: Mapping[str, Any], part_spec: PartSpec | Mapping[str, Any]
) -> list[pdf_layout.Table]:
    """The tables a part draws, as planned (exposed for tests)."""
    spec = _checked(context, part_spec)
    orientation = pdf_layout.PORTRAIT if spec.kind == "summary" else pdf_layout.LANDSCAPE
    return _tables(context, spec, orientation) if spec.groups else []


def _layout() -> dict[str, Any]:
    """The sizes pdf_layout measures with, for the summary's CSS (one source for both)."""
    x = pdf_layout.CELL_PAD_X
    return {
        "font_size": pdf_layout.FONT_SIZE,
        "leading": pdf_layout.LEADING,
        "pad": f"{pdf_layout.CELL_PAD_TOP}pt {x}pt {pdf_layout.CELL_PAD_BOTTOM}pt {x}pt",
        "head_pad": f"{pdf_layout.HEAD_PAD_TOP}pt {x}pt {pdf_layout.HEAD_PAD_BOTTOM}pt {x}pt",
    }


def render_pdf_part(context: Mapping[str, Any], part_spec: PartSpec | Mapping[str, Any]) -> bytes:
    """Render one planned part to PDF bytes (a document of its own).

    The summary part is xhtml2pdf's (the templates); the detail rows are drawn by reportlab
    (``pdf_tables``): a detail part's pages entirely, and in the summary part the rows planned
    below the summary, laid over its last page."""
    spec = _checked(context, part_spec)
    return _render_part(context, spec, appendix=_has_appendix(context, spec))


def _has_appendix(context: Mapping[str, Any], spec: PartSpec) -> bool:
    """The subscriptions appendix ends the last part when the body lists only some of them."""
    last = spec.index == spec.part_count - 1
    return last and bool(context.get("scope_appendix")) and context["report"]["type"] != "executive"


def _appendix(context: Mapping[str, Any], orientation: str) -> list[Any]:
    """The appendix's flowables (``pdf_tables.appendix``), for the last part's frame width."""
    return pdf_tables.appendix(
        context["subscriptions"],
        savings=bool(context["report"]["has_savings"]),
        width=pdf_layout.FRAME[orientation][0],
    )


def _render_part(context: Mapping[str, Any], spec: PartSpec, *, appendix: bool = False) -> bytes:
    """One part; with ``appendix``, the subscriptions appendix flowed on after its last rows
    (no page of its own: the last detail page is filled by it before it runs on)."""
    cost = bool(context["report"]["cost_columns"])
    title = str(context["report"].get("detail_title") or pdf_tables.SECTION_TITLE)
    tables = detail_tables(context, spec)
    if spec.kind == "detail":
        after = _appendix(context, pdf_layout.LANDSCAPE) if appendix else []
        return pdf_tables.render_detail_pages(
            tables, cost=cost, section=spec.start == 0, title=title, after=after
        )
    summary = html_to_pdf(render_part_html(context, spec))
    after = _appendix(context, pdf_layout.PORTRAIT) if appendix else []
    if not tables and not after:
        return summary
    reader, end = _summary_end(summary)
    tail = PdfReader(
        io.BytesIO(pdf_tables.render_tail(tables, cost=cost, frame_top=end, title=title, after=after))
    )
    writer = PdfWriter(clone_from=reader)
    writer.pages[-1].merge_page(tail.pages[0])
    for extra in tail.pages[1:]:  # the appendix; rows only if the plan and this render disagree
        if not after:
            log.warning("Detail rows planned below the summary ran onto a page of their own")
        writer.add_page(extra)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- merging ------------------------------------------------------------------------------

_FOOTER_SIZE = 8.5
_FOOTER_COLOR = (0.36, 0.4, 0.46)
_FONT_NAME = re.compile(rb"/(F\d+(?:\+\d+)?) ")


def _footer_overlay(sizes: Sequence[tuple[float, float]], footer: str, number_pages: bool) -> bytes:
    """One page per page of the merged file, with its footer and page number only, drawn by
    reportlab in the report's own fonts (embedded), so any title prints."""
    typeface.register()
    out = io.BytesIO()
    canvas = Canvas(out, initialFontName=typeface.SANS, pageCompression=1)
    total = len(sizes)
    margin, baseline = 14 * pdf_layout.MM, 7 * pdf_layout.MM
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
