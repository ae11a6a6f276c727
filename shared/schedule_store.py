"""Table Storage repository for scheduled reports.

Layout: the ``schedules`` table, one partition ``schedule``, RowKey = schedule id (lower case).
Schedules are few (one row each), so one partition keeps listing a single range scan; listing
one customer's is a filtered query with the SDK's parameter substitution.

Every change after creation is a read, a change and a write conditional on the version read
(``update``): the timer recording a run and a caller's PATCH never overwrite each other, and
two timers recording the same run write the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from .errors import ConflictError, TransientError
from .models import ReportFilters, ReportType
from .report_request import ReportRequest
from .schedules import Schedule
from .table_store import TableStore, check_key, classify_storage_error, fit_string

SCHEDULES_TABLE = "schedules"
SCHEDULE_PARTITION = "schedule"
_UPDATE_ATTEMPTS = 5


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def schedule_to_entity(s: Schedule) -> dict[str, Any]:
    report = s.report
    return {
        "PartitionKey": SCHEDULE_PARTITION,
        "RowKey": check_key(s.schedule_id, "scheduleId"),
        "name": s.name,
        "reportType": report.report_type.value,
        "formats": json.dumps(list(report.formats)),
        # At most 500 GUIDs: well within one string property.
        "subscriptionIds": json.dumps(list(report.subscription_ids)),
        "customerId": report.customer_id,
        "filters": json.dumps(report.filters.to_dict()),
        "customer": report.customer,
        "callbackUrl": report.callback_url,  # a secret: never shown (schedule_resource)
        "cron": s.cron,
        "timeZone": s.time_zone,
        "enabled": s.enabled,
        "retentionDays": s.retention_days,
        "runsAfter": s.runs_after.isoformat() if s.runs_after else "",
        "lastRunAt": s.last_run_at.isoformat() if s.last_run_at else "",
        "lastReportId": s.last_report_id,
        "lastError": fit_string(s.last_error, 2000),
        "createdAt": s.created_at.isoformat() if s.created_at else "",
        "updatedAt": s.updated_at.isoformat() if s.updated_at else "",
    }


def entity_to_schedule(e: dict[str, Any]) -> Schedule:
    return Schedule(
        schedule_id=str(e["RowKey"]),
        name=str(e.get("name") or ""),
        report=ReportRequest(
            report_type=ReportType(str(e.get("reportType") or ReportType.DETAILED.value)),
            formats=tuple(json.loads(e.get("formats") or '["html", "pdf"]')),
            subscription_ids=tuple(json.loads(e.get("subscriptionIds") or "[]")),
            filters=ReportFilters.from_dict(json.loads(e.get("filters") or "{}")),
            customer=str(e.get("customer") or ""),
            customer_id=str(e.get("customerId") or ""),
            callback_url=str(e.get("callbackUrl") or ""),
        ),
        cron=str(e.get("cron") or ""),
        time_zone=str(e.get("timeZone") or "UTC"),
        enabled=bool(e.get("enabled", True)),
        retention_days=int(e.get("retentionDays") or 0),
        runs_after=_time(e.get("runsAfter")),
        last_run_at=_time(e.get("lastRunAt")),
        last_report_id=str(e.get("lastReportId") or ""),
        last_error=str(e.get("lastError") or ""),
        created_at=_time(e.get("createdAt")),
        updated_at=_time(e.get("updatedAt")),
    )


class ScheduleStore:
    """Schedules in the account's tables (through :class:`TableStore`, which owns the
    connection and creates the table on first use)."""

    def __init__(self, tables: TableStore) -> None:
        self._tables = tables

    def _table(self) -> Any:
        return self._tables.table(SCHEDULES_TABLE)

    def create(self, schedule: Schedule) -> None:
        try:
            self._table().create_entity(schedule_to_entity(schedule))
        except ResourceExistsError:
            raise ConflictError(f"Schedule {schedule.schedule_id} already exists") from None
        except HttpResponseError as exc:
            raise classify_storage_error(exc, "creating the schedule") from None

    def _read(self, schedule_id: str) -> tuple[Schedule, str] | None:
        try:
            e = self._table().get_entity(SCHEDULE_PARTITION, check_key(schedule_id.lower(), "scheduleId"))
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            raise classify_storage_error(exc, "reading the schedule") from None
        return entity_to_schedule(dict(e)), e.metadata.get("etag") or ""

    def get(self, schedule_id: str) -> Schedule | None:
        found = self._read(schedule_id)
        return found[0] if found else None

    def list(self, customer_id: str | None = None) -> list[Schedule]:
        query, params = "PartitionKey eq @pk", {"pk": SCHEDULE_PARTITION}
        if customer_id:
            query += " and customerId eq @customer"
            params["customer"] = customer_id
        try:
            rows = list(self._table().query_entities(query, parameters=params))
        except HttpResponseError as exc:
            raise classify_storage_error(exc, "listing schedules") from None
        return [entity_to_schedule(dict(r)) for r in rows]

    def update(self, schedule_id: str, change: Callable[[Schedule], Schedule | None]) -> Schedule | None:
        """Read, change and write one schedule as a step: ``change`` returns the schedule to
        store (or None to leave it as it is). A write by someone else in between makes it start
        again from the newer version. Returns the schedule as stored; None if there is none."""
        for _ in range(_UPDATE_ATTEMPTS):
            found = self._read(schedule_id)
            if found is None:
                return None
            current, etag = found
            changed = change(current)
            if changed is None:
                return current
            try:
                self._table().update_entity(
                    schedule_to_entity(changed), mode=UpdateMode.REPLACE, etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )  # fmt: skip
            except ResourceNotFoundError:
                return None  # deleted meanwhile: nothing to bring back
            except HttpResponseError as exc:
                if exc.status_code == 412:
                    continue
                raise classify_storage_error(exc, "updating the schedule") from None
            return changed
        raise TransientError(f"Schedule {schedule_id} kept changing while being updated", code="storage_busy")

    def delete(self, schedule_id: str) -> bool:
        if self.get(schedule_id) is None:
            return False
        try:
            self._table().delete_entity(SCHEDULE_PARTITION, check_key(schedule_id.lower(), "scheduleId"))
        except HttpResponseError as exc:
            raise classify_storage_error(exc, "deleting the schedule") from None
        return True
