"""Page layout of the PDF's detail tables: what each row and heading measures, and which rows
go on which page, decided before anything is rendered.

Every row of a detail table gets an explicit height, computed here from its text measured in
the PDF's own fonts (:mod:`typeface`) at the width of its column; a table row with a height
is laid out at exactly that height by reportlab. So the height of a page's content is known
in advance, and the plan can say where every page starts:

- each page of a detail part holds the tables planned for it and then an explicit page break,
  so every page but a part's last is full (to ``FILL`` of the frame, a margin for rounding);
- parts are cut at page boundaries, so a part's last page is full too (the parts are still
  rendered independently, in parallel);
- a group cut by a page break starts the next page with its heading again, marked
  "(continued)", and the column headers;
- the summary part ends with as many detail rows as fit in what is left of its last page
  (measured by rendering the summary once when the plan is made).

Geometry: the summary part is A4 portrait, the detail parts A4 landscape (long names and
ids wrap less). Body text is 8.5 pt throughout.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.models import category_label
from shared.summary import RecommendationGroup, ResourceRow

from . import typeface
from .environment import (
    CATEGORY_COLORS,
    buyer_details,
    format_count,
    format_date,
    format_money,
    impact_label,
)

MM = 72 / 25.4
FONT_SIZE = 8.5  # pt: body text, table cells and headers
LEADING = 10.5  # pt
TITLE_SIZE = 10.0  # pt: a group's heading
TITLE_LEADING = 12.5  # pt
CELL_PAD_X = 3.5  # pt, left and right
CELL_PAD_TOP = 2.5  # pt
CELL_PAD_BOTTOM = 1.5  # pt
HEAD_PAD_TOP, HEAD_PAD_BOTTOM = 3.0, 2.0  # pt, the column headers
GROUP_PAD_X = 5.0  # pt, the group heading's cells
TITLE_PAD_TOP, TITLE_PAD_BOTTOM = 5.0, 1.0
NOTES_PAD_BOTTOM = 4.0
TABLE_GAP = 10.0  # pt, above every table
SECTION_HEIGHT = 42.0  # pt, the "Recommendations and affected resources" heading with its margins
MAX_ROW_LINES = 24
FILL = 0.98  # of a page's frame that the plan fills, the rest a margin for rounding
# Words wrap at spaces; a word wider than its column (an id, a long name) is broken where it
# has to be. Estimates err on the side of one line more: a row taller than its text is only
# white space, a row shorter than its text would overlap the next.
WRAP_MARGIN = 0.97

# Page frames (inside the margins of pdf_base.j2: 14 mm, 16 mm at the bottom), in points.
PORTRAIT = "portrait"
LANDSCAPE = "landscape"
FRAME = {
    PORTRAIT: (182 * MM, (297 - 30) * MM),
    LANDSCAPE: (269 * MM, (210 - 30) * MM),
}

# Column widths in mm, per orientation; each set adds up to the frame's width.
_NAMES = {
    "standard": ("Resource", "Resource group", "Subscription", "Impact \u00b7 updated", "Savings / month"),
    "plain": ("Resource", "Resource group", "Subscription", "Impact \u00b7 updated"),
    "cost": (
        "Resource",
        "Resource group",
        "Subscription",
        "Recommended change",
        "Impact \u00b7 updated",
        "Monthly / annual",
    ),
}
# Impact and date share a cell: xhtml2pdf's time follows the number of cells (measured: a sixth
# cell per row costs a quarter more time), and both are short.
_WIDTHS = {
    PORTRAIT: {"standard": (44, 32, 41, 37, 28), "plain": (56, 44, 45, 37), "cost": (32, 22, 26, 35, 37, 30)},
    LANDSCAPE: {
        "standard": (80, 54, 62, 37, 36),
        "plain": (95, 65, 72, 37),
        "cost": (56, 38, 42, 64, 37, 32),
    },
}
_COLUMNS = {
    orientation: {kind: tuple(zip(_NAMES[kind], widths, strict=True)) for kind, widths in sets.items()}
    for orientation, sets in _WIDTHS.items()
}


def columns(orientation: str, *, cost: bool, savings: bool) -> tuple[tuple[str, float], ...]:
    kind = "cost" if cost else ("standard" if savings else "plain")
    return _COLUMNS[orientation][kind]


def lines(text: str, width: float, size: float = FONT_SIZE, *, bold: bool = False) -> int:
    """How many lines ``text`` takes in ``width`` points (greedy at spaces, like reportlab;
    a word wider than the line broken into as many lines as it needs)."""
    if not text:
        return 1
    width *= WRAP_MARGIN
    space = typeface.text_width(" ", size, bold=bold)
    count, used = 1, 0.0
    for word in text.split():
        w = typeface.text_width(word, size, bold=bold)
        if w > width:
            extra = math.ceil(w / width)
            count += extra - (1 if used == 0 else 0)
            used = w - (extra - 1) * width
        elif used and used + space + w > width:
            count += 1
            used = w
        else:
            used = used + space + w if used else w
    return count


_SEPARATORS = re.compile(r"(?<=[-_/.:])(?=[^-_/.:])")


def breakable(text: str, width: float, size: float = FONT_SIZE) -> str:
    """``text`` with a space after a separator (- _ / . :) where a word too wide for its column
    must wrap, so that reportlab breaks ids and long names there rather than anywhere inside a
    word. The spaces go only where the line ends (the same greedy fill reportlab does, in the
    same fonts), so none shows in the middle of a line. Words that fit are left alone."""
    words = text.split(" ")
    if all(typeface.text_width(w, size) <= width for w in words):
        return text
    space = typeface.text_width(" ", size)
    out: list[str] = []
    used = 0.0
    for word in words:
        pieces = _SEPARATORS.split(word) if typeface.text_width(word, size) > width else [word]
        for k, piece in enumerate(pieces):
            w = typeface.text_width(piece, size)
            gap = space if (k == 0 and used) else 0.0
            if used and used + gap + w > width:
                out.append(" " if k else "")  # k > 0: a break inside the word, made a space
                used = 0.0
                gap = 0.0
            elif k == 0 and out:
                out.append(" ")
            out.append(piece)
            used += gap + w
    return "".join(out).strip()


def truncate(text: str, length: int) -> str:
    """As the templates' ``truncate(length, True, "…", 0)``."""
    return text if len(text) <= length else text[: length - 1] + "\u2026"


