"""Rendering benchmark: our HTML and PDF against a plain reportlab baseline, time and memory.

For each N it builds N synthetic recommendations (``bench.synthetic``: ~25 recommendation
types, 4 subscriptions, reservation variants) and measures, each in a fresh spawned process so
that the peak RSS (``ru_maxrss``) belongs to that measurement alone:

- ``html``: summary + context + ``render_html``;
- ``pdf``: the detailed report's PDF as the library makes it: every part in turn, then the
  merge (the process's peak memory is the figure that must stay under 400 MB);
- ``pool``: the same parts rendered by a pool of 2 processes (as the app fans them out to
  activities), merged in the parent; wall time from the moment the workers hold their data;
- ``baseline``: reportlab directly, LongTables of 100 rows with Paragraph (wrapped) cells: the
  same rows, columns and strings as our detail tables, set in the same TrueType font our PDF
  embeds (ReportSans, DejaVu Sans); the ratio pdf / baseline is the figure that must stay
  under 3. ``base hv`` is the same baseline in Helvetica (a standard font, not embedded), the
  baseline before the PDF had its own fonts: its ratio is printed for information.

Run: ``python -m bench.render_bench [N ...]``. ``run()`` returns the rows as dicts.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

DEFAULT_NS = (1000, 5000, 15000)
ROWS_PER_PART = 1000
_GENERATED_AT = datetime(2025, 3, 14, 6, 30, tzinfo=UTC)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _context(n: int, report_type: str = "detailed") -> dict[str, Any]:
    from bench.synthetic import SUBSCRIPTIONS, make_recommendations
    from shared.models import ReportFilters, ReportType
    from shared.rendering import ReportMeta, build_report_context
    from shared.summary import summarize

    rt = ReportType(report_type)
    meta = ReportMeta(report_type=rt, customer="Contoso Ltd", subscriptions=dict(SUBSCRIPTIONS))
    summary = summarize(make_recommendations(n), filters=ReportFilters().for_report_type(rt))
    return build_report_context(meta, summary, _GENERATED_AT)


# --- measurements (each runs in its own spawned process) -------------------------------------


def measure_html(n: int) -> dict[str, Any]:
    from shared.rendering import render_html

    started = time.perf_counter()
    context = _context(n)
    prepared = time.perf_counter()
    html = render_html(context)
    done = time.perf_counter()
    return {
        "seconds": done - prepared,
        "summary_seconds": prepared - started,
        "rows": context["summary"].row_count,
        "bytes": len(html),
        "peak_mb": _peak_mb(),
    }


def _merged(parts: list[bytes], **kw: Any) -> bytes:
    from shared.rendering import write_merged_pdf

    out = io.BytesIO()
    write_merged_pdf(parts, out, **kw)
    return out.getvalue()


def measure_pdf(n: int) -> dict[str, Any]:
    from shared.rendering import plan_pdf_parts, render_pdf_part
    from shared.rendering.pdf import footer_text

    context = _context(n)
    cpu = time.process_time()
    started = time.perf_counter()
    specs = plan_pdf_parts(context["summary"], ROWS_PER_PART, context=context)  # paginated, as the app
    planned = time.perf_counter()
    parts = [render_pdf_part(context, spec) for spec in specs]
    rendered = time.perf_counter()
    pdf = _merged(
        parts, footer=footer_text(context["report"]["title"], _GENERATED_AT), title=context["report"]["title"]
    )
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "cpu_seconds": time.process_time() - cpu,
        "merge_seconds": done - rendered,
        "plan_seconds": planned - started,
        "parts": len(specs),
        "rows": context["summary"].row_count,
        "bytes": len(pdf),
        "peak_mb": _peak_mb(),
    }


_worker_context: dict[str, Any] | None = None


def _pool_init(n: int, ready: Any) -> None:
    global _worker_context
    _worker_context = _context(n)
    ready.put(1)


def _pool_render(spec_dict: dict[str, Any]) -> tuple[bytes, float]:
    from shared.rendering import render_pdf_part

    assert _worker_context is not None
    return render_pdf_part(_worker_context, spec_dict), _peak_mb()


def measure_pool(n: int, workers: int = 2) -> dict[str, Any]:
    """Parts rendered by ``workers`` processes; each worker builds its data first (not timed)."""
    from shared.rendering import plan_pdf_parts
    from shared.rendering.pdf import footer_text

    context = _context(n)
    specs = [s.to_dict() for s in plan_pdf_parts(context["summary"], ROWS_PER_PART, context=context)]
    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    with ctx.Pool(workers, initializer=_pool_init, initargs=(n, ready)) as pool:
        for _ in range(workers):  # every worker holds its data: now time the fan-out
            ready.get(timeout=600)
        started = time.perf_counter()
        results = pool.map(_pool_render, specs, chunksize=1)
        rendered = time.perf_counter()
        pdf = _merged([r[0] for r in results], footer=footer_text(context["report"]["title"], _GENERATED_AT))
        done = time.perf_counter()
    return {
        "seconds": done - started,
        "merge_seconds": done - rendered,
        "parts": len(specs),
        "bytes": len(pdf),
        "worker_peak_mb": max(r[1] for r in results),
        "peak_mb": _peak_mb(),
    }


def baseline_pdf(context: dict[str, Any], font: str = "ReportSans") -> bytes:
    """reportlab only: the detail tables of ``context`` as LongTables of 100 Paragraph rows, in
    ``font`` (ReportSans: the TrueType font our PDF embeds; "Helvetica": the old baseline).

    The same rows, strings, columns (A4 landscape) and heights' inputs as our detail parts
    (``pdf_layout``), without xhtml2pdf: what a hand-written reportlab renderer would cost."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, TableStyle

    from shared.rendering import pdf_layout as lay
    from shared.rendering import typeface

    typeface.register()
    bold = {"ReportSans": "ReportSans-Bold", "Helvetica": "Helvetica-Bold"}[font]
    mm = lay.MM
    cell = ParagraphStyle("cell", fontName=font, fontSize=lay.FONT_SIZE, leading=lay.LEADING)
    right = ParagraphStyle("right", parent=cell, alignment=2)
    head = ParagraphStyle(
        "head", fontName=bold, fontSize=lay.FONT_SIZE, leading=lay.LEADING, textColor=colors.white
    )
    title = ParagraphStyle("title", fontName=bold, fontSize=lay.TITLE_SIZE, leading=lay.TITLE_LEADING)
    notes = ParagraphStyle("notes", fontName=font, fontSize=lay.FONT_SIZE, leading=lay.LEADING)
    grey = "#5b6675"
    layout = lay.Layout.of(context)
    cost = layout.cost
    story = []
    for gi, group in enumerate(layout.groups):
        for first in range(0, group.count, 100):
            t = layout.table(gi, first, min(first + 100, group.count), lay.LANDSCAPE)
            h = t.heading
            heading = [
                Paragraph(escape(h.title), title),
                Paragraph(
                    f"<b>{escape(h.category)}</b>{escape(h.facts)}"
                    + "".join(f"<br/><b>{escape(label)}</b> {escape(text)}" for label, text in h.notes),
                    notes,
                ),
            ]
            labels = [Paragraph(escape(label), head) for label, _ in t.columns]
            widths = [w * mm for _, w in t.columns]
            data: list[list[Any]] = [[heading] + [""] * (len(widths) - 1), labels]
            for r in t.rows:
                line = [Paragraph(escape(r.name), cell), Paragraph(escape(r.group), cell)]
                line.append(Paragraph(escape(r.subscription), cell))
                if cost:
                    line.append(Paragraph(escape(r.change), cell))
                line.append(Paragraph(escape(r.impact), cell))
                if cost:
                    money = f"{escape(r.monthly)}<br/><font color='{grey}'>{escape(r.annual)}</font>"
                    line.append(Paragraph(money, right))
                elif t.savings:
                    line.append(Paragraph(escape(r.monthly), right))
                data.append(line)
            table = LongTable(data, colWidths=widths, repeatRows=2)
            table.setStyle(
                TableStyle(
                    [
                        ("SPAN", (0, 0), (-1, 0)),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6edf5")),
                        ("BACKGROUND", (0, 1), (-1, 1), colors.HexColor("#0b3d66")),
                        ("ROWBACKGROUNDS", (0, 2), (-1, -1), [colors.white, colors.HexColor("#eef2f6")]),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), lay.CELL_PAD_X),
                        ("RIGHTPADDING", (0, 0), (-1, -1), lay.CELL_PAD_X),
                        ("TOPPADDING", (0, 0), (-1, -1), lay.CELL_PAD_TOP),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), lay.CELL_PAD_BOTTOM),
                    ]
                )
            )
            story.append(table)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
    )
    doc.build(story)
    return out.getvalue()


