"""HTTP API for reports: start one (from subscriptions, a registered customer's subscriptions or
an uploaded CSV), poll it, list them (all, or one customer's), download its files.

Thin adapters: parse and validate, call ``shared``, shape the answer. Validation happens before
anything is stored. Starting answers 202 with ``Location`` (the report's own URL, which answers
202 until the report is finished and then 200: the HTTP async pattern Logic Apps follows) and
``Retry-After``; no Durable management URL is ever handed out. Both start routes take an
optional ``callbackUrl`` (the CSV route in the query or the ``X-Callback-Url`` header, which
stays out of request logs; checked here, before anything is stored; delivered by the
orchestration once the report has finished). Polling reconciles the report with its
orchestration's runtime status, so a terminated or crashed one still ends the report, and
starts the delivery of a callback no orchestration of the report is left to deliver.
"""

from __future__ import annotations

import asyncio
import logging
import re

import azure.durable_functions as df
import azure.functions as func

from shared import clients, report_service
from shared.csv_import import parse_csv
from shared.customers import parse_guid
from shared.errors import InvalidInputError, LimitExceededError
from shared.links import LinkSigner, public_base_url, report_links
from shared.models import Report, ReportFilters, ReportStatus, is_guid
from shared.report_request import (
    CALLBACK_HEADER,
    check_csv_subscriptions,
    parse_csv_callback_url,
    parse_customer,
    parse_filters,
    parse_formats,
    parse_report_request,
    parse_report_type,
)
from shared.settings import get_settings

from .http import RETRY_AFTER_SECONDS, error_response, handle_errors, json_response, page_params
from .report_start import (
    START_FAILED_MESSAGE,
    StartOutcome,
    build_report,
    deliver_orphaned_callback,
    launch_report,
)

bp = df.Blueprint()
log = logging.getLogger(__name__)

MAX_CSV_BYTES = 20 * 1024 * 1024
_WHOLE_NUMBER = re.compile(r"[0-9]{1,12}")
STATUS_TIMEOUT_SECONDS = 5


def _category_param(value: str) -> str:
    try:
        return parse_filters({"categories": [value]}).categories[0]
    except InvalidInputError as exc:
        raise InvalidInputError(
            str(exc).replace("filters.categories", "category"), field="category"
        ) from None


async def _start(client: df.DurableOrchestrationClient, report: Report) -> func.HttpResponse:
    if await launch_report(client, report) is StartOutcome.START_FAILED:
        return error_response(503, "start_failed", START_FAILED_MESSAGE)
    location = report_links(get_settings(), report.report_id).report
    # Never the Durable management URLs: in Azure they carry the extension's system key, which
    # can terminate, purge, rewind or list every instance in the task hub. The report's own URL
    # is the handle.
    body = {"reportId": report.report_id, "status": report.status.value, "statusUrl": location}
    return json_response(body, 202, {"Location": location, "Retry-After": str(RETRY_AFTER_SECONDS)})


