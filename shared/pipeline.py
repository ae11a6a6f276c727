"""The report pipeline's steps as plain functions: fetch + persist one subscription, import a
CSV, summarize a report, render and upload its files.

Each step takes ids and small values and returns a small typed result, so the same functions
serve the durable activities (whose inputs and outputs go through orchestration history), the
benchmark and the unit tests. Storage is reached through the interfaces in ``shared.ports``.
Recommendations travel through Table Storage, files through Blob Storage. Every step is
idempotent: deterministic keys, upserts, blob overwrite. What a report is (type, filters,
customer, formats) is read from the report entity by id, never passed in.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from .action_plan import changes_since
from .advisor import TOKEN_REJECTED, FetchStats, fetch_recommendations, subscription_display_name
from .callbacks import Delivery, signed_headers
from .errors import PermanentError, TransientError
from .jobs import (
    BeginResult,
    CallbackOutcome,
    FetchOutcome,
    RenderResult,
    ReportJob,
    RetrySpec,
    SummaryResult,
)
from .links import ReportLinks
from .models import (
    CallbackState,
    CallbackStatus,
    Recommendation,
    Report,
    ReportFilters,
    ReportStatus,
    ReportType,
)
from .ports import FileStore, ReportTable
from .rendering import (
    DEFAULT_ROWS_PER_PART,
    ReportMeta,
    build_report_context,
    dump_pdf_plan,
    load_pdf_plan,
    plan_pdf_parts,
    render_html,
    render_pdf_part,
    shows_resources,
    write_merged_pdf,
)
from .rendering.context import report_title
from .rendering.export import EXPORT_FORMATS, action_rows, csv_bytes, xlsx_bytes
from .rendering.logo import CoverLogo, cover_logo
from .rendering.pdf import footer_text
from .report_service import FILE_NAMES, csv_blob_name, provider_logo_blob, report_logo_blob, report_resource
from .summary import ReportSummary, open_items, summarize
from .summary_store import dump_summary, load_summary

log = logging.getLogger(__name__)

# Recommendations are written in chunks of this many as the pages arrive, so memory stays flat
# however large a subscription is.
PERSIST_CHUNK = 1000

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def fetch_subscription(
    report_id: str,
    subscription_id: str,
    filters: ReportFilters,
    *,
    store: ReportTable,
    client_for: Callable[[str], Any],
    page_size: int | None = None,
) -> FetchOutcome:
    """Fetch one subscription's recommendations and persist them under the report.

    Transient faults propagate (TransientError) so the durable retry policy retries the
    whole step, which is safe because writes are upserts. Permanent faults come back as a
    failed outcome with a sanitized reason: retrying them would only repeat the failure.
    """
    started = time.perf_counter()
    stats = FetchStats()
    written = 0
    try:
        client = client_for(subscription_id)
        recs = fetch_recommendations(client, subscription_id, filters, page_size=page_size, stats=stats)
        name = ""
        for i, chunk in enumerate(chunked(recs, PERSIST_CHUNK)):
            if i == 0:  # only once we know the subscription is readable at all
                name = subscription_display_name(client, subscription_id)
            for rec in chunk:
                rec.subscription_name = name
            written += store.save_recommendations(report_id, chunk)
    except PermanentError as exc:
        log.warning("Fetching %s failed permanently: %s", subscription_id, exc)
        return FetchOutcome(
            subscription_id, ok=False, pages=stats.pages, seconds=time.perf_counter() - started,
            failure_code=exc.code, failure_message=str(exc),
        )  # fmt: skip
    return FetchOutcome(
        subscription_id, ok=True, count=written, pages=stats.pages, seconds=time.perf_counter() - started
    )


def persist_recommendations(report_id: str, recs: Iterable[Recommendation], store: ReportTable) -> int:
    return sum(store.save_recommendations(report_id, chunk) for chunk in chunked(recs, PERSIST_CHUNK))


def import_csv_report(report_id: str, *, store: ReportTable, uploads: FileStore) -> FetchOutcome:
    """Parse the uploaded CSV (already validated by the trigger) and persist its rows.

    The outcome has the same shape as a subscription fetch (``subscription_id`` "csv"), so the
    orchestrator treats both sources alike."""
    from .csv_import import iter_csv_recommendations
    from .errors import InvalidInputError

    started = time.perf_counter()
    report = _report_or_fail(store, report_id)
    data = uploads.download(csv_blob_name(report_id))
    filters = report_filters(report)
    try:
        rows = iter_csv_recommendations(data, default_category=report.csv_category or None)
        count = persist_recommendations(report_id, (r for r in rows if filters.matches(r)), store)
    except InvalidInputError as exc:
        return FetchOutcome("csv", ok=False, failure_code="invalid_csv", failure_message=str(exc))
    return FetchOutcome("csv", ok=True, count=count, seconds=time.perf_counter() - started)


# -- begin: the orchestrator acts only on what is stored for the report id ---------------------


def report_filters(report: Report) -> ReportFilters:
    """The report's effective filters, the only ones anything applies: the caller's, narrowed
    to the categories its type covers (a cost report never fetches security findings). The
    fetch asks Advisor with them, the CSV import and summarize keep what matches them, and the
    rendered report lists them (from the summary, which carries them)."""
    return report.filters.for_report_type(report.report_type)


def begin_report(
    report_id: str,
    instance_id: str,
    *,
    store: ReportTable,
    retry: RetrySpec,
    fetch_timeout_s: int,
) -> BeginResult:
    """Read the report the orchestration was started for, check that this orchestration owns
    it and that it is not finished, mark it processing, and hand back the run's control data.

    Idempotent: a replayed or retried call finds the report already processing and answers
    the same."""
    report = store.get_report(report_id)
    if report is None:
        return BeginResult(ok=False, reason=f"No report {report_id} is stored")
    if report.instance_id and report.instance_id != instance_id:
        return BeginResult(ok=False, reason=f"Report {report_id} belongs to another orchestration")
    if report.status.finished:
        return BeginResult(ok=False, reason=f"Report {report_id} is already {report.status.value}")
    if report.status is ReportStatus.PENDING:
        report.status = ReportStatus.PROCESSING
        store.save_report(report)
    job = ReportJob(
        report_id=report_id,
        formats=list(report.formats),
        subscription_ids=list(report.subscription_ids) if report.source == "api" else [],
        source=report.source,
        retry=retry,
        fetch_timeout_s=fetch_timeout_s,
        callback=bool(report.callback_url),
    )
    job.validate()
    return BeginResult(ok=True, job=job.to_dict())


def record_fetch_outcome(report_id: str, outcome: FetchOutcome, *, store: ReportTable) -> None:
    """Record how a subscription's fetch ended. A subscription left out must not be counted
    from the pages read before it failed (a repeated nextLink on page 3, retries running out on
    page 2): its stored rows go first."""
    if not outcome.ok and outcome.subscription_id != "csv":
        store.delete_recommendations(report_id, subscription_id=outcome.subscription_id.lower())
    store.record_subscription_outcome(report_id, outcome.subscription_id, outcome.to_dict())


def fetch_report_subscription(
    report_id: str,
    subscription_id: str,
    *,
    store: ReportTable,
    client_for: Callable[[str], Any],
    renew_credential: Callable[[], None],
    page_size: int | None = None,
) -> FetchOutcome:
    """The fetch step of a report: one subscription of the stored report, with the report's
    effective filters, its outcome recorded. An ARM 401 renews the credential once (MSAL's
    cache would otherwise hand back the refused token) before it counts as permanent."""
    report = store.get_report(report_id)
    if report is None or subscription_id not in report.subscription_ids:
        return FetchOutcome(
            subscription_id, ok=False, failure_code="not_in_report",
            failure_message="The subscription is not part of this report",
        )  # fmt: skip
    filters = report_filters(report)
    outcome = fetch_subscription(
        report_id, subscription_id, filters, store=store, client_for=client_for, page_size=page_size
    )
    if outcome.failure_code == TOKEN_REJECTED:
        log.warning("ARM refused the token for %s; renewing the credential once", subscription_id)
        renew_credential()
        outcome = fetch_subscription(
            report_id, subscription_id, filters, store=store, client_for=client_for, page_size=page_size
        )
    record_fetch_outcome(report_id, outcome, store=store)
    return outcome


def left_out_subscriptions(store: ReportTable, report_id: str) -> dict[str, str]:
    """Subscriptions whose fetch ended without their recommendations, with the reason."""
    return {
        str(row["RowKey"]): str(row.get("failure_message") or "The subscription could not be read")
        for row in store.subscription_outcomes(report_id)
        if row.get("ok") is False
    }


# -- summarize, render, assemble, finalize -------------------------------------------------


def _report_or_fail(store: ReportTable, report_id: str) -> Report:
    report = store.get_report(report_id)
    if report is None:
        raise PermanentError(f"Report {report_id} does not exist", code="report_not_found")
    return report


def _summary_blob(report_id: str) -> str:
    return f"{report_id}/summary.json"


def _pdf_plan_blob(report_id: str) -> str:
    return f"{report_id}/pdf-plan.json"


def _generated_at(report: Report) -> datetime:
    # A retried render must produce the same file: derive the date from the report, not the clock.
    return report.fetched_at or report.requested_at or datetime.now(UTC)


def headline_savings(summary: ReportSummary) -> dict[str, Any]:
    """Per currency, the savings the report resource shows: the sum of every recommendation
    (``monthly``, ``annual``: an upper bound, overlaps counted twice) and ``achievable`` without
    overlap, the headline the cost and executive reports print (their own fallback, the sum,
    where nothing positive was counted)."""
    headline: dict[str, Any] = {}
    for total in summary.savings:
        achievable = summary.achievable.get(total.currency, total)
        headline[total.currency] = {
            "monthly": str(total.monthly), "annual": str(total.annual), "count": total.count,
            "achievable": {"monthly": str(achievable.monthly), "annual": str(achievable.annual)},
        }  # fmt: skip
    return headline


def summarize_report(
    report_id: str,
    *,
    store: ReportTable,
    files: FileStore,
    api_pages: int = 0,
    fetch_seconds: float = 0.0,
    rows_per_part: int = DEFAULT_ROWS_PER_PART,
) -> SummaryResult:
    """Summarize the stored recommendations once and plan the PDF's parts once; keep both in
    Blob Storage for the render steps (each part renders the slice the stored plan gives it),
    put the headline figures and the left-out subscriptions on the report entity, and move the
    report on to ``generating``."""
    report = _report_or_fail(store, report_id)
    summary = summarize(
        store.iter_recommendations(report_id),
        filters=report_filters(report),
        by_area=report.report_type is ReportType.OPERATIONS,
    )
    if report.report_type in COMPARED_TYPES:  # the only type that shows it: no reads for the others
        summary.changes = changes_since_previous(report, summary, store=store, files=files)
    blob = files.upload(_summary_blob(report_id), dump_summary(summary), content_type="application/json")
    # The generation date is part of what the summary prints, and the plan measures the summary
    # as the render steps will draw it (rendering.pdf.plan_pdf_parts): fix the date first.
    report.fetched_at = report.fetched_at or datetime.now(UTC)
    details = shows_resources(report.report_type)
    context = _context(report, files) if details and summary.row_count else None
    parts = plan_pdf_parts(summary, rows_per_part, include_details=details, context=context)
    files.upload(_pdf_plan_blob(report_id), dump_pdf_plan(parts), content_type="application/json")
    report.recommendation_count = summary.total
    report.counts_by_category = dict(summary.counts_by_category)
    report.counts_by_impact = dict(summary.counts_by_impact)
    report.savings_by_currency = headline_savings(summary)
    if summary.unknown_currency_count:
        report.savings_by_currency["unknown"] = {"count": summary.unknown_currency_count}
    report.savings_note = summary.savings_note
    report.skipped_subscriptions = left_out_subscriptions(store, report_id) if report.source == "api" else {}
    report.api_pages = api_pages
    if fetch_seconds:
        report.durations = {**report.durations, "fetch": round(fetch_seconds, 3)}
    if report.status.can_become(ReportStatus.GENERATING):
        report.status = ReportStatus.GENERATING
    store.save_report(report)
    return SummaryResult(report_id, summary.total, len(parts), blob)


# The report types that print "since the previous report" (the executive). Finding the previous
# report and reading its summary costs a listing, entity reads and a blob download.
COMPARED_TYPES = frozenset({ReportType.EXECUTIVE})
PREVIOUS_REPORT_SCAN = 200  # index rows looked at, newest first, for the previous report


def _same_scope(report: Report, other: Report) -> bool:
    """Same type, and the same customer (a report asked for by customer) or else the same set
    of subscriptions and the same filters."""
    if other.report_type is not report.report_type or other.report_id == report.report_id:
        return False
    if report.customer_id:
        return other.customer_id == report.customer_id and other.filters == report.filters
    return (
        not other.customer_id
        and {s.lower() for s in other.subscription_ids} == {s.lower() for s in report.subscription_ids}
        and other.filters == report.filters
    )


def previous_report(report: Report, store: ReportTable) -> Report | None:
    """The newest completed report of the same scope asked for before this one, if any."""
    if report.requested_at is None:
        return None
    rows, _ = store.list_reports(
        status=ReportStatus.COMPLETED.value,
        customer_id=report.customer_id or None,
        limit=PREVIOUS_REPORT_SCAN,
    )
    for row in rows:
        if row.get("report_type") != report.report_type.value or row.get("report_id") == report.report_id:
            continue
        other = store.get_report(str(row.get("report_id")))
        if (
            other is not None
            and other.requested_at is not None
            and other.requested_at < report.requested_at
            and _same_scope(report, other)
        ):
            return other
    return None


def changes_since_previous(
    report: Report, summary: ReportSummary, *, store: ReportTable, files: FileStore
) -> dict[str, Any] | None:
    """New, resolved and still-open recommendations (by action-plan id) and the savings change
    per currency against the previous report of the same scope; None when there is none or its
    summary is gone (a report past retention)."""
    previous = previous_report(report, store)
    if previous is None:
        return None
    try:
        before = load_summary(files.download(_summary_blob(previous.report_id)))
    except Exception as exc:  # deleted, or written by an older version: no comparison
        log.info("No comparison with report %s (%s)", previous.report_id, type(exc).__name__)
        return None
    changes = changes_since(open_items(before), open_items(summary))
    return {
        **changes.to_dict(),
        "previousReportId": previous.report_id,
        "previousRequestedAt": previous.requested_at.isoformat() if previous.requested_at else "",
    }


def _meta(report: Report) -> ReportMeta:
    """What the templates, the PDF's title and its footer say about the report."""
    return ReportMeta(
        report_type=report.report_type,
        customer=report.customer,
        accent_color=report.accent_color,
        subscriptions={s: "" for s in report.subscription_ids},
        requested_at=report.requested_at,
        report_id=report.report_id,
    )


