"""Advisor's free text as plain text: markup reduced to its words.

Advisor (and the portal's CSV) sometimes put HTML in a recommendation's text ("Use <b>managed
disks</b> ..."). Reports print text, never Advisor's markup: :func:`plain_text` drops tags and
comments and turns entities into the characters they stand for. The templates escape what it
returns like any other text, so ``&lt;script&gt;`` in Advisor's text prints as ``<script>``,
inert. Applied once, where a report's texts are taken from the recommendations
(``shared.summary``), so every template and format sees the same text.
"""

from __future__ import annotations

import html
import re

# A tag is '<' directly followed by a letter, '/', or '!' (comments, doctype): "a < b" stays.
_TAG_RE = re.compile(r"<!--.*?-->|</?[A-Za-z][^<>]*>|<![^<>]*>", re.DOTALL)
_BREAK_RE = re.compile(r"<\s*(br|/p|/li|/div)\b[^<>]*>", re.IGNORECASE)
_SPACES_RE = re.compile(r"[ \t\r\f\v]+")


def plain_text(value: str) -> str:
    """Tags removed (line breaks and block ends become spaces), entities unescaped, runs of
    spaces collapsed. Text without '<' or '&' is returned as it is."""
    if not value or ("<" not in value and "&" not in value):
        return value
    text = _BREAK_RE.sub(" ", value)
    text = _TAG_RE.sub("", text)
    text = html.unescape(text)
    return _SPACES_RE.sub(" ", text).strip()
