"""The report orchestrator: begin, fetch (a sub-orchestration per subscription, or one CSV
import), summarize, render (a sub-orchestration per file or PDF part), assemble, finalize;
then, when the caller gave a callback URL, deliver the finished report (completed or failed)
to it in a step sub-orchestration.

Its input is the report id alone. ``begin_report`` reads the report for that id, checks that
this orchestration owns it and that it is unfinished, and hands back what to fetch and render
and the retry and timeout settings: a start with made-up input acts on nothing.

Correct under the Durable extension's replay rules (see ``orchestrators/steps.py``): every call
that races the fetch timeout or fans in is a sub-orchestration that owns its retries and always
completes with a typed outcome, so this history never holds retry timers while a timer is
cancelled, and no fan-in ever sees a failed child. The calls awaited alone (begin, summarize,
assemble, finalize, status) retry here directly.

Deterministic: no I/O, no clock but ``context.current_utc_datetime``, logging only when not
replaying. Whatever goes wrong, the report ends as ``completed`` with its files or as
``failed`` with a reason. A subscription that cannot be read (permanently, or still failing
after its retries) is left out and named; the report fails only when nothing could be read.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from shared.errors import failure_reason, sanitize
from shared.jobs import (
    EXPORT_FORMATS,
    AssembleInput,
    BeginInput,
    BeginResult,
    CallbackInput,
    CsvImportInput,
    FetchOutcome,
    FinalizeInput,
    RenderInput,
    RenderResult,
    ReportJob,
    ReportStart,
    RetrySpec,
    StatusUpdate,
    StepOutcome,
    SummarizeInput,
    SummaryResult,
)

from .steps import fetch_subscription, retry_options, run_step

bp = df.Blueprint()
log = logging.getLogger(__name__)

ORCHESTRATOR = "report_orchestrator"

# Before the report's own settings are known (begin_report reads them): a short policy.
BEGIN_RETRY = RetrySpec(attempts=3, interval_ms=5_000)


class ReportFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _seconds(context: df.DurableOrchestrationContext, since: Any) -> float:
    return round((context.current_utc_datetime - since).total_seconds(), 3)


def fetch_failure(outcomes: list[FetchOutcome]) -> ReportFailed | None:
    """The report's failure when no subscription (or the CSV) could be read, else None."""
    if any(o.ok for o in outcomes):
        return None
    first = outcomes[0]
    code = first.failure_code or "fetch_failed"
    if len(outcomes) == 1:
        return ReportFailed(code, first.failure_message or "Fetching recommendations failed")
    reasons = "; ".join(f"{o.subscription_id}: {o.failure_message}" for o in outcomes[:5])
    more = f" (and {len(outcomes) - 5} more)" if len(outcomes) > 5 else ""
    return ReportFailed(code, sanitize(f"No subscription could be read: {reasons}{more}"))


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def report_orchestrator(context: df.DurableOrchestrationContext):
    try:
        rid = ReportStart.from_dict(context.get_input()).report_id
    except Exception as exc:  # a bad input can never succeed: end, don't retry
        return {"status": "ignored", "reason": failure_reason(exc)}

    begun = BeginResult.from_dict((yield context.call_activity_with_retry(
        "begin_report", retry_options(BEGIN_RETRY), BeginInput(rid, context.instance_id).to_dict()
    )))  # fmt: skip
    if not begun.ok:
        if not context.is_replaying:
            log.warning(
                "Orchestration %s did not act on report %s: %s", context.instance_id, rid, begun.reason
            )
        return {"reportId": rid, "status": "ignored", "reason": begun.reason}
    job = ReportJob.from_dict(begun.job)
    retry = retry_options(job.retry)
    started = context.current_utc_datetime
    durations: dict[str, float] = {}

    def status(stage: str, **extra: Any) -> None:
        context.set_custom_status({"stage": stage, **extra})

    try:
        # -- fetch: a sub-orchestration per subscription (or the CSV import), raced against a timeout
        status("fetching", subscriptionsTotal=len(job.subscription_ids) if job.source == "api" else 1)
        outcomes = yield from _fetch_stage(context, job)
        durations["fetch"] = _seconds(context, started)

        # -- summarize (also moves the report to "generating")
        left_out = sum(not o.ok for o in outcomes)
        status("summarizing", subscriptionsDone=len(outcomes), subscriptionsLeftOut=left_out)
        summary_started = context.current_utc_datetime
        summary = SummaryResult.from_dict((yield context.call_activity_with_retry(
            "summarize_report", retry, SummarizeInput(
                rid, api_pages=sum(o.pages for o in outcomes), fetch_seconds=durations["fetch"],
            ).to_dict(),
        )))  # fmt: skip
        durations["summarize"] = _seconds(context, summary_started)

        # -- render: a step per format, the PDF in parts
        status("generating", recommendations=summary.recommendation_count)
        render_started = context.current_utc_datetime
        files = yield from _render_stage(context, job, summary.pdf_parts, retry)
        durations["render"] = _seconds(context, render_started)
        durations["total"] = _seconds(context, started)

        # -- finalize: only now, with every file in place, is the report completed
        status("finalizing")
        report = yield context.call_activity_with_retry(
            "finalize_report", retry, FinalizeInput(rid, files, durations).to_dict()
        )
        status("completed", subscriptionsLeftOut=left_out)
        if not context.is_replaying:
            log.info("Report %s completed in %.1f s", rid, durations["total"])
        output = report
    except Exception as exc:
        code = exc.code if isinstance(exc, ReportFailed) else "activity_failed"
        message = sanitize(str(exc)) if isinstance(exc, ReportFailed) else failure_reason(exc)
        status("failed", failureCode=code)
        yield context.call_activity_with_retry(
            "set_report_status", retry, StatusUpdate(rid, "failed", code, message).to_dict()
        )
        if not context.is_replaying:
            log.warning("Report %s failed: %s %s", rid, code, message)
        output = {"reportId": rid, "status": "failed", "failureCode": code, "failureMessage": message}
    # -- callback: the finished report (completed or failed) to the caller's URL, if it gave one
    yield from _callback_stage(context, job)
    return output