@dataclass(slots=True)
class Row:
    """A detail row as the template prints it: the strings of each cell and the row height."""

    name: str
    group: str
    subscription: str
    impact: str  # with the date it was last updated: "High \u00b7 2026-11-30"
    change: str = ""
    monthly: str = ""
    annual: str = ""
    points: float = 0.0

    @property
    def height(self) -> str:
        return f"{self.points:.1f}pt"


def row(
    data: ResourceRow,
    cols: Sequence[tuple[str, float]],
    *,
    cost: bool,
    savings: bool,
    names: Mapping[str, str],
) -> Row:
    usable = [w * MM - 2 * CELL_PAD_X for _, w in cols]
    out = Row(
        name=breakable(data.resource_name or "(unnamed resource)", usable[0]),
        group=breakable(data.resource_group or "Subscription-level", usable[1]),
        subscription=breakable(names.get(data.subscription_id) or data.subscription_id, usable[2]),
        impact=" \u00b7 ".join(t for t in (impact_label(data.impact), format_date(data.last_updated)) if t),
    )
    count = max(lines(out.name, usable[0]), lines(out.group, usable[1]), lines(out.subscription, usable[2]))
    count = max(count, lines(out.impact, usable[4 if cost else 3]))
    if cost:
        out.change = buyer_details(data)
        if data.variants > 1:
            out.change += f" ({data.variants - 1} more variant{'s' if data.variants > 2 else ''} not counted)"
        count = max(count, lines(out.change, usable[3]))
    if savings and data.has_savings:
        out.monthly = format_money(data.monthly_savings, data.currency)
        out.annual = format_money(data.annual_savings, data.currency)
        count = max(count, lines(out.monthly, usable[-1]) + (lines(out.annual, usable[-1]) if cost else 0))
    # Capped well below a page: a pathological value is cut rather than overflowing the page.
    out.points = min(count, MAX_ROW_LINES) * LEADING + CELL_PAD_TOP + CELL_PAD_BOTTOM + 0.5
    return out