@bp.route(route="reports", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def start_report(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        body = req.get_json()
    except ValueError:
        return error_response(400, "invalid_json", "The request body is not valid JSON", "body")
    except RecursionError:  # json.loads recurses per nesting level: a body like [[[[...]]]]
        return error_response(400, "invalid_json", "The request body is nested too deeply", "body")
    request = await asyncio.to_thread(parse_report_request, body)  # resolves a callback's host
    report = await build_report(request, report_service.new_report_id())
    return await _start(client, report)


@bp.route(route="reports/csv", methods=["POST"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def start_csv_report(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    report_type = parse_report_type(req.params.get("reportType"))
    formats = parse_formats(req.params.get("formats"))
    customer = parse_customer(req.params.get("customer"))
    # Per-category exports have no Category column: the caller may say which category it is.
    category = req.params.get("category")
    default_category = _category_param(category) if category else None
    callback_url = await asyncio.to_thread(
        parse_csv_callback_url, req.params.get("callbackUrl"), req.headers.get(CALLBACK_HEADER)
    )
    declared = req.headers.get("content-length")
    if declared and _WHOLE_NUMBER.fullmatch(declared) and int(declared) > MAX_CSV_BYTES:
        raise LimitExceededError(f"The CSV file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
    data = req.get_body()
    if len(data) > MAX_CSV_BYTES:
        raise LimitExceededError(f"The CSV file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
    if not data.strip():
        raise InvalidInputError(
            "The request body is empty; send the CSV file the portal exports", field="body"
        )
    # Parse the whole file now, so a malformed one is refused with its line before anything is stored.
    recs = await asyncio.to_thread(parse_csv, data, default_category=default_category)
    subscriptions = check_csv_subscriptions(r.subscription_id for r in recs)
    report = Report(
        report_id=report_service.new_report_id(),
        report_type=report_type,
        subscription_ids=sorted(subscriptions),
        formats=list(formats),
        filters=ReportFilters(),
        customer=customer,
        source="csv",
        csv_category=default_category or "",
        callback_url=callback_url,
    )
    blob = report_service.csv_blob_name(report.report_id)
    await asyncio.to_thread(clients.uploads().upload, blob, data, content_type="text/csv; charset=utf-8")
    return await _start(client, report)


@bp.route(route="reports/{reportId}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@handle_errors
async def get_report(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await _answer_report(client, _route_report_id(req))


@bp.route(route="links/reports/{reportId}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
@handle_errors
async def get_report_by_link(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """The report through a signed link (shared/links.py): anonymous to the host, refused here
    without a token signed for this report that has not expired."""
    report_id = _route_report_id(req)
    token = _link_token(req, report_id)
    if token is None:
        return _refused_link()
    return await _answer_report(client, report_id, token=token)


def _route_report_id(req: func.HttpRequest) -> str:
    # Report ids are lower-case GUIDs; a GUID is the same id in any case.
    return (req.route_params.get("reportId") or "").lower()


def _link_token(req: func.HttpRequest, report_id: str) -> str | None:
    """The request's link token if it opens this report, else None."""
    signer = LinkSigner.from_settings(get_settings())
    token = req.params.get("token") or ""
    if signer is None or not is_guid(report_id) or not signer.verify(report_id, token):
        return None
    return token


def _refused_link() -> func.HttpResponse:
    return error_response(403, "invalid_link", "The link is not valid or has expired", "token")


async def _answer_report(
    client: df.DurableOrchestrationClient, report_id: str, *, token: str | None = None
) -> func.HttpResponse:
    if not is_guid(report_id):
        return error_response(404, "not_found", "No report with that id", "reportId")
    store = clients.table_store()
    report = await asyncio.to_thread(store.get_report, report_id)
    if report is None:
        return error_response(404, "not_found", f"No report {report_id}", "reportId")
    if not report.status.finished:
        # The table alone cannot tell a report whose orchestration was terminated or crashed
        # from one still running: ask the runtime, so every report ends. The instance id is the
        # report id (checked above), never a value read back from storage.
        state = await _orchestration_state(client, report_id)
        if state is not None:
            try:
                report = await asyncio.to_thread(report_service.reconcile, store, report, state)
            except Exception:  # the table's answer stands; the next poll tries again
                log.exception("Could not reconcile report %s with its orchestration", report_id)
    # A report failed because its orchestration ended, vanished or never started has no one to
    # deliver its callback: this poll starts the delivery (once: see deliver_orphaned_callback).
    await deliver_orphaned_callback(client, report)
    # A caller that came with a link token is handed the same one back (a poller's Location
    # stays put); one with a function key gets new signed links when a link key is set.
    links = report_links(get_settings(), report_id, token=token)
    if report.status.finished:
        return json_response(report_service.report_resource(report, links=links))
    info = await asyncio.to_thread(report_service.progress, store, report)
    body = report_service.report_resource(report, links=links, progress_info=info)
    return json_response(body, 202, {"Location": links.report, "Retry-After": str(RETRY_AFTER_SECONDS)})


async def _orchestration_state(
    client: df.DurableOrchestrationClient, instance_id: str
) -> report_service.OrchestrationState | None:
    """The instance's runtime status; None when the runtime cannot say (the report is then
    answered from the table alone, as if the question had not been asked)."""
    try:
        status = await asyncio.wait_for(client.get_status(instance_id), STATUS_TIMEOUT_SECONDS)
        return report_service.OrchestrationState.from_client_status(status)
    except Exception as exc:  # any failure here must not fail the poll
        log.warning("Runtime status of %s unavailable: %s", instance_id, type(exc).__name__)
        return None


@bp.route(route="reports", methods=["GET"])
@handle_errors
async def list_reports(req: func.HttpRequest) -> func.HttpResponse:
    status = req.params.get("status") or None
    if status and status not in {s.value for s in ReportStatus}:
        raise InvalidInputError(
            f"status {status[:20]!r} is not one of {', '.join(s.value for s in ReportStatus)}", field="status"
        )
    limit, token = page_params(req)
    raw_customer = req.params.get("customerId")
    customer_id = parse_guid(raw_customer, "customerId") if raw_customer is not None else None
    store = clients.table_store()
    base = public_base_url(get_settings())
    rows, next_token = await asyncio.to_thread(
        store.list_reports, status=status, customer_id=customer_id, limit=limit, continuation_token=token,
    )  # fmt: skip
    items = [report_service.report_list_item(r, base) for r in rows]
    return json_response({"reports": items, "continuationToken": next_token})


@bp.route(route="reports/{reportId}/files/{fmt}", methods=["GET"])
@handle_errors
async def download_report_file(req: func.HttpRequest) -> func.HttpResponse:
    return await _download(_route_report_id(req), req.route_params.get("fmt") or "")


@bp.route(route="links/reports/{reportId}/files/{fmt}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@handle_errors
async def download_report_file_by_link(req: func.HttpRequest) -> func.HttpResponse:
    """A report's file through a signed link; refused without a valid token for the report."""
    report_id = _route_report_id(req)
    if _link_token(req, report_id) is None:
        return _refused_link()
    return await _download(report_id, req.route_params.get("fmt") or "")


async def _download(report_id: str, fmt: str) -> func.HttpResponse:
    fmt = fmt.lower()
    if not is_guid(report_id):
        return error_response(404, "not_found", "No report with that id", "reportId")
    url = await asyncio.to_thread(
        report_service.file_download_url, clients.table_store(), clients.report_files(), report_id, fmt,
        minutes=get_settings().sas_minutes,
    )  # fmt: skip
    if not url:
        return error_response(404, "not_found", f"Report {report_id} has no {fmt} file (yet)", "format")
    return func.HttpResponse(status_code=302, headers={"Location": url, "Cache-Control": "no-store"})
