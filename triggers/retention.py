"""Deleting reports: ``DELETE /api/reports/{reportId}`` at once, and the ``report_retention``
timer for reports past their retention (``REPORT_RETENTION_DAYS``, or a report's own
``retention_days``), on ``%REPORT_RETENTION_SCHEDULE%``.

Thin adapters over ``shared.retention``, which removes a report's rows, files, uploaded CSV and
orchestration history and the report itself last, and never touches a report that still runs.
"""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from shared import clients, retention
from shared.models import is_guid
from shared.settings import get_settings

from .http import error_response, handle_errors

bp = df.Blueprint()
log = logging.getLogger(__name__)


def _stores() -> retention.ReportStores:
    return retention.ReportStores(clients.table_store(), clients.report_files(), clients.uploads())


@bp.route(route="reports/{reportId}", methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def delete_report(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """204 once the report and everything it left behind are gone; 404 for an unknown report;
    409 while it (or an orchestration of it) still runs: nothing is deleted then."""
    report_id = (req.route_params.get("reportId") or "").lower()
    if not is_guid(report_id):
        return error_response(404, "not_found", "No report with that id", "reportId")
    outcome = await retention.delete_report(report_id, _stores(), retention.DurableHistory(client))
    if outcome is retention.Removal.NOT_FOUND:
        return error_response(404, "not_found", f"No report {report_id}", "reportId")
    if outcome is retention.Removal.RUNNING:
        return error_response(
            409, "report_running", f"Report {report_id} is still running; delete it once it has finished"
        )
    return func.HttpResponse(status_code=204)


@bp.timer_trigger(schedule="%REPORT_RETENTION_SCHEDULE%", arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def report_retention(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    days = get_settings().retention_days
    result = await retention.sweep(_stores(), retention.DurableHistory(client), default_days=days)
    log.info(
        "Report retention (%d days): %d due, %d deleted, %d running, %d failed, %d left for later",
        days, result.due, result.deleted, result.running, result.errors, result.left_for_next_run,
    )  # fmt: skip
