"""Report lifecycle operations shared by the HTTP triggers and the activities: create a
pending report, move its status (tolerating repeats, never regressing), show it to callers,
hand out download links.

The caller-facing JSON (``report_resource``) is shaped here, once, so the GET endpoint, the
orchestration output and the finalize activity agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from .blob_store import BlobStore
from .errors import InvalidInputError
from .models import Report, ReportStatus, category_label
from .table_store import TableStore

FILE_NAMES = {"html": "advisor-report.html", "pdf": "advisor-report.pdf"}


def new_report_id() -> str:
    return str(uuid.uuid4())


def csv_blob_name(report_id: str) -> str:
    """Where a CSV report's uploaded file is kept (in the uploads container)."""
    return f"{report_id}.csv"


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_report(store: TableStore, report: Report) -> Report:
    report.status = ReportStatus.PENDING
    report.requested_at = report.requested_at or utcnow()
    report.instance_id = report.instance_id or report.report_id
    store.save_report(report)
    return report


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


def progress(store: TableStore, report: Report) -> dict[str, Any]:
    outcomes = store.subscription_outcomes(report.report_id) if report.source == "api" else []
    return {
        "subscriptionsTotal": len(report.subscription_ids) if report.source == "api" else 1,
        "subscriptionsDone": len(outcomes),
        "recommendationsFetched": sum(int(o.get("count") or 0) for o in outcomes),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def report_resource(
    report: Report, *, base_url: str = "", progress_info: dict[str, Any] | None = None, key_query: str = ""
) -> dict[str, Any]:
    """The report as API callers see it (camelCase JSON)."""
    resource: dict[str, Any] = {
        "reportId": report.report_id,
        "status": report.status.value,
        "reportType": report.report_type.value,
        "formats": report.formats,
        "source": report.source,
        "customer": report.customer or None,
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
        resource["files"] = {
            fmt: f"{base_url}/api/reports/{report.report_id}/files/{fmt}{key_query}" for fmt in report.files
        }
    if progress_info is not None:
        resource["progress"] = progress_info
    return resource


def file_download_url(store: TableStore, files: BlobStore, report_id: str, fmt: str, *, minutes: int) -> str:
    """A short-lived read-only URL for a completed report's file, or InvalidInputError/None."""
    if fmt not in FILE_NAMES:
        raise InvalidInputError(f"format {fmt[:20]!r} is not one of html, pdf", field="format")
    report = store.get_report(report_id)
    if report is None or report.status is not ReportStatus.COMPLETED or fmt not in report.files:
        return ""
    stamp = (report.completed_at or utcnow()).strftime("%Y%m%d")
    name = f"advisor-{report.report_type.value}-report-{stamp}.{fmt}"
    return files.sas_url(report.files[fmt], minutes=minutes, download_name=name)
