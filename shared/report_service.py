"""Report lifecycle operations shared by the HTTP triggers and the activities: create a
pending report, move its status (tolerating repeats, never regressing), reconcile it with its
orchestration's runtime status, show it to callers, hand out download links.

The caller-facing JSON (``report_resource``) is shaped here, once, so the GET endpoint, the
orchestration output and the finalize activity agree.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

from .blob_store import BlobStore
from .errors import InvalidInputError
from .links import ReportLinks
from .models import CallbackState, CallbackStatus, Report, ReportStatus, category_label
from .ports import ReportTable
from .table_store import TableStore

log = logging.getLogger(__name__)

FILE_NAMES = {
    "html": "advisor-report.html",
    "pdf": "advisor-report.pdf",
    "xlsx": "advisor-action-plan.xlsx",
    "csv": "advisor-action-plan.csv",
}


def new_report_id() -> str:
    return str(uuid.uuid4())


def csv_blob_name(report_id: str) -> str:
    """Where a CSV report's uploaded file is kept (in the uploads container)."""
    return f"{report_id}.csv"


def report_logo_blob(report_id: str) -> str:
    """Where a report keeps the customer's logo it was asked with (in the reports container)."""
    return f"{report_id}/logo"


def provider_logo_blob(report_id: str) -> str:
    return f"{report_id}/provider-logo"


def add_provider(report: Report, *, name: str, logo_blob: str, branding: Any, report_files: Any) -> None:
    """Put who prepares the reports on this one: the name, and a copy of the logo (so the
    report keeps what it was asked with). A logo that is missing or not a PNG, JPEG or SVG is
    left out and logged: it is the operator's setting, not the caller's fault."""
    report.provider_name = name
    if not logo_blob:
        return
    from .customers import sniff_logo

    try:
        data = branding.download(logo_blob)
        content_type = sniff_logo(data)
    except Exception as exc:
        log.warning("REPORT_PROVIDER_LOGO_BLOB %r cannot be used: %s", logo_blob[:80], type(exc).__name__)
        return
    report_files.upload(provider_logo_blob(report.report_id), data, content_type=content_type)
    report.provider_logo_content_type = content_type


def utcnow() -> datetime:
    return datetime.now(UTC)


def _pending(report: Report) -> Report:
    report.status = ReportStatus.PENDING
    report.requested_at = report.requested_at or utcnow()
    report.instance_id = report.instance_id or report.report_id
    if report.callback_url and report.callback is None:
        report.callback = CallbackState()
    return report


def create_report(store: ReportTable, report: Report) -> Report:
    """Store ``report`` as pending."""
    store.save_report(_pending(report))
    return report


def create_report_once(store: ReportTable, report: Report) -> bool:
    """Store ``report`` as pending only if no report has its id yet: False (nothing written) if
    one has. What makes a run that may be attempted twice (a schedule's, whose report id is
    derived from the run) one report."""
    return store.create_report(_pending(report))


def set_status(
    store: TableStore,
    report_id: str,
    status: ReportStatus,
    *,
    failure_code: str = "",
    failure_message: str = "",
) -> Report | None:
    """Move the report to ``status`` if that is a legal move; repeats are no-ops."""
    report = store.get_report(report_id)
    if report is None:
        return None
    if not report.status.can_become(status):
        return report
    if report.status is status and not failure_code:
        return report
    report.status = status
    if status is ReportStatus.FAILED:
        report.failure_code = failure_code or "failed"
        report.failure_message = failure_message or "The report could not be produced"
        report.completed_at = utcnow()
    store.save_report(report)
    return report


# -- reconciling with the orchestration: every report ends (docs/architecture.md, rule 8) -------

# The report row is written just before the orchestration is started: an instance that does
# not exist yet is only suspicious once the start has had ample time.
START_GRACE = timedelta(minutes=2)
RUNNING = frozenset({"Pending", "Running", "ContinuedAsNew", "Suspended"})

# Runtime status -> (failure code, message). Fixed texts: the runtime's own output can hold a
# traceback, file paths or whatever an operator typed as a terminate reason.
_ENDED = {
    "Failed": (
        "orchestration_failed",
        "The report's orchestration failed unexpectedly; start the report again",
    ),
    "Terminated": (
        "orchestration_terminated",
        "The report's orchestration was terminated before it finished",
    ),
    "Canceled": (
        "orchestration_canceled",
        "The report's orchestration was canceled before it finished",
    ),
    "Completed": (
        "orchestration_ended_unfinished",
        "The report's orchestration ended without finishing the report",
    ),
}
_MISSING = (
    "orchestration_missing",
    "The report's orchestration does not exist (it never started, or its history was purged); "
    "start the report again",
)


