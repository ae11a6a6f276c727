"""Starting a report: the one path ``POST /api/reports``, the CSV upload and the schedules timer
share (no routes here).

``build_report`` turns a validated request into a pending report (a customer's request is
resolved to its registered subscriptions and its branding, the logo copied into the report's
files); ``launch_report`` puts the provider on it, stores it and starts its orchestration with
the report id as instance id and only input. With ``once=True`` the report is stored only if
no report has that id yet, and an orchestration that already exists counts as started: what
lets a schedule's run (whose id is derived from the run) be attempted any number of times, on
any number of hosts, and start one report.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum

import azure.durable_functions as df

from orchestrators.report import ORCHESTRATOR
from orchestrators.steps import STEP_ORCHESTRATOR
from shared import clients, customer_service, report_service
from shared.jobs import CallbackInput, ReportStart, RetrySpec, StepInput
from shared.models import Report, ReportStatus
from shared.report_request import MAX_SUBSCRIPTIONS, ReportRequest
from shared.settings import get_settings

log = logging.getLogger(__name__)

START_FAILED_MESSAGE = "The report could not be started; try again"


class StartOutcome(StrEnum):
    STARTED = "started"
    ALREADY_STARTED = "already_started"  # by an earlier attempt at the same run
    START_FAILED = "start_failed"  # stored, marked failed: the orchestration could not be started


async def build_report(
    request: ReportRequest, report_id: str, *, schedule_id: str = "", retention_days: int = 0
) -> Report:
    """The pending report ``request`` asks for. A customer's request is refused here (404 for
    an unknown customer, 400 for one without subscriptions) before anything is stored."""
    subscription_ids, customer, accent = request.subscription_ids, request.customer, ""
    scope = None
    if request.customer_id:
        scope = await asyncio.to_thread(
            customer_service.report_scope, clients.customer_store(), request.customer_id,
            limit=MAX_SUBSCRIPTIONS,
        )  # fmt: skip
        subscription_ids, customer, accent = scope.subscription_ids, scope.customer_name, scope.accent_color
    report = Report(
        report_id=report_id,
        report_type=request.report_type,
        subscription_ids=list(subscription_ids),
        formats=list(request.formats),
        filters=request.filters,
        customer=customer,
        customer_id=request.customer_id,
        accent_color=accent,  # the branding as it was when asked for, like the name
        schedule_id=schedule_id,
        retention_days=retention_days,
        callback_url=request.callback_url,
    )
    if scope is not None and scope.logo_blob:
        report.logo_content_type = await asyncio.to_thread(
            customer_service.copy_logo, scope, report.report_id,
            branding=clients.branding_files(), report_files=clients.report_files(),
        )  # fmt: skip
    return report


def _already_exists(exc: Exception) -> bool:
    # The client surfaces the extension's answer as a plain Exception carrying its message
    # (DurableOrchestrationClient.start_new): "An Orchestration instance with the status
    # Running already exists."
    return "already exists" in str(exc).lower()


async def launch_report(
    client: df.DurableOrchestrationClient, report: Report, *, once: bool = False
) -> StartOutcome:
    """Store ``report`` (pending) and start its orchestration."""
    store = clients.table_store()
    s = get_settings()
    if s.provider_name or s.provider_logo_blob:
        await asyncio.to_thread(
            report_service.add_provider, report, name=s.provider_name, logo_blob=s.provider_logo_blob,
            branding=clients.branding_files(), report_files=clients.report_files(),
        )  # fmt: skip
    if once:
        if not await asyncio.to_thread(report_service.create_report_once, store, report):
            return StartOutcome.ALREADY_STARTED
    else:
        await asyncio.to_thread(report_service.create_report, store, report)
    try:
        await client.start_new(ORCHESTRATOR, report.report_id, ReportStart(report.report_id).to_dict())
    except Exception as exc:
        if once and _already_exists(exc):
            return StartOutcome.ALREADY_STARTED
        log.exception("Could not start the orchestration for report %s", report.report_id)
        failed = await asyncio.to_thread(
            report_service.set_status, store, report.report_id, ReportStatus.FAILED,
            failure_code=report_service.START_FAILED, failure_message=START_FAILED_MESSAGE,
        )  # fmt: skip
        if failed is not None:
            await deliver_orphaned_callback(client, failed)
        return StartOutcome.START_FAILED
    return StartOutcome.STARTED


CALLBACK_START_TIMEOUT_SECONDS = 5


async def deliver_orphaned_callback(client: df.DurableOrchestrationClient, report: Report) -> None:
    """Start delivering the callback of a report no orchestration of it will deliver
    (``report_service.orphaned_callback``): the step orchestration, run as an orchestration of
    its own under the id the report's orchestration would have given it (``{id}:callback``),
    with the durable retry policy. If that instance exists already (running, or ended) nothing
    is started, so the callback is never delivered twice; the delivery activity itself sends a
    delivered or finally failed callback never again. A start that fails is logged and tried
    again by the next poll of the report."""
    if not report_service.orphaned_callback(report):
        return
    instance_id = report_service.callback_instance_id(report.report_id)
    s = get_settings()
    retry = RetrySpec(s.retry_attempts, max(1, s.retry_interval_ms))
    step = StepInput(
        "deliver_callback", CallbackInput(report.report_id, retry.attempts).to_dict(), retry.to_dict()
    )
    try:
        status = await asyncio.wait_for(client.get_status(instance_id), CALLBACK_START_TIMEOUT_SECONDS)
        state = report_service.OrchestrationState.from_client_status(status)
        if state is None or state.runtime_status is not None:
            return  # it exists (or the runtime cannot say): the next poll looks again
        await asyncio.wait_for(
            client.start_new(STEP_ORCHESTRATOR, instance_id, step.to_dict()), CALLBACK_START_TIMEOUT_SECONDS
        )
    except Exception as exc:
        if _already_exists(exc):
            return
        log.warning("Could not start the callback of report %s: %s", report.report_id, type(exc).__name__)
        return
    log.info("Callback of report %s started: its orchestration cannot deliver it", report.report_id)