@dataclass(slots=True)
class Heading:
    """A group's heading: its title, a line of facts, then notes (solution, benefits, link)."""

    title: str
    category: str
    category_color: str
    facts: str  # after the category: impact, count, savings
    notes: list[tuple[str, str]]  # (label, text); none when continued (title row only)
    link: str
    title_points: float = 0.0
    notes_points: float = 0.0

    @property
    def title_height(self) -> str:
        return f"{self.title_points:.1f}pt"

    @property
    def notes_height(self) -> str:
        return f"{self.notes_points:.1f}pt"

    @property
    def points(self) -> float:
        return self.title_points + self.notes_points


def heading(group: RecommendationGroup, number: int, continued: bool, width: float) -> Heading:
    title = f"{number}. {truncate(group.problem or '(no description)', 300)}"
    if continued:
        title += " (continued)"
    facts = [
        *([group.area] if group.area else []),  # the workload area (the operations report's order)
        f"{impact_label(group.impact)} impact",
        f"{format_count(group.count)} affected resource{'s' if group.count != 1 else ''}",
    ]
    facts += [f"{format_money(s.monthly, s.currency)} / month" for s in group.savings_list()]
    if group.unknown_currency_count:
        facts.append(f"{format_count(group.unknown_currency_count)} with savings in an unknown currency")
    notes = [
        (label, truncate(text, 600))
        for label, text in (("Solution:", group.solution), ("Benefits:", group.potential_benefits))
        if text
    ]
    if group.learn_more_link:
        notes.append(("Learn more:", group.learn_more_link))
    out = Heading(
        title=title,
        category=category_label(group.category),
        category_color=CATEGORY_COLORS.get(group.category, CATEGORY_COLORS["other"]),
        facts=" \u00b7 ".join(["", *facts]),
        notes=notes,
        link=group.learn_more_link,
    )
    inner = width - 2 * GROUP_PAD_X
    out.title_points = (
        lines(title, inner, TITLE_SIZE, bold=True) * TITLE_LEADING + TITLE_PAD_TOP + TITLE_PAD_BOTTOM
    )
    if continued:  # the facts and notes were on the page the group started on
        out.notes = []
        out.title_points += NOTES_PAD_BOTTOM - TITLE_PAD_BOTTOM
        return out
    count = lines(out.category + out.facts, inner, bold=True)
    count += sum(lines(f"{label} {text}", inner, bold=True) for label, text in notes)
    out.notes_points = count * LEADING + NOTES_PAD_BOTTOM + 0.5
    return out


def header_points(cols: Sequence[tuple[str, float]]) -> float:
    """The column headers' row: the label that wraps the most decides."""
    count = max(lines(label, w * MM - 2 * CELL_PAD_X, bold=True) for label, w in cols)
    return count * LEADING + HEAD_PAD_TOP + HEAD_PAD_BOTTOM + 0.5


@dataclass(slots=True)
class Table:
    """One table of a part: a group's heading, the column headers, and rows of that group."""

    group: RecommendationGroup
    number: int
    continued: bool
    columns: Sequence[tuple[str, float]]
    savings: bool
    heading: Heading
    header_height: str
    rows: list[Row] = field(default_factory=list)
    new_page: bool = False  # an explicit page break before this table


@dataclass(frozen=True, slots=True)
class Layout:
    """What decides the rows' heights: the report's columns and subscription names."""

    groups: Sequence[RecommendationGroup]
    cost: bool
    names: Mapping[str, str]

    @classmethod
    def of(cls, context: Mapping[str, Any]) -> Layout:
        return cls(
            groups=context["groups"], cost=bool(context["report"]["cost_columns"]), names=context["sub_names"]
        )

    def table(self, gi: int, first: int, end: int, orientation: str, *, new_page: bool = False) -> Table:
        group = self.groups[gi]
        cols = columns(orientation, cost=self.cost, savings=group.has_savings)
        width = FRAME[orientation][0]
        rows = [
            row(r, cols, cost=self.cost, savings=group.has_savings, names=self.names)
            for r in group.rows[first:end]
        ]
        return Table(
            group=group,
            number=gi + 1,
            continued=first > 0,
            columns=cols,
            savings=group.has_savings,
            heading=heading(group, gi + 1, first > 0, width),
            header_height=f"{header_points(cols):.1f}pt",
            rows=rows,
            new_page=new_page,
        )


