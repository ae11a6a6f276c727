"""Charts for the reports: self-contained SVG markup, the same drawing in the HTML and the PDF.

Pure functions of their data: no script, no external resource, no random ids, so the same
data gives the same bytes. Every label is escaped (and stripped of characters XML cannot
carry); every bar shows its value as text, not only as a length; colours come from
colour-blind-safe palettes (Okabe-Ito for categories, Paul Tol's "vibrant" for impact), and
text is never smaller than 8.5 units.

Units: one SVG user unit is one PDF point. A chart is drawn at the ``width`` it is given and
must be shown at that size (``pdf_image`` does so), so its text keeps its size in print. In
the HTML the markup is inlined as it is (``max-width: 100%`` scales it down on a phone).

``target="pdf"`` lays out text for svglib, which xhtml2pdf draws SVG images with: svglib sets a
whole ``<text>`` in one font, so a label mixing scripts is cut into runs (ReportSans,
ReportCJK, see :mod:`shared.rendering.typeface`) placed at measured positions. The browser
does that itself, so ``target="html"`` keeps each label one string in the system's sans-serif.

Long lists are capped: beyond ``max_items`` the rest are summed into one "N more" bar.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Sequence
from typing import Literal

from markupsafe import Markup

from . import typeface

Target = Literal["html", "pdf"]

# Okabe & Ito (2008), distinguishable with every common colour-vision deficiency.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
# Paul Tol's "vibrant" red, orange and blue: ordered by severity, apart in lightness too.
IMPACT_COLORS = {"high": "#CC3311", "medium": "#EE7733", "low": "#0077BB", "other": "#BBBBBB"}
MORE_COLOR = "#BBBBBB"
TRACK_COLOR = "#EEF2F6"
TEXT_COLOR = "#1B2430"
MUTED_COLOR = "#5B6675"

FONT_SIZE = 9.0  # every label and value; the PDF's body text is 8.5-9 pt
ROW_HEIGHT = 17.0
BAR_HEIGHT = 11.0
GAP = 6.0
DEFAULT_WIDTH = 480.0
DEFAULT_MAX_ITEMS = 10
HTML_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_SIZE = re.compile(r'<svg [^>]*?width="([0-9.]+)" height="([0-9.]+)"')


def clean(text: object) -> str:
    """A label as text: characters XML cannot carry removed, white space runs made one space."""
    return " ".join(_XML_INVALID.sub("", str(text)).split())


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _num(value: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros (deterministic output)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def default_format(unit: str = "") -> Callable[[float], str]:
    """Whole numbers with thousands separators, others with two decimals; then the unit."""

    def fmt(value: float) -> str:
        number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
        return f"{number} {unit}" if unit else number

    return fmt


def _width(text: str, bold: bool = False) -> float:
    return typeface.text_width(text, FONT_SIZE, bold=bold)


def fit(text: str, width: float, *, bold: bool = False) -> str:
    """``text`` cut (with an ellipsis) so that it fits in ``width`` points."""
    if _width(text, bold) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if _width(text[:mid].rstrip() + "\u2026", bold) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "\u2026"


def _text(
    x: float,
    y: float,
    text: str,
    target: Target,
    *,
    anchor: str = "start",
    bold: bool = False,
    fill: str = TEXT_COLOR,
) -> str:
    """One line of text with its baseline at ``y``; ``anchor`` is start, middle or end."""
    weight = ' font-weight="bold"' if bold else ""
    common = f'font-size="{_num(FONT_SIZE)}" fill="{fill}"{weight}'
    if target == "html":
        anchor_attr = "" if anchor == "start" else f' text-anchor="{anchor}"'
        return f'<text x="{_num(x)}" y="{_num(y)}" {common}{anchor_attr}>{_esc(text)}</text>'
    # PDF (svglib): start-anchored runs at measured positions, each in its own font.
    width = _width(text, bold)
    left = x - width if anchor == "end" else x - width / 2 if anchor == "middle" else x
    spans = []
    for run, font in typeface.runs(text, bold=bold):
        family = typeface.CJK if font == typeface.CJK else typeface.SANS
        spans.append(f'<tspan x="{_num(left)}" font-family="{family}">{_esc(run)}</tspan>')
        left += _width(run, bold)
    return f'<text y="{_num(y)}" {common}>{"".join(spans)}</text>'


def _svg(width: float, height: float, label: str, body: list[str], target: Target) -> Markup:
    font = f' font-family="{HTML_FONT}"' if target == "html" else f' font-family="{typeface.SANS}"'
    # Every piece of text in ``body`` and ``label`` went through _esc; numbers are formatted here.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" role="img" aria-label="{_esc(label)}"{font}>'
        f"<title>{_esc(label)}</title>{''.join(body)}</svg>"
    )


def _empty(width: float, title: str, message: str, target: Target) -> Markup:
    height = ROW_HEIGHT + 6
    text = _text(0, height / 2 + FONT_SIZE / 3, message, target, fill=MUTED_COLOR)
    return _svg(width, height, f"{title}: {message}" if title else message, [text], target)


def cap(items: Sequence[tuple[str, float]], max_items: int) -> list[tuple[str, float, bool]]:
    """The first ``max_items - 1`` items and one "N more" item summing the rest (flagged True)
    when there are more than ``max_items``; else all of them."""
    rows = [(clean(label), float(value), False) for label, value in items]
    if len(rows) <= max_items:
        return rows
    keep, rest = rows[: max_items - 1], rows[max_items - 1 :]
    return [*keep, (f"{len(rest)} more", sum(v for _, v, _ in rest), True)]


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    unit: str = "",
    width: float = DEFAULT_WIDTH,
    colors: Sequence[str] | None = None,
    max_items: int = DEFAULT_MAX_ITEMS,
    value_format: Callable[[float], str] | None = None,
    title: str = "",
    empty_text: str = "No data",
    target: Target = "html",
) -> Markup:
    """Horizontal bars, one per (label, value), in the order given, each with its value.

    ``colors``: one per item (cycled); the default is one colour for all. The "N more" bar is
    grey. Negative values are drawn as empty bars (the value is still printed).
    """
    if max_items < 2:
        raise ValueError("max_items must be at least 2")
    fmt = value_format or default_format(unit)
    rows = cap(items, max_items)
    if not rows:
        return _empty(width, title, empty_text, target)
    palette = list(colors or [PALETTE[0]])
    values = [fmt(v) for _, v, _ in rows]
    value_w = max(_width(v, True) for v in values)
    label_w = min(max(_width(label) for label, _, _ in rows), width * 0.4)
    bar_x = label_w + GAP
    bar_w = max(width - bar_x - GAP - value_w, 20.0)
    top = max((v for _, v, _ in rows), default=0.0)
    body: list[str] = []
    for i, ((label, value, more), shown) in enumerate(zip(rows, values, strict=True)):
        y = i * ROW_HEIGHT
        baseline = y + ROW_HEIGHT / 2 + FONT_SIZE / 3
        color = MORE_COLOR if more else palette[i % len(palette)]
        length = bar_w * value / top if top > 0 and value > 0 else 0.0
        body.append(_text(0, baseline, fit(label, label_w), target, fill=MUTED_COLOR if more else TEXT_COLOR))
        bar_y = y + (ROW_HEIGHT - BAR_HEIGHT) / 2
        body.append(
            f'<rect x="{_num(bar_x)}" y="{_num(bar_y)}" width="{_num(bar_w)}" '
            f'height="{_num(BAR_HEIGHT)}" fill="{TRACK_COLOR}"/>'
        )
        if length > 0:
            body.append(
                f'<rect x="{_num(bar_x)}" y="{_num(bar_y)}" width="{_num(max(length, 1.0))}" '
                f'height="{_num(BAR_HEIGHT)}" fill="{color}"/>'
            )
        body.append(_text(width, baseline, shown, target, anchor="end", bold=True))
    return _svg(width, len(rows) * ROW_HEIGHT, title or "Bar chart", body, target)


def _contrast(color: str) -> str:
    """Black or white text, whichever reads better on ``color`` (#rrggbb)."""
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#000000" if luminance > 0.25 else "#FFFFFF"


def _legend(
    series: Sequence[str], colors: Sequence[str], width: float, target: Target
) -> tuple[list[str], float]:
    """Swatches and names, wrapped onto as many lines as ``width`` needs; returns its height."""
    body: list[str] = []
    x, y = 0.0, 0.0
    for name, color in zip(series, colors, strict=False):
        item_w = BAR_HEIGHT + 4 + _width(name) + 14
        if x and x + item_w > width:
            x, y = 0.0, y + ROW_HEIGHT
        body.append(
            f'<rect x="{_num(x)}" y="{_num(y + (ROW_HEIGHT - BAR_HEIGHT) / 2)}" width="{_num(BAR_HEIGHT)}" '
            f'height="{_num(BAR_HEIGHT)}" fill="{color}"/>'
        )
        body.append(_text(x + BAR_HEIGHT + 4, y + ROW_HEIGHT / 2 + FONT_SIZE / 3, name, target))
        x += item_w
    return body, y + ROW_HEIGHT + 4


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str],
    *,
    colors: Sequence[str] | None = None,
    unit: str = "",
    width: float = DEFAULT_WIDTH,
    max_items: int = DEFAULT_MAX_ITEMS,
    value_format: Callable[[float], str] | None = None,
    title: str = "",
    empty_text: str = "No data",
    target: Target = "html",
) -> Markup:
    """One horizontal bar per row, split into one segment per series (e.g. category x impact),
    with a legend above and each row's total at its end; a segment wide enough for its value
    carries it. ``rows`` are (label, one value per series)."""
    if max_items < 2:
        raise ValueError("max_items must be at least 2")
    names = [clean(s) for s in series]
    if any(len(values) != len(names) for _, values in rows):
        raise ValueError("every row needs one value per series")
    fmt = value_format or default_format(unit)
    palette = list(colors or [IMPACT_COLORS["high"], IMPACT_COLORS["medium"], IMPACT_COLORS["low"], *PALETTE])
    kept = list(rows)
    more_label = ""
    if len(kept) > max_items:
        rest = kept[max_items - 1 :]
        kept = kept[: max_items - 1]
        more_label = f"{len(rest)} more"
        kept.append((more_label, [sum(float(v[i]) for _, v in rest) for i in range(len(names))]))
    if not kept or not names:
        return _empty(width, title, empty_text, target)
    body, top_y = _legend(names, palette, width, target)
    labels = [
        more_label if more_label and i == len(kept) - 1 else clean(label) for i, (label, _) in enumerate(kept)
    ]
    totals = [sum(max(float(v), 0.0) for v in values) for _, values in kept]
    shown = [fmt(t) for t in totals]
    value_w = max(_width(s, True) for s in shown)
    label_w = min(max(_width(label) for label in labels), width * 0.35)
    bar_x = label_w + GAP
    bar_w = max(width - bar_x - GAP - value_w, 20.0)
    top = max(totals, default=0.0)
    for i, ((_, values), label, total_text) in enumerate(zip(kept, labels, shown, strict=True)):
        y = top_y + i * ROW_HEIGHT
        baseline = y + ROW_HEIGHT / 2 + FONT_SIZE / 3
        bar_y = y + (ROW_HEIGHT - BAR_HEIGHT) / 2
        body.append(_text(0, baseline, fit(label, label_w), target))
        body.append(
            f'<rect x="{_num(bar_x)}" y="{_num(bar_y)}" width="{_num(bar_w)}" '
            f'height="{_num(BAR_HEIGHT)}" fill="{TRACK_COLOR}"/>'
        )
        x = bar_x
        for j, value in enumerate(values):
            value = max(float(value), 0.0)
            if value <= 0 or top <= 0:
                continue
            seg = bar_w * value / top
            color = palette[j % len(palette)]
            body.append(
                f'<rect x="{_num(x)}" y="{_num(bar_y)}" width="{_num(max(seg, 1.0))}" '
                f'height="{_num(BAR_HEIGHT)}" fill="{color}"/>'
            )
            text = fmt(value)
            if _width(text) + 4 <= seg:
                body.append(
                    _text(x + seg / 2, baseline, text, target, anchor="middle", fill=_contrast(color))
                )
            x += seg
        body.append(_text(width, baseline, total_text, target, anchor="end", bold=True))
    return _svg(width, top_y + len(kept) * ROW_HEIGHT, title or "Stacked bar chart", body, target)


def svg_data_uri(svg: str) -> str:
    """The SVG as a ``data:image/svg+xml;base64,`` URI (what the PDF's ``<img>`` takes)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def svg_size(svg: str) -> tuple[float, float]:
    """The width and height (points) a chart of this module was drawn at."""
    match = _SIZE.search(svg)
    if not match:
        raise ValueError("not a chart of shared.rendering.charts (no width and height)")
    return float(match.group(1)), float(match.group(2))


def pdf_image(svg: str) -> Markup:
    """The ``<img>`` that puts a chart (drawn with ``target="pdf"``) into the PDF markup at its
    own size; xhtml2pdf draws it as vectors through svglib, text included."""
    width, height = svg_size(svg)
    return Markup('<img src="{}" width="{}pt" height="{}pt">').format(
        svg_data_uri(svg), _num(width), _num(height)
    )
