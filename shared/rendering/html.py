"""The HTML report: one self-contained file (inline CSS; no scripts, fonts, images or remote URLs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .environment import get_environment

HTML_TEMPLATE = "report.html.j2"


def render_html(context: Mapping[str, Any]) -> str:
    """Render the browser report from a context made by ``build_report_context``."""
    return get_environment().get_template(HTML_TEMPLATE).render(context)