def _fetch_stage(
    context: df.DurableOrchestrationContext, job: ReportJob
) -> Generator[Any, Any, list[FetchOutcome]]:
    """Fetch every subscription (or import the CSV) in sub-orchestrations, raced against the
    fetch timeout; the outcomes, or ReportFailed when the time ran out or nothing was read."""
    rid = job.report_id
    if job.source == "csv":
        fetches = [run_step(context, "import_csv", CsvImportInput(rid).to_dict(), job.retry, f"{rid}:csv")]
    else:
        fetches = [fetch_subscription(context, rid, sub, job.retry) for sub in job.subscription_ids]
    fetched = context.task_all(fetches)
    deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=job.fetch_timeout_s))
    winner = yield context.task_any([fetched, deadline])
    if winner is deadline:
        raise ReportFailed(
            "fetch_timeout",
            f"Fetching recommendations did not finish within {job.fetch_timeout_s} s; the report was stopped",
        )
    deadline.cancel()
    outcomes = [_fetch_outcome(raw) for raw in fetched.result]
    failure = fetch_failure(outcomes)
    if failure:
        raise failure
    return outcomes


def _render_stage(
    context: df.DurableOrchestrationContext, job: ReportJob, pdf_parts: int, retry: df.RetryOptions
) -> Generator[Any, Any, dict[str, str]]:
    """Render each file (the PDF in parts) in step sub-orchestrations, then assemble the PDF;
    the files by format, or ReportFailed when a file could not be rendered."""
    rid = job.report_id
    renders = []
    if "html" in job.formats:
        renders.append(
            run_step(context, "render_html", RenderInput(rid, "html").to_dict(), job.retry, f"{rid}:html")
        )
    # The action-plan exports: ":export:" keeps them apart from the CSV import's "{rid}:csv".
    renders += [
        run_step(context, "render_export", RenderInput(rid, fmt).to_dict(), job.retry, f"{rid}:export:{fmt}")
        for fmt in EXPORT_FORMATS
        if fmt in job.formats
    ]
    if "pdf" in job.formats:
        renders += [
            run_step(
                context,
                "render_pdf_part",
                RenderInput(rid, "pdf", part).to_dict(),
                job.retry,
                f"{rid}:pdf:{part:04d}",
            )
            for part in range(pdf_parts)
        ]
    rendered = [StepOutcome.from_dict(o) for o in (yield context.task_all(renders))]
    broken = [o for o in rendered if not o.ok]
    if broken:
        raise ReportFailed(
            "render_failed",
            f"{len(broken)} of {len(rendered)} report files could not be rendered: {broken[0].error}",
        )
    results = [RenderResult.from_dict(o.result) for o in rendered]
    files = {r.fmt: r.blob for r in results if r.fmt != "pdf"}
    if "pdf" in job.formats:
        parts = sorted((r for r in results if r.fmt == "pdf"), key=lambda r: r.part)
        assembled = RenderResult.from_dict((yield context.call_activity_with_retry(
            "assemble_pdf", retry, AssembleInput(rid, [p.blob for p in parts]).to_dict())))  # fmt: skip
        files["pdf"] = assembled.blob
    return files


def _callback_stage(context: df.DurableOrchestrationContext, job: ReportJob) -> Generator[Any, Any, None]:
    """Deliver the finished report to its callback in a step sub-orchestration (which owns the
    retries and always completes). The activity reads the URL from the report entity; its input
    here is the report id. However the delivery ends, the report stays as it finished."""
    if not job.callback:
        return
    rid = job.report_id
    payload = CallbackInput(rid, job.retry.attempts).to_dict()
    try:
        outcome = StepOutcome.from_dict(
            (yield run_step(context, "deliver_callback", payload, job.retry, f"{rid}:callback"))
        )
    except Exception as exc:  # the step never fails; if it did anyway, the report still stands
        outcome = StepOutcome(False, error=failure_reason(exc))
    if not context.is_replaying:
        delivered = outcome.ok and (outcome.result or {}).get("status") == "delivered"
        log.info("Callback of report %s %s", rid, "delivered" if delivered else "not delivered")


def _fetch_outcome(raw: Any) -> FetchOutcome:
    """A fetch result: a ``FetchOutcome`` from a subscription, a ``StepOutcome`` from the CSV."""
    if isinstance(raw, dict) and "subscription_id" in raw:
        return FetchOutcome.from_dict(raw)
    step = StepOutcome.from_dict(raw)
    if step.ok:
        return FetchOutcome.from_dict(step.result)
    return FetchOutcome("csv", ok=False, failure_code="import_failed", failure_message=step.error)