def _context(report: Report, files: FileStore) -> dict[str, Any]:
    summary = load_summary(files.download(_summary_blob(report.report_id)))
    meta = dataclasses.replace(_meta(report), provider=report.provider_name)
    if report.logo_content_type:
        logo = _stored_logo(files, report_logo_blob(report.report_id), report.logo_content_type)
        meta = dataclasses.replace(meta, logo=logo)
    if report.provider_logo_content_type:
        blob = provider_logo_blob(report.report_id)
        provider_logo = _stored_logo(
            files, blob, report.provider_logo_content_type, max_height=PROVIDER_LOGO_HEIGHT
        )
        meta = dataclasses.replace(meta, provider_logo=provider_logo)
    return build_report_context(meta, summary, _generated_at(report))


PROVIDER_LOGO_HEIGHT = 20.0  # the provider's logo sits small beside its name


def _stored_logo(
    files: FileStore, blob: str, content_type: str, *, max_height: float = 40.0
) -> CoverLogo | None:
    try:
        data = files.download(blob)
    except Exception as exc:  # a logo gone missing leaves the cover without it
        log.warning("Logo %s cannot be read (%s)", blob, type(exc).__name__)
        return None
    return cover_logo(data, content_type, max_height=max_height)


def render_html_file(report_id: str, *, store: ReportTable, files: FileStore) -> RenderResult:
    started = time.perf_counter()
    report = _report_or_fail(store, report_id)
    html = render_html(_context(report, files)).encode("utf-8")
    blob = files.upload(f"{report_id}/{FILE_NAMES['html']}", html)
    return RenderResult(report_id, "html", 0, blob, len(html), round(time.perf_counter() - started, 3))


