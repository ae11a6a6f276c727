"""A customer's logo on the report cover: inline, sized, and only of the kinds we accept.

The logo travels inside the document as a ``data:`` URI (the HTML stays one self-contained file;
the PDF renderer reads it without any I/O) and is drawn at most ``MAX_HEIGHT`` x ``MAX_WIDTH``
points, keeping its proportions. A logo that cannot be read is left out, never fatal.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_HEIGHT = 40.0  # points (PDF) / CSS pixels (HTML)
MAX_WIDTH = 160.0
KINDS = ("image/png", "image/jpeg", "image/svg+xml")


@dataclass(frozen=True)
class CoverLogo:
    uri: str  # data:<type>;base64,...
    width: float
    height: float


def _natural_size(data: bytes, content_type: str) -> tuple[float, float]:
    if content_type == "image/svg+xml":
        from svglib.svglib import svg2rlg

        drawing = svg2rlg(io.BytesIO(data))
        if drawing is None:
            raise ValueError("the SVG has no drawing")
        return float(drawing.width), float(drawing.height)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return float(image.width), float(image.height)


def cover_logo(
    data: bytes, content_type: str, *, max_height: float = MAX_HEIGHT, max_width: float = MAX_WIDTH
) -> CoverLogo | None:
    """The logo as the cover draws it, or None when it is not one we can show."""
    if content_type not in KINDS or not data:
        return None
    try:
        width, height = _natural_size(data, content_type)
    except Exception as exc:  # a broken image must not sink the report
        log.warning("The customer's logo cannot be read and is left out: %s", type(exc).__name__)
        return None
    if width <= 0 or height <= 0:
        return None
    scale = min(max_height / height, max_width / width)
    uri = f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
    return CoverLogo(uri, round(width * scale, 1), round(height * scale, 1))