@dataclass(frozen=True)
class OrchestrationState:
    """What the Durable runtime says about a report's orchestration: its runtime status name
    (``Running``, ``Failed``...), or None when there is no such instance."""

    runtime_status: str | None

    @classmethod
    def from_client_status(cls, status: Any) -> OrchestrationState | None:
        """From what ``DurableOrchestrationClient.get_status`` returns (azure-functions-durable
        1.x), or None when the answer says nothing usable.

        The client hides the HTTP status: a 404 (no such instance; the extension's
        ``HttpApiHandler`` answers it with an empty body) comes back as a status built from
        ``""``, with ``message == ""`` and no runtime status. An error answer with a body also
        has no runtime status but carries other fields, and must not read as "missing"."""
        runtime = getattr(status, "runtime_status", None)
        if runtime is not None:
            return cls(str(getattr(runtime, "value", runtime)))
        if getattr(status, "message", None) == "" and not getattr(status, "created_time", None):
            return cls(None)
        return None


def failure_for(report: Report, state: OrchestrationState, *, now: datetime) -> tuple[str, str] | None:
    """(code, message) if the orchestration can no longer finish ``report``; None while it can
    (or while the report is already finished)."""
    if report.status.finished:
        return None
    if state.runtime_status is None:
        started = report.requested_at
        if started is not None and now - started < START_GRACE:
            return None
        return _MISSING
    if state.runtime_status in RUNNING:
        return None
    return _ENDED.get(state.runtime_status)  # a status this code does not know: leave it be


class ReportUpdater(Protocol):
    """What reconciling needs of the report store (TableStore has it)."""

    def update_report(self, report_id: str, change: Callable[[Report], bool]) -> Report | None: ...


def reconcile(
    store: ReportUpdater, report: Report, state: OrchestrationState, *, now: datetime | None = None
) -> Report:
    """The report as it must be shown given its orchestration's ``state``: marked failed (and
    stored so) when the orchestration has ended, or can no longer run, without finishing it.
    Idempotent, and never overwrites a report that finished meanwhile."""
    verdict = failure_for(report, state, now=now or utcnow())
    if verdict is None:
        return report
    code, message = verdict

    def fail(current: Report) -> bool:
        if current.status.finished:
            return False
        current.status = ReportStatus.FAILED
        current.failure_code, current.failure_message = code, message
        current.completed_at = utcnow()
        return True

    stored = store.update_report(report.report_id, fail)
    if stored is not None and stored.failure_code == code:
        log.warning("Report %s: orchestration %s; marked failed", report.report_id, state.runtime_status)
    return stored or report


# -- a callback no orchestration will deliver -------------------------------------------------------

START_FAILED = "start_failed"  # the report's orchestration could not be started (triggers/report_start.py)
# Failures reconcile records: the report's orchestration ended or vanished without finishing it,
# so nothing of it will deliver the report's callback.
ORPHANED_FAILURES = frozenset({code for code, _ in _ENDED.values()} | {_MISSING[0]})


def callback_instance_id(report_id: str) -> str:
    """The instance that delivers the report's callback: the report's orchestration starts it as
    a sub-orchestration, the poll that finds the report abandoned as an orchestration of its own.
    One id either way, so the two can never both deliver it."""
    return f"{report_id}:callback"


def orphaned_callback(report: Report) -> bool:
    """Whether the report's callback waits for a delivery no orchestration of the report will
    make, and has not been tried yet: the report failed because its orchestration ended or
    vanished, or (a schedule's report) because it could not be started. A caller of ``POST``
    whose start failed was answered 503 and may try again with the same callback URL (a Logic
    App retries a 5xx subscribe): a callback for the report it never got would end its wait
    with the wrong report, so that one gets none."""
    orphaned = report.failure_code in ORPHANED_FAILURES or (
        report.failure_code == START_FAILED and bool(report.schedule_id)
    )
    return (
        report.status is ReportStatus.FAILED
        and orphaned
        and bool(report.callback_url)
        and (report.callback is None or report.callback.status is CallbackStatus.PENDING)
    )


