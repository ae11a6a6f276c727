"""The report orchestrator: fetch (fan-out per subscription, or one CSV import), summarize,
render (fan-out per format and PDF part), assemble, finalize.

Deterministic: no I/O, no clock but ``context.current_utc_datetime``, logging only when not
replaying. Every activity call that can fail transiently goes through RetryOptions; activities
report permanent failures as typed outcomes, which fail the report at once (one subscription)
or leave that subscription out and say so (several). Whatever goes wrong, the report ends as
``completed`` with its files or as ``failed`` with a reason: never half-done shown as done.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from shared.errors import sanitize
from shared.jobs import (
    AssembleInput,
    CsvImportInput,
    FetchInput,
    FetchOutcome,
    FinalizeInput,
    RenderInput,
    RenderResult,
    ReportJob,
    StatusUpdate,
    SummarizeInput,
    SummaryResult,
)

bp = df.Blueprint()
log = logging.getLogger(__name__)

ORCHESTRATOR = "report_orchestrator"


class ReportFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _failure_message(exc: BaseException) -> str:
    """The reason without the activity's traceback details, which the SDK appends."""
    text = str(exc).split(" \n ", 1)[0].split("\n", 1)[0].strip()
    return sanitize(text) or "The report could not be produced"


def _seconds(context: df.DurableOrchestrationContext, since: Any) -> float:
    return round((context.current_utc_datetime - since).total_seconds(), 3)


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def report_orchestrator(context: df.DurableOrchestrationContext):
    try:
        job = ReportJob.from_dict(context.get_input())
    except Exception as exc:  # a bad input can never succeed: end, don't retry
        return {"status": "failed", "failureCode": "invalid_input", "failureMessage": sanitize(str(exc))}

    retry = df.RetryOptions(
        first_retry_interval_in_milliseconds=max(1, job.retry_interval_ms),
        max_number_of_attempts=job.retry_attempts,
    )
    rid = job.report_id
    started = context.current_utc_datetime
    durations: dict[str, float] = {}

    def status(stage: str, **extra: Any) -> None:
        context.set_custom_status({"stage": stage, **extra})

    try:
        status("fetching", subscriptionsTotal=len(job.subscription_ids) if job.source == "api" else 1)
        yield context.call_activity_with_retry(
            "set_report_status", retry, StatusUpdate(rid, "processing").to_dict()
        )

        # -- fetch: one activity per subscription (or one CSV import), raced against a timeout
        if job.source == "csv":
            csv_input = CsvImportInput(rid, job.csv_blob, job.filters, job.csv_default_category)
            tasks = [context.call_activity_with_retry("import_csv", retry, csv_input.to_dict())]
        else:
            tasks = [
                context.call_activity_with_retry(
                    "fetch_subscription", retry, FetchInput(rid, sub, job.filters).to_dict()
                )
                for sub in job.subscription_ids
            ]
        fetched_all = context.task_all(tasks)
        deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=job.fetch_timeout_s))
        winner = yield context.task_any([fetched_all, deadline])
        if winner is deadline:
            raise ReportFailed(
                "fetch_timeout",
                f"Fetching recommendations did not finish within {job.fetch_timeout_s} s; "
                "the report was stopped",
            )
        deadline.cancel()
        # raises if an activity's retries ran out
        outcomes = [FetchOutcome.from_dict(o) for o in (yield fetched_all)]
        durations["fetch"] = _seconds(context, started)

        failed = {o.subscription_id: o for o in outcomes if not o.ok}
        if len(failed) == len(outcomes):
            first = outcomes[0]
            code = first.failure_code or "fetch_failed"
            if len(outcomes) == 1:
                raise ReportFailed(code, first.failure_message or "Fetching recommendations failed")
            raise ReportFailed(code, "No subscription could be read: " + "; ".join(
                f"{sub}: {o.failure_message}" for sub, o in list(failed.items())[:5]))  # fmt: skip

        # -- summarize
        status("summarizing", subscriptionsDone=len(outcomes), subscriptionsLeftOut=len(failed))
        summary_started = context.current_utc_datetime
        summary = SummaryResult.from_dict((yield context.call_activity_with_retry(
            "summarize_report", retry, SummarizeInput(
                rid,
                skipped={sub: o.failure_message or "" for sub, o in failed.items()},
                api_pages=sum(o.pages for o in outcomes),
                fetch_seconds=durations["fetch"],
            ).to_dict(),
        )))  # fmt: skip
        durations["summarize"] = _seconds(context, summary_started)

        # -- render: one activity per format, the PDF in parts
        status("generating", recommendations=summary.recommendation_count)
        yield context.call_activity_with_retry(
            "set_report_status", retry, StatusUpdate(rid, "generating").to_dict()
        )
        render_started = context.current_utc_datetime
        renders = []
        if "html" in job.formats:
            renders.append(
                context.call_activity_with_retry("render_html", retry, RenderInput(rid, "html").to_dict())
            )
        if "pdf" in job.formats:
            renders += [
                context.call_activity_with_retry(
                    "render_pdf_part", retry, RenderInput(rid, "pdf", part).to_dict()
                )
                for part in range(summary.pdf_parts)
            ]
        results = [RenderResult.from_dict(r) for r in (yield context.task_all(renders))]
        files = {r.fmt: r.blob for r in results if r.fmt == "html"}
        if "pdf" in job.formats:
            parts = sorted((r for r in results if r.fmt == "pdf"), key=lambda r: r.part)
            assembled = RenderResult.from_dict((yield context.call_activity_with_retry(
                "assemble_pdf", retry, AssembleInput(rid, [p.blob for p in parts]).to_dict())))  # fmt: skip
            files["pdf"] = assembled.blob
        durations["render"] = _seconds(context, render_started)
        durations["total"] = _seconds(context, started)

        # -- finalize: only now, with every file in place, is the report completed
        status("finalizing")
        report = yield context.call_activity_with_retry(
            "finalize_report", retry, FinalizeInput(rid, files, durations).to_dict()
        )
        status("completed")
        if not context.is_replaying:
            log.info("Report %s completed in %.1f s", rid, durations["total"])
        return report
    except Exception as exc:
        code = exc.code if isinstance(exc, ReportFailed) else "activity_failed"
        message = _failure_message(exc)
        status("failed", failureCode=code)
        yield context.call_activity_with_retry(
            "set_report_status", retry, StatusUpdate(rid, "failed", code, message).to_dict()
        )
        if not context.is_replaying:
            log.warning("Report %s failed: %s %s", rid, code, message)
        return {"reportId": rid, "status": "failed", "failureCode": code, "failureMessage": message}