def render_export_file(report_id: str, fmt: str, *, store: ReportTable, files: FileStore) -> RenderResult:
    """The action-plan export (``xlsx`` or ``csv``): one row per recommendation of the summary."""
    started = time.perf_counter()
    report = _report_or_fail(store, report_id)
    if fmt not in EXPORT_FORMATS:
        raise PermanentError(f"{fmt[:20]!r} is not an export format", code="invalid_format")
    summary = load_summary(files.download(_summary_blob(report_id)))
    rows = action_rows(summary)
    data = xlsx_bytes(rows, title=report_title(_meta(report))) if fmt == "xlsx" else csv_bytes(rows)
    blob = files.upload(f"{report_id}/{FILE_NAMES[fmt]}", data)
    return RenderResult(report_id, fmt, 0, blob, len(data), round(time.perf_counter() - started, 3))


def render_pdf_part_file(report_id: str, part: int, *, store: ReportTable, files: FileStore) -> RenderResult:
    """Render part ``part`` of the plan summarize stored (never a plan of its own)."""
    started = time.perf_counter()
    report = _report_or_fail(store, report_id)
    specs = load_pdf_plan(files.download(_pdf_plan_blob(report_id)))
    if not 0 <= part < len(specs):
        raise PermanentError(f"Report {report_id} has no PDF part {part}", code="invalid_part")
    pdf = render_pdf_part(_context(report, files), specs[part])
    blob = files.upload(f"{report_id}/parts/part-{part:04d}.pdf", pdf)
    return RenderResult(report_id, "pdf", part, blob, len(pdf), round(time.perf_counter() - started, 3))