def progress(store: TableStore, report: Report) -> dict[str, Any]:
    outcomes = store.subscription_outcomes(report.report_id) if report.source == "api" else []
    return {
        "subscriptionsTotal": len(report.subscription_ids) if report.source == "api" else 1,
        "subscriptionsDone": len(outcomes),
        "recommendationsFetched": sum(_count(o.get("count")) for o in outcomes),
    }


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def report_resource(
    report: Report, *, links: ReportLinks | None = None, progress_info: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The report as API callers see it (camelCase JSON); file links from ``links`` (relative
    and plain without)."""
    links = links or ReportLinks("", report.report_id)
    resource: dict[str, Any] = {
        "reportId": report.report_id,
        "status": report.status.value,
        "reportType": report.report_type.value,
        "formats": report.formats,
        "source": report.source,
        "customer": report.customer or None,
        "customerId": report.customer_id or None,
        "scheduleId": report.schedule_id or None,
        "scope": {
            "subscriptionIds": report.subscription_ids,
            "subscriptionsLeftOut": [
                {"subscriptionId": sub, "reason": reason}
                for sub, reason in report.skipped_subscriptions.items()
            ],
        },
        "filters": report.filters.to_dict(),
        "requestedAt": _iso(report.requested_at),
        "fetchedAt": _iso(report.fetched_at),
        "completedAt": _iso(report.completed_at),
        "durationsSeconds": report.durations,
        "advisorApiPages": report.api_pages,
        "counts": {
            "recommendations": report.recommendation_count,
            "byCategory": {
                k: {"label": category_label(k), "count": v} for k, v in report.counts_by_category.items()
            },
            "byImpact": report.counts_by_impact,
        },
        "savings": {"byCurrency": report.savings_by_currency, "note": report.savings_note or None},
    }
    if report.status is ReportStatus.FAILED:
        resource["failure"] = {"code": report.failure_code, "message": report.failure_message}
    if report.status is ReportStatus.COMPLETED:
        resource["files"] = {fmt: links.file(fmt) for fmt in report.files}
    if progress_info is not None:
        resource["progress"] = progress_info
    if report.callback is not None:
        # How the callback went; never its URL, which may carry the receiver's signature.
        resource["callback"] = {
            "status": report.callback.status.value,
            "attempts": report.callback.attempts,
            "deliveredAt": _iso(report.callback.delivered_at),
            "lastError": report.callback.last_error or None,
        }
    return resource


def report_list_item(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    """One report in a listing (``GET /api/reports``, a schedule's reports), from its index row."""
    return {
        "reportId": row["report_id"],
        "status": row["status"],
        "reportType": row["report_type"],
        "requestedAt": row.get("requested_at") or None,
        "customerId": row.get("customer_id") or None,
        "scheduleId": row.get("schedule_id") or None,
        "url": f"{base_url}/api/reports/{row['report_id']}",
    }


def file_download_url(store: TableStore, files: BlobStore, report_id: str, fmt: str, *, minutes: int) -> str:
    """A short-lived read-only URL for a completed report's file, or InvalidInputError/None."""
    if fmt not in FILE_NAMES:
        raise InvalidInputError(f"format {fmt[:20]!r} is not one of {', '.join(FILE_NAMES)}", field="format")
    report = store.get_report(report_id)
    if report is None or report.status is not ReportStatus.COMPLETED or fmt not in report.files:
        return ""
    return files.sas_url(
        report.files[fmt], minutes=minutes, content_disposition=content_disposition(report, fmt)
    )


# The action-plan exports say so in their name; the documents are named by their type alone.
_DOCUMENT_KINDS = {"xlsx": "action-plan", "csv": "action-plan"}


def _report_day(report: Report) -> str:
    # The day the report's data is from, as its cover and footer print it.
    return (report.fetched_at or report.requested_at or report.completed_at or utcnow()).strftime("%Y-%m-%d")


def download_name(report: Report, fmt: str, *, customer: str | None = None) -> str:
    """The file name a download is saved as: ``advisor-{type}[-action-plan][-{customer}]-{date}``
    (``advisor-cost-contoso-2026-12-02.pdf``). The customer is an ASCII slug unless ``customer``
    gives the form to use (``file_name_text`` of the real name, for ``filename*``)."""
    middle = file_name_slug(report.customer) if customer is None else customer
    parts = ["advisor", report.report_type.value, _DOCUMENT_KINDS.get(fmt, ""), middle, _report_day(report)]
    return "-".join(p for p in parts if p) + f".{fmt}"


def content_disposition(report: Report, fmt: str) -> str:
    """``attachment`` with the ASCII name as ``filename`` and, when the customer's name is not
    plain ASCII, the real name as ``filename*`` (RFC 6266 / RFC 5987, UTF-8 percent-encoded),
    which browsers prefer: "Zakłady Łódź" downloads as ``advisor-cost-Zakłady-Łódź-2026-12-02.pdf``
    where the browser can, and as ``advisor-cost-zaklady-lodz-2026-12-02.pdf`` where it cannot."""
    ascii_name = download_name(report, fmt)
    header = f'attachment; filename="{ascii_name}"'
    real_name = download_name(report, fmt, customer=file_name_text(report.customer))
    if real_name != ascii_name and not real_name.isascii():
        header += "; filename*=UTF-8''" + quote(real_name, safe="-._~")
    return header


def file_name_slug(text: str, limit: int = 40) -> str:
    """ASCII letters and digits, lower case, runs of anything else as one dash ("Łódź Sp. z o.o."
    -> "lodz-sp-z-o-o"); "" when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text.replace("\u0141", "L").replace("\u0142", "l"))
    ascii_text = ascii_text.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:limit].rstrip("-")


# Not in a file name on Windows or macOS, or unsafe in a header parameter.
# Separators (middle dots, bullets, dashes) join the rest into one dash too.
_FILE_NAME_UNSAFE = re.compile(r'[/\\:*?"<>|;,%\s\u00b7\u2022\u2013\u2014]+')


def file_name_text(text: str, limit: int = 60) -> str:
    """The customer's name as it can stand in a file name, in its own script ("Zakłady Łódź
    S.A." -> "Zakłady-Łódź-S.A."): characters no file system takes, whitespace and invisible
    controls (direction overrides that would disguise the extension among them) become one
    dash; "" when nothing is left."""
    visible = "".join(
        "-" if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") else c
        for c in unicodedata.normalize("NFC", text)
    )
    name = re.sub(r"-{2,}", "-", _FILE_NAME_UNSAFE.sub("-", visible)).strip("-.")
    return name[:limit].rstrip("-.")
