"""Sub-orchestrations that own their retries: one per subscription fetch, and one generic step
(the CSV import, each rendered file or PDF part, the callback).

Why they exist: the Durable extension replays an orchestrator's actions through its own C#
context (``OutOfProcOrchestrationShim`` in Azure/azure-functions-durable-extension). There a
cancelled timer ends a ``task_any`` at once and ``task_all`` waits for every child, so a parent
whose own history holds retry timers (or a failed child) while it races a timeout or fans in
gets sequence numbers that disagree with the Python SDK's, and fails as non-deterministic.
Here each retried call is alone in its own history, and each sub-orchestration always
completes with a typed outcome (it never fails), so the parent's fan-outs only ever see
successes and its history holds no retry timers.

Deterministic: no I/O, no clock, no logging while replaying.
"""

from __future__ import annotations

import logging

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskBase

from shared.errors import failure_reason
from shared.jobs import FetchInput, FetchOutcome, FetchStep, OutcomeRecord, RetrySpec, StepInput, StepOutcome

bp = df.Blueprint()
log = logging.getLogger(__name__)

FETCH_ORCHESTRATOR = "fetch_subscription_orchestrator"
STEP_ORCHESTRATOR = "report_step_orchestrator"

# The activities a generic step may run: a forged start cannot make it call anything else.
STEP_ACTIVITIES = frozenset(
    {"import_csv", "render_html", "render_export", "render_pdf_part", "deliver_callback"}
)


def retry_options(spec: RetrySpec) -> df.RetryOptions:
    return df.RetryOptions(
        first_retry_interval_in_milliseconds=max(1, spec.interval_ms),
        max_number_of_attempts=max(1, spec.attempts),
    )


def run_step(
    context: df.DurableOrchestrationContext, activity: str, payload: dict, retry: RetrySpec, instance_id: str
) -> TaskBase:
    """Schedule ``activity`` through the step sub-orchestration; the task's result is a
    ``StepOutcome`` dict."""
    step = StepInput(activity, payload, retry.to_dict())
    return context.call_sub_orchestrator(STEP_ORCHESTRATOR, step.to_dict(), instance_id)


def fetch_subscription(
    context: df.DurableOrchestrationContext, report_id: str, subscription_id: str, retry: RetrySpec
) -> TaskBase:
    """Schedule one subscription's fetch; the task's result is a ``FetchOutcome`` dict."""
    step = FetchStep(report_id, subscription_id, retry.to_dict())
    return context.call_sub_orchestrator(
        FETCH_ORCHESTRATOR, step.to_dict(), f"{report_id}:fetch:{subscription_id}"
    )


@bp.orchestration_trigger(context_name="context", orchestration=FETCH_ORCHESTRATOR)
def fetch_subscription_orchestrator(context: df.DurableOrchestrationContext):
    """Fetch one subscription with retries. Permanent faults come back from the activity as a
    failed outcome; a transient fault that outlasts the retries becomes one here, recorded so
    the report names the subscription as left out."""
    try:
        step = FetchStep.from_dict(context.get_input())
        retry = RetrySpec.from_dict(step.retry)
    except Exception as exc:  # a malformed input can never succeed
        return FetchOutcome(
            "", ok=False, failure_code="invalid_input", failure_message=failure_reason(exc)
        ).to_dict()
    try:
        result = yield context.call_activity_with_retry(
            "fetch_subscription",
            retry_options(retry),
            FetchInput(step.report_id, step.subscription_id).to_dict(),
        )
        return FetchOutcome.from_dict(result).to_dict()
    except Exception as exc:
        outcome = FetchOutcome(
            step.subscription_id, ok=False, failure_code="unavailable",
            failure_message=f"Still failing after {retry.attempts} attempts: {failure_reason(exc)}",
        )  # fmt: skip
    try:
        yield context.call_activity_with_retry(
            "record_fetch_outcome",
            retry_options(retry),
            OutcomeRecord(step.report_id, outcome.to_dict()).to_dict(),
        )
    except Exception as exc:  # storage is failing too: the parent still gets the outcome
        if not context.is_replaying:
            log.warning(
                "Could not record that %s was left out: %s", step.subscription_id, failure_reason(exc)
            )
    return outcome.to_dict()


@bp.orchestration_trigger(context_name="context", orchestration=STEP_ORCHESTRATOR)
def report_step_orchestrator(context: df.DurableOrchestrationContext):
    """Run one activity with retries and always complete with a ``StepOutcome``."""
    try:
        step = StepInput.from_dict(context.get_input())
        if step.activity not in STEP_ACTIVITIES:
            return StepOutcome(False, error=f"{step.activity[:40]!r} is not a report step").to_dict()
        retry = RetrySpec.from_dict(step.retry)
        result = yield context.call_activity_with_retry(step.activity, retry_options(retry), step.input)
        return StepOutcome(True, result).to_dict()
    except Exception as exc:
        return StepOutcome(False, error=failure_reason(exc)).to_dict()