def assemble_pdf_file(
    report_id: str, part_blobs: list[str], *, store: ReportTable, files: FileStore
) -> RenderResult:
    """Merge the parts in order into the report's PDF, stamping footer and page numbers."""
    started = time.perf_counter()
    report = _report_or_fail(store, report_id)
    title = report_title(_meta(report))
    footer = footer_text(title, _generated_at(report))
    out = io.BytesIO()
    write_merged_pdf((files.download(b) for b in part_blobs), out, footer=footer, title=title)
    blob = files.upload(f"{report_id}/{FILE_NAMES['pdf']}", out.getvalue())
    return RenderResult(report_id, "pdf", -1, blob, out.tell(), round(time.perf_counter() - started, 3))


def finalize_report(
    report_id: str,
    report_files: dict[str, str],
    durations: dict[str, float],
    *,
    store: ReportTable,
    files: FileStore,
) -> dict[str, Any]:
    """Mark the report completed, but only once every file it promises exists."""
    report = _report_or_fail(store, report_id)
    if report.status is ReportStatus.COMPLETED:
        return report_resource(report)  # a retried finalize: already done
    missing = [
        fmt for fmt in report.formats if fmt not in report_files or not files.exists(report_files[fmt])
    ]
    if missing:
        raise TransientError(
            f"Report {report_id} is missing its {', '.join(missing)} file", code="files_missing"
        )
    report.files = dict(report_files)
    report.durations = {**report.durations, **durations}
    report.completed_at = datetime.now(UTC)
    if not report.status.can_become(ReportStatus.COMPLETED):
        raise PermanentError(
            f"Report {report_id} is {report.status.value} and cannot complete", code="conflict"
        )
    report.status = ReportStatus.COMPLETED
    store.save_report(report)
    files.delete_prefix(f"{report_id}/parts/")
    return report_resource(report)


