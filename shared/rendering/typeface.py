"""The PDF's typefaces: TrueType fonts shipped in ``fonts/``, embedded (subset) in every PDF.

Two families, so that any script a customer's names are written in renders:

- ``ReportSans``: DejaVu Sans, regular and bold (Latin with every European accent, Greek,
  Cyrillic, and the symbols the report uses);
- ``ReportCJK``: a CJK subset of WenQuanYi Micro Hei (Chinese, Japanese kana and kanji,
  Korean Hangul), one weight, which also stands for bold.

The PDF markup names both, ``font-family: ReportSans, ReportCJK``; xhtml2pdf picks, for each
character, the first family that has a glyph for it (as CSS does), so a name mixing scripts is
cut into runs of each font. Charts drawn through svglib get the same runs from
:func:`runs` (svglib draws a whole ``<text>`` in one font).

The fonts are registered with reportlab once per process (:func:`register`), from files, with
no lookup at render time: xhtml2pdf's render policy refuses every file read, so the families
are made known to it through its table of built-in family names rather than ``@font-face``.
Licences: ``fonts/LICENSE-DejaVu.txt``, ``fonts/NOTICE-WenQuanYi.txt`` (Apache-2.0).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from reportlab import rl_config
from reportlab.graphics import shapes
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import tables

FONT_DIR = Path(__file__).parent / "fonts"

SANS = "ReportSans"
SANS_BOLD = "ReportSans-Bold"
CJK = "ReportCJK"
# What the PDF templates and charts put in font-family: per character, the first that has it.
FAMILY = f"{SANS}, {CJK}"

_FILES = {
    SANS: "DejaVuSans.ttf",
    SANS_BOLD: "DejaVuSans-Bold.ttf",
    CJK: "WenQuanYiMicroHei-CJK.ttf",
}

_lock = threading.Lock()
_registered = False


def register() -> None:
    """Register the fonts with reportlab, xhtml2pdf and svglib; once per process, thread-safe."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        for name, file in _FILES.items():
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
        # bold/italic lookups (tt2ps): ReportSans has a bold; italic falls back to upright.
        for bold, italic, face in ((0, 0, SANS), (1, 0, SANS_BOLD), (0, 1, SANS), (1, 1, SANS_BOLD)):
            addMapping(SANS, bold, italic, face)
        for bold, italic in ((0, 0), (1, 0), (0, 1), (1, 1)):
            addMapping(CJK, bold, italic, CJK)
        # Every canvas (and so every xhtml2pdf document) starts in this font; left at Helvetica,
        # each PDF would name that non-embedded font even where no text uses it.
        rl_config.canvas_basefontname = SANS
        # ... and every table cell sets its style's font before drawing (read at import time).
        tables.CellStyle.fontname = SANS
        # ... and every chart drawing (svglib -> reportlab graphics) starts its state in this font.
        shapes.STATE_DEFAULTS["fontName"] = SANS
        _register_xhtml2pdf()
        _register_svglib()
        _registered = True


def _register_xhtml2pdf() -> None:
    # Every xhtml2pdf document starts from a copy of this table of family names.
    from xhtml2pdf import default

    default.DEFAULT_FONT[SANS.lower()] = SANS
    default.DEFAULT_FONT[CJK.lower()] = CJK


def _register_svglib() -> None:
    from svglib import fonts

    fonts.register_font(SANS, rlgFontName=SANS)
    fonts.register_font(SANS, weight="bold", rlgFontName=SANS_BOLD)
    fonts.register_font(CJK, rlgFontName=CJK)
    fonts.register_font(CJK, weight="bold", rlgFontName=CJK)


@lru_cache(maxsize=4)
def coverage(font_name: str) -> frozenset[int]:
    """The code points ``font_name`` (one of ours) has a glyph for."""
    register()
    font = pdfmetrics.getFont(font_name)
    return frozenset(font.face.charToGlyph)


def runs(text: str, *, bold: bool = False) -> list[tuple[str, str]]:
    """``text`` cut into (run, font name) pairs: ReportSans where it has the glyph, else
    ReportCJK where that has it, else ReportSans (which then draws its missing-glyph box)."""
    sans = SANS_BOLD if bold else SANS
    if text.isascii():
        return [(text, sans)] if text else []
    latin, cjk = coverage(sans), coverage(CJK)
    out: list[tuple[str, str]] = []
    for char in text:
        code = ord(char)
        font = CJK if code not in latin and code in cjk else sans
        if char == " " and out:
            font = out[-1][1]  # a space stays with the run it is in
        if out and out[-1][1] == font:
            out[-1] = (out[-1][0] + char, font)
        else:
            out.append((char, font))
    return out


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The width in points of ``text`` set at ``size`` the way the PDF sets it (by runs).

    Cached: the planner and the renderer measure the same words (names, dates, labels) over
    and over, and a TrueType width lookup per character is what a measurement costs."""
    return _width(text, size, bold)


@lru_cache(maxsize=1 << 16)
def _width(text: str, size: float, bold: bool) -> float:
    register()
    return float(sum(pdfmetrics.stringWidth(run, font, size) for run, font in runs(text, bold=bold)))


def missing_glyphs(text: str) -> set[str]:
    """The characters of ``text`` that neither family can draw (white space aside)."""
    latin, cjk = coverage(SANS), coverage(CJK)
    return {c for c in text if not c.isspace() and ord(c) not in latin and ord(c) not in cjk}
