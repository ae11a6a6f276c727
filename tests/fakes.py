"""In-memory stand-ins for the storage interfaces in ``shared.ports``, for the unit tier.

They keep what they are given through the same entity mapping the Table store uses
(``report_to_entity`` / ``recommendation_to_entity`` and back), so a value that would not
survive Table Storage does not survive here either, and a caller never shares an object with
the store. The one Table rule the pipeline depends on is kept: a finished report is final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from azure.core.exceptions import ResourceNotFoundError

from shared.models import Recommendation, Report
from shared.ports import ReportAge
from shared.table_store import (
    entity_to_recommendation,
    entity_to_report,
    recommendation_to_entity,
    report_to_entity,
)


class MemoryTable:
    """``shared.ports.ReportTable`` in memory."""

    def __init__(self) -> None:
        self.reports: dict[str, dict[str, Any]] = {}
        self.recommendations: dict[str, dict[str, dict[str, Any]]] = {}
        self.outcomes: dict[str, dict[str, dict[str, Any]]] = {}
        self.dropped_writes = 0

    def get_report(self, report_id: str) -> Report | None:
        entity = self.reports.get(report_id)
        return entity_to_report(dict(entity)) if entity is not None else None

    def save_report(self, report: Report) -> bool:
        stored = self.reports.get(report.report_id)
        if stored is not None and stored["status"] in ("completed", "failed"):
            if stored["status"] != report.status.value:
                self.dropped_writes += 1
                return False
        self.reports[report.report_id] = report_to_entity(report)
        return True

    def create_report(self, report: Report) -> bool:
        if report.report_id in self.reports:
            return False
        self.reports[report.report_id] = report_to_entity(report)
        return True

    def save_recommendations(self, report_id: str, recs: Iterable[Recommendation]) -> int:
        rows = self.recommendations.setdefault(report_id, {})
        written = 0
        for rec in recs:
            entity = recommendation_to_entity(report_id, rec)
            rows[entity["RowKey"]] = entity
            written += 1
        return written

    def iter_recommendations(self, report_id: str) -> Iterator[Recommendation]:
        for key in sorted(self.recommendations.get(report_id, {})):
            yield entity_to_recommendation(dict(self.recommendations[report_id][key]))

    def record_subscription_outcome(
        self, report_id: str, subscription_id: str, outcome: dict[str, Any]
    ) -> None:
        self.outcomes.setdefault(report_id, {})[subscription_id] = {
            "RowKey": subscription_id,
            **{k: v for k, v in outcome.items() if isinstance(v, (str, int, float, bool))},
        }

    def subscription_outcomes(self, report_id: str) -> list[dict[str, Any]]:
        return [dict(row) for row in self.outcomes.get(report_id, {}).values()]

    def list_reports(
        self,
        *,
        status: str | None = None,
        customer_id: str | None = None,
        limit: int = 50,
        continuation_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first by requested_at, as the table's index rows list them (no paging)."""
        reports = [entity_to_report(dict(e)) for e in self.reports.values()]
        reports.sort(key=lambda r: r.requested_at.timestamp() if r.requested_at else 0, reverse=True)
        rows = [
            {
                "report_id": r.report_id,
                "status": r.status.value,
                "report_type": r.report_type.value,
                "customer_id": r.customer_id,
            }
            for r in reports
            if (not status or r.status.value == status) and (not customer_id or r.customer_id == customer_id)
        ]
        return rows[:limit], None

    def delete_recommendations(self, report_id: str, *, subscription_id: str | None = None) -> int:
        rows = self.recommendations.get(report_id, {})
        gone = [
            k
            for k, e in rows.items()
            if subscription_id is None or e.get("subscription_id") == subscription_id
        ]
        for key in gone:
            del rows[key]
        return len(gone)

    # -- shared.ports.ReportRemoval -------------------------------------------------------------

    def update_report(self, report_id: str, change: Callable[[Report], bool]) -> Report | None:
        report = self.get_report(report_id)
        if report is None or not change(report):
            return report
        self.reports[report_id] = report_to_entity(report)
        return report

    def report_ages(self) -> Iterator[ReportAge]:
        for report_id in list(self.reports):
            report = self.get_report(report_id)
            if report is not None:
                yield ReportAge(report_id, report.requested_at, report.retention_days)

    def delete_report_data(self, report_id: str) -> int:
        gone = len(self.recommendations.pop(report_id, {})) + len(self.outcomes.pop(report_id, {}))
        return gone

    def delete_report(self, report_id: str) -> bool:
        return self.reports.pop(report_id, None) is not None


class MemoryFiles:
    """``shared.ports.FileStore`` in memory; a missing file raises what the Blob SDK raises."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.content_types: dict[str, str | None] = {}

    def upload(self, blob_name: str, data: bytes | IO[bytes], *, content_type: str | None = None) -> str:
        self.blobs[blob_name] = data if isinstance(data, bytes) else data.read()
        self.content_types[blob_name] = content_type
        return blob_name

    def download(self, blob_name: str) -> bytes:
        try:
            return self.blobs[blob_name]
        except KeyError:
            raise ResourceNotFoundError(f"The specified blob does not exist: {blob_name}") from None

    def exists(self, blob_name: str) -> bool:
        return blob_name in self.blobs

    def delete_prefix(self, prefix: str) -> int:
        names = [n for n in self.blobs if n.startswith(prefix)]
        for name in names:
            del self.blobs[name]
        return len(names)

    def delete(self, blob_name: str) -> bool:
        self.content_types.pop(blob_name, None)
        return self.blobs.pop(blob_name, None) is not None


class MemorySchedules:
    """``shared.schedule_service.ScheduleRepository`` in memory, through the schedule store's
    entity mapping; ``update`` is conditional on the version read, as the Table store's is."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[dict[str, Any], int]] = {}
        self.writes = 0

    def create(self, schedule: Any) -> None:
        from shared.schedule_store import schedule_to_entity

        self.rows[schedule.schedule_id] = (schedule_to_entity(schedule), 0)

    def get(self, schedule_id: str) -> Any:
        from shared.schedule_store import entity_to_schedule

        row = self.rows.get(schedule_id)
        return entity_to_schedule(dict(row[0])) if row else None

    def list(self, customer_id: str | None = None) -> list[Any]:
        found = [self.get(key) for key in self.rows]
        return [s for s in found if not customer_id or s.customer_id == customer_id]

    def update(self, schedule_id: str, change: Any) -> Any:
        from shared.schedule_store import schedule_to_entity

        while True:
            if schedule_id not in self.rows:
                return None
            version = self.rows[schedule_id][1]
            changed = change(self.get(schedule_id))
            if changed is None:
                return self.get(schedule_id)
            if self.rows.get(schedule_id, (None, -1))[1] != version:
                continue  # written meanwhile: start again from the newer version
            self.rows[schedule_id] = (schedule_to_entity(changed), version + 1)
            self.writes += 1
            return changed