def measure_baseline(n: int, font: str = "ReportSans") -> dict[str, Any]:
    context = _context(n)
    cpu = time.process_time()
    started = time.perf_counter()
    pdf = baseline_pdf(context, font)
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "cpu_seconds": time.process_time() - cpu,
        "bytes": len(pdf),
        "peak_mb": _peak_mb(),
    }


def measure_baseline_helvetica(n: int) -> dict[str, Any]:
    return measure_baseline(n, "Helvetica")


# --- driver ---------------------------------------------------------------------------------


def _in_fresh_process(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _median(fn: Callable[..., dict[str, Any]], n: int, reps: int) -> dict[str, Any]:
    return _summarize_runs([_in_fresh_process(fn, n) for _ in range(reps)])


def _summarize_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    result = dict(runs[len(runs) // 2])
    result["seconds"] = statistics.median(r["seconds"] for r in runs)
    result["peak_mb"] = max(r["peak_mb"] for r in runs)
    result["runs"] = [round(r["seconds"], 3) for r in runs]
    return result


def run(
    ns: Iterable[int] = DEFAULT_NS,
    reps: Callable[[int], int] | None = None,
    *,
    verbose: bool = False,
) -> list[dict[str, Any]]:
    """Measure each N: medians of 3 runs up to 1,000, of 2 up to 5,000, one run above."""
    reps = reps or (lambda n: 3 if n <= 1000 else 2 if n <= 5000 else 1)
    rows = []
    for n in ns:
        k = reps(n)
        # Ours and the baseline back to back in each repetition, so that a busy machine hits both
        # alike; the ratio reported is the median of the per-repetition ratios.
        triples = [
            (
                _in_fresh_process(measure_pdf, n),
                _in_fresh_process(measure_baseline, n),
                _in_fresh_process(measure_baseline_helvetica, n),
            )
            for _ in range(k)
        ]
        pdf = _summarize_runs([p for p, _, _ in triples])
        base = _summarize_runs([b for _, b, _ in triples])
        base_hv = _summarize_runs([h for _, _, h in triples])
        ratio = statistics.median(p["seconds"] / b["seconds"] for p, b, _ in triples)
        ratio_hv = statistics.median(p["seconds"] / h["seconds"] for p, _, h in triples)
        # CPU seconds too: on a shared machine the wall clock also counts other processes' turns.
        cpu_ratio = statistics.median(p["cpu_seconds"] / b["cpu_seconds"] for p, b, _ in triples)
        cpu_ratio_hv = statistics.median(p["cpu_seconds"] / h["cpu_seconds"] for p, _, h in triples)
        pool = _median(measure_pool, n, k)
        html = _median(measure_html, n, k)
        rows.append(
            {
                "n": n,
                "rows": pdf["rows"],
                "parts": pdf["parts"],
                "html_s": html["seconds"],
                "html_mb": html["peak_mb"],
                "pdf_s": pdf["seconds"],
                "pdf_mb": pdf["peak_mb"],
                "merge_s": pdf["merge_seconds"],
                "pool_s": pool["seconds"],
                "pool_worker_mb": pool["worker_peak_mb"],
                "base_s": base["seconds"],
                "base_mb": base["peak_mb"],
                "ratio": ratio,
                "base_hv_s": base_hv["seconds"],
                "ratio_hv": ratio_hv,
                "cpu_ratio": cpu_ratio,
                "cpu_ratio_hv": cpu_ratio_hv,
                "pdf_cpu_s": statistics.median(p["cpu_seconds"] for p, _, _ in triples),
                "base_cpu_s": statistics.median(b["cpu_seconds"] for _, b, _ in triples),
                "plan_s": pdf["plan_seconds"],
                "pdf_s_per_1k": pdf["seconds"] / pdf["rows"] * 1000,
                "base_s_per_1k": base["seconds"] / pdf["rows"] * 1000,
                "pdf_runs": pdf["runs"],
                "base_runs": base["runs"],
            }
        )
        if verbose:  # each N as soon as it is measured; the caller prints the table otherwise
            print_rows(rows[-1:], header=len(rows) == 1)
    return rows


def print_rows(rows: Sequence[dict[str, Any]], header: bool = True) -> None:
    if header:
        print(
            "PDF: ours (plan + parts + merge) against reportlab alone on the same tables; 'base' sets"
            "\nthem in the TrueType font ours embeds (ReportSans = DejaVu Sans), 'base hv' in Helvetica"
            "\n(the old baseline, for information). Medians; ratio = pdf s / base s, to stay under 3"
            "\n(wall clock; 'cpu': the same in CPU seconds of the process, which other load on the"
            "\nmachine does not inflate)."
        )
        print(
            f"{'N':>6} {'rows':>6} {'parts':>5} | {'html s':>7} {'MB':>5} | {'pdf s':>7} {'MB':>5} "
            f"{'plan':>5} {'merge':>6} | {'pool2 s':>7} {'MB/w':>5} | {'base s':>7} {'MB':>5} | "
            f"{'ratio':>5} | "
            f"{'base hv':>7} {'ratio':>5} | {'cpu pdf':>7} {'base':>5} {'ratio':>5} {'hv':>5} | "
            f"{'pdf s/1k':>8} {'base s/1k':>9}"
        )
    for r in rows:
        print(
            f"{r['n']:>6} {r['rows']:>6} {r['parts']:>5} | {r['html_s']:>7.3f} {r['html_mb']:>5.0f} | "
            f"{r['pdf_s']:>7.2f} {r['pdf_mb']:>5.0f} {r['plan_s']:>5.2f} {r['merge_s']:>6.2f} | "
            f"{r['pool_s']:>7.2f} {r['pool_worker_mb']:>5.0f} | {r['base_s']:>7.2f} {r['base_mb']:>5.0f} | "
            f"{r['ratio']:>5.2f} | {r['base_hv_s']:>7.2f} {r['ratio_hv']:>5.2f} | "
            f"{r['pdf_cpu_s']:>7.2f} {r['base_cpu_s']:>5.2f} {r['cpu_ratio']:>5.2f} "
            f"{r['cpu_ratio_hv']:>5.2f} | "
            f"{r['pdf_s_per_1k']:>8.2f} {r['base_s_per_1k']:>9.2f}",
            flush=True,
        )


if __name__ == "__main__":
    run([int(a) for a in sys.argv[1:]] or DEFAULT_NS, verbose=True)
