"""Report rendering: the template context, the HTML report and the PDF report (in parts).

- ``build_report_context(report_meta, summary, generated_at)`` -> the dict both formats render.
- ``render_html(context)`` -> a self-contained HTML document.
- ``plan_pdf_parts(summary, rows_per_part, include_details=...)`` -> small JSON-able part specs,
  planned once when the report is summarized and stored (``dump_pdf_plan`` / ``load_pdf_plan``);
  ``render_pdf_part(context, spec)`` -> one part's PDF bytes;
  ``write_merged_pdf(parts, dest, footer=..., title=...)`` -> the report's PDF.

``shared.pipeline`` runs these as separate steps (a durable activity each); nothing here
reads storage.
"""

from .context import REPORT_TYPES, ReportMeta, build_report_context, shows_resources
from .html import render_html
from .pdf import (
    DEFAULT_ROWS_PER_PART,
    PartSpec,
    dump_pdf_plan,
    load_pdf_plan,
    plan_pdf_parts,
    render_pdf_part,
    write_merged_pdf,
)

__all__ = [
    "DEFAULT_ROWS_PER_PART",
    "REPORT_TYPES",
    "PartSpec",
    "ReportMeta",
    "build_report_context",
    "dump_pdf_plan",
    "load_pdf_plan",
    "plan_pdf_parts",
    "render_html",
    "render_pdf_part",
    "shows_resources",
    "write_merged_pdf",
]