# --- pagination ---------------------------------------------------------------------------


@dataclass(slots=True)
class Page:
    """The rows planned for one page: (group index, first row, end row) slices, in order."""

    slices: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(end - first for _, first, end in self.slices)


class _Paginator:
    """Fills pages with the detail rows, group by group, in the order of the report."""

    def __init__(
        self, layout: Layout, orientation: str, capacity: float, *, strict_first: bool = False
    ) -> None:
        self.layout = layout
        # strict_first: the first page (what is left after the summary) may stay empty
        self.strict_first = strict_first
        self.orientation = orientation
        self.capacity = capacity  # of the page being filled
        self.full = FRAME[orientation][1] * FILL
        self.pages: list[Page] = [Page()]
        self.left = capacity

    def _new_page(self) -> None:
        self.pages.append(Page())
        self.left = self.full

    def _fixed(self, gi: int, first: int) -> float:
        """A table's height before its rows: the gap, the group heading, the column headers."""
        group = self.layout.groups[gi]
        cols = columns(self.orientation, cost=self.layout.cost, savings=group.has_savings)
        head = heading(group, gi + 1, first > 0, FRAME[self.orientation][0])
        return TABLE_GAP + head.points + header_points(cols)

    def _heights(self, gi: int) -> list[float]:
        group = self.layout.groups[gi]
        cols = columns(self.orientation, cost=self.layout.cost, savings=group.has_savings)
        return [
            row(r, cols, cost=self.layout.cost, savings=group.has_savings, names=self.layout.names).points
            for r in group.rows
        ]

    def add_group(self, gi: int, start: int = 0, stop: int | None = None) -> None:
        heights = self._heights(gi)
        first, stop = start, len(heights) if stop is None else stop
        while first < stop:
            fixed = self._fixed(gi, first)
            # a heading never ends a page: it keeps at least two rows (or the group's last) with it
            keep = sum(heights[first : min(first + 2, stop)])
            empty = not self.pages[-1].rows and not (self.strict_first and len(self.pages) == 1)
            if self.left < fixed + keep and not empty:
                self._new_page()
                continue
            room = self.left - fixed
            end = first
            while end < stop and (heights[end] <= room or end == first):
                room -= heights[end]
                end += 1
            self.pages[-1].slices.append((gi, first, end))
            self.left = room
            first = end
            if first < stop:
                self._new_page()


def paginate(
    layout: Layout,
    orientation: str,
    *,
    first_capacity: float | None = None,
    start: int = 0,
) -> list[Page]:
    """Pages of detail rows from global row ``start`` on. The first page has
    ``first_capacity`` points (default: a full page less the section heading)."""
    full = FRAME[orientation][1] * FILL
    capacity = full - SECTION_HEIGHT if first_capacity is None else first_capacity
    paginator = _Paginator(layout, orientation, capacity)
    offset = 0
    for gi, group in enumerate(layout.groups):
        count = group.count
        if offset + count > start:
            paginator.add_group(gi, max(start - offset, 0), count)
        offset += count
    return [p for p in paginator.pages if p.rows]


def fill_tail(layout: Layout, capacity: float) -> list[tuple[int, int, int]]:
    """The detail rows that fit in ``capacity`` points after the summary (portrait), with the
    section heading: the first page of :func:`paginate` if it is not split off; else none."""
    if capacity < SECTION_HEIGHT + 60:
        return []
    paginator = _Paginator(layout, PORTRAIT, capacity - SECTION_HEIGHT, strict_first=True)
    for gi in range(len(layout.groups)):
        paginator.add_group(gi)
        if len(paginator.pages) > 1:
            break
    return paginator.pages[0].slices
