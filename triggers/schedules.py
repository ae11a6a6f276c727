"""Scheduled reports: ``POST/GET /api/schedules``, ``GET/PATCH/DELETE /api/schedules/{scheduleId}``,
``GET /api/schedules/{scheduleId}/reports``, and the ``scheduled_reports`` timer.

Thin adapters: the routes validate (``shared.schedules``, whose report part is the parser of
``POST /api/reports``), store, and shape the answer; nothing is stored for a refused request.
The timer, bound to ``%REPORT_SCHEDULE%`` (resolved from the app setting by the host), hands
``shared.schedule_service`` the one way to start a run: through ``triggers.report_start``, as
``POST /api/reports`` starts a report, with the run's derived id and ``once=True``.
"""

from __future__ import annotations

import asyncio
import logging

import azure.durable_functions as df
import azure.functions as func

from shared import clients, report_service, schedule_service
from shared.customers import parse_guid
from shared.errors import InvalidInputError, NotFoundError
from shared.links import public_base_url
from shared.models import is_guid
from shared.schedules import (
    DueRun,
    Schedule,
    apply_patch,
    parse_new_schedule,
    schedule_resource,
)
from shared.settings import get_settings

from .http import handle_errors, json_response, page_params
from .report_start import StartOutcome, build_report, launch_report

bp = df.Blueprint()
log = logging.getLogger(__name__)


def _json_body(req: func.HttpRequest) -> object:
    try:
        return req.get_json()
    except ValueError:
        raise InvalidInputError("The request body is not valid JSON", field="body") from None
    except RecursionError:
        raise InvalidInputError("The request body is nested too deeply", field="body") from None


def _schedule_id(req: func.HttpRequest) -> str:
    """The route's schedule id, lower case; an id that is not a GUID names no schedule (404, as
    for reports)."""
    raw = req.route_params.get("scheduleId", "")
    if not is_guid(raw):
        raise NotFoundError("No schedule with that id", field="scheduleId")
    return raw.lower()


def _require_customer(customer_id: str) -> None:
    if customer_id and clients.customer_store().get_customer(customer_id) is None:
        raise NotFoundError(f"No customer {customer_id}", field="customerId")


def _get(schedule_id: str) -> Schedule:
    schedule = clients.schedule_store().get(schedule_id)
    if schedule is None:
        raise NotFoundError(f"No schedule {schedule_id}", field="scheduleId")
    return schedule


def _answer(schedule: Schedule, status: int = 200) -> func.HttpResponse:
    body = schedule_resource(schedule, now=report_service.utcnow())
    headers = {"Location": f"{public_base_url(get_settings())}/api/schedules/{schedule.schedule_id}"}
    return json_response(body, status, headers if status == 201 else None)


@bp.route(route="schedules", methods=["POST"])
@handle_errors
async def create_schedule(req: func.HttpRequest) -> func.HttpResponse:
    body, now = _json_body(req), report_service.utcnow()
    # In a thread: validating a callback URL resolves its host.
    schedule = await asyncio.to_thread(
        parse_new_schedule, body, min_retention=get_settings().retention_days, now=now
    )
    await asyncio.to_thread(_require_customer, schedule.customer_id)
    await asyncio.to_thread(clients.schedule_store().create, schedule)
    return _answer(schedule, 201)


@bp.route(route="schedules", methods=["GET"])
@handle_errors
async def list_schedules(req: func.HttpRequest) -> func.HttpResponse:
    raw_customer = req.params.get("customerId")
    customer_id = parse_guid(raw_customer, "customerId") if raw_customer is not None else None
    schedules = await asyncio.to_thread(clients.schedule_store().list, customer_id)
    now = report_service.utcnow()
    ordered = sorted(schedules, key=lambda s: (s.name.lower(), s.schedule_id))
    return json_response({"schedules": [schedule_resource(s, now=now) for s in ordered]})


@bp.route(route="schedules/{scheduleId}", methods=["GET"])
@handle_errors
async def get_schedule(req: func.HttpRequest) -> func.HttpResponse:
    return _answer(await asyncio.to_thread(_get, _schedule_id(req)))


@bp.route(route="schedules/{scheduleId}", methods=["PATCH"])
@handle_errors
async def update_schedule(req: func.HttpRequest) -> func.HttpResponse:
    schedule_id = _schedule_id(req)
    body = _json_body(req)
    retention = get_settings().retention_days

    def change(current: Schedule) -> Schedule:
        # Validated whole against the version read (a new customer looked up) before the
        # conditional write; a refusal raises, and nothing is written.
        updated = apply_patch(current, body, min_retention=retention, now=report_service.utcnow())
        if updated.customer_id != current.customer_id:
            _require_customer(updated.customer_id)
        return updated

    updated = await asyncio.to_thread(clients.schedule_store().update, schedule_id, change)
    if updated is None:
        raise NotFoundError(f"No schedule {schedule_id}", field="scheduleId")
    return _answer(updated)


@bp.route(route="schedules/{scheduleId}", methods=["DELETE"])
@handle_errors
async def delete_schedule(req: func.HttpRequest) -> func.HttpResponse:
    schedule_id = _schedule_id(req)
    if not await asyncio.to_thread(clients.schedule_store().delete, schedule_id):
        raise NotFoundError(f"No schedule {schedule_id}", field="scheduleId")
    return func.HttpResponse(status_code=204)


@bp.route(route="schedules/{scheduleId}/reports", methods=["GET"])
@handle_errors
async def list_schedule_reports(req: func.HttpRequest) -> func.HttpResponse:
    """Newest first, paged like ``GET /api/reports``. Reports outlive their schedule: a deleted
    schedule's id still lists the reports it started."""
    schedule_id = _schedule_id(req)
    limit, token = page_params(req)
    rows, next_token = await asyncio.to_thread(
        clients.table_store().list_reports, schedule_id=schedule_id, limit=limit, continuation_token=token
    )
    base = public_base_url(get_settings())
    items = [report_service.report_list_item(r, base) for r in rows]
    return json_response({"reports": items, "continuationToken": next_token})


# -- the timer -------------------------------------------------------------------------------------


async def _start_run(client: df.DurableOrchestrationClient, schedule: Schedule, run: DueRun) -> str:
    """Start the report of one due run; its id is the run's, so a second attempt finds it."""
    if await asyncio.to_thread(clients.table_store().get_report, run.report_id) is not None:
        return schedule_service.ALREADY_STARTED
    report = await build_report(
        schedule.report, run.report_id,
        schedule_id=schedule.schedule_id, retention_days=schedule.retention_days,
    )  # fmt: skip
    outcome = await launch_report(client, report, once=True)
    return {
        StartOutcome.STARTED: schedule_service.STARTED,
        StartOutcome.ALREADY_STARTED: schedule_service.ALREADY_STARTED,
        StartOutcome.START_FAILED: schedule_service.START_FAILED,
    }[outcome]


@bp.timer_trigger(schedule="%REPORT_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def scheduled_reports(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Start every schedule's due run (a missed period once, with its latest due time)."""
    if timer.past_due:
        log.info(
            "scheduled_reports is running late (REPORT_SCHEDULE %s); a schedule's missed runs are "
            "caught up once", get_settings().report_schedule,
        )  # fmt: skip

    async def start_run(schedule: Schedule, run: DueRun) -> str:
        return await _start_run(client, schedule, run)

    results = await schedule_service.run_due_schedules(
        clients.schedule_store(), start_run, report_service.utcnow()
    )
    for result in results:
        log.info("Schedule %s, run due %s: %s", result.schedule_id, result.due.isoformat(), result.outcome)