# -- the callback ----------------------------------------------------------------------------


def deliver_callback(
    report_id: str,
    attempts_allowed: int,
    *,
    store: ReportTable,
    send: Callable[[str, bytes, dict[str, str]], Delivery],
    signing_key: str,
    links: ReportLinks,
    now: Callable[[], float] = time.time,
) -> CallbackOutcome:
    """POST the finished report (the resource ``GET /api/reports/{id}`` answers, without its
    ``callback`` object) to its callback URL, signed, and record how it went on the report.

    A delivery worth retrying (5xx, 408, 429, no connection) raises ``TransientError`` so the
    durable retry policy tries again, until attempt ``attempts_allowed``, which records the
    failure instead. Idempotent: a delivered or finally failed callback is not sent again.
    Nothing here names the URL: it may carry the receiver's own signature."""
    report = _report_or_fail(store, report_id)
    state = report.callback or CallbackState()
    if not report.callback_url:
        return CallbackOutcome(report_id, "none")
    if state.status.final:
        return CallbackOutcome(report_id, state.status.value, state.attempts)
    if not report.status.finished:
        return CallbackOutcome(report_id, state.status.value, state.attempts)  # only a finished report
    attempt = state.attempts + 1
    if not signing_key:
        delivery = Delivery(False, error="CALLBACK_SIGNING_KEY is not set: the callback cannot be signed")
    else:
        resource = report_resource(report, links=links)
        resource.pop("callback", None)
        body = json.dumps(resource, separators=(",", ":"), default=str).encode("utf-8")
        delivery = send(report.callback_url, body, signed_headers(signing_key, report_id, body, now=now()))
    report.callback = _callback_after(delivery, attempt, attempts_allowed, now())
    store.save_report(report)
    if report.callback.status is CallbackStatus.RETRYING:
        raise TransientError(f"The callback was not delivered yet: {delivery.error}", code="callback_retry")
    if report.callback.status is CallbackStatus.FAILED:
        log.warning(
            "Callback of report %s not delivered after %d attempt(s): %s", report_id, attempt, delivery.error
        )
    return CallbackOutcome(report_id, report.callback.status.value, attempt)


def _callback_after(delivery: Delivery, attempt: int, attempts_allowed: int, now: float) -> CallbackState:
    if delivery.delivered:
        return CallbackState(CallbackStatus.DELIVERED, attempt, datetime.fromtimestamp(now, UTC))
    status = (
        CallbackStatus.RETRYING if delivery.retry and attempt < attempts_allowed else CallbackStatus.FAILED
    )
    return CallbackState(status, attempt, None, delivery.error)
