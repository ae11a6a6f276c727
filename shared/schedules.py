"""Scheduled reports: what a schedule is, how a request for one is validated, how callers see it,
and when it is due.

A schedule is a report request (the same fields ``POST /api/reports`` takes, validated by the
same :func:`~shared.report_request.parse_report_request`, so every rule of a report applies to
a schedule too) plus a name, a five-field cron expression in an IANA time zone
(:mod:`shared.cron`), whether it is enabled, and how many days its reports are kept.

When it is due (pure functions over an injected ``now``): a schedule counts its occurrences
after ``runs_after`` (the due time of its last run, or when it was created, enabled or given a
new cron or time zone), and the timer starts the *latest* occurrence in ``(runs_after, now]``:
a schedule that missed several (the app was down) is caught up once. Each run's report id is
derived from the schedule id and the due time (:func:`run_report_id`), so the same run is the
same report however often it is attempted.

A callback URL is kept with the schedule (each of its reports posts to it) but never shown:
Logic Apps callback URLs carry a signature. Callers see ``hasCallback``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from .cron import CronError, CronSchedule, latest_due, next_due, parse_cron, parse_time_zone
from .errors import InvalidInputError
from .report_request import ReportRequest, parse_report_request

MAX_NAME_LENGTH = 120
MAX_RETENTION_DAYS = 3650
SCHEDULE_FIELDS = frozenset({"name", "cron", "timeZone", "enabled", "retentionDays"})
# The report part: what parse_report_request validates.
REPORT_FIELDS = frozenset(
    {"subscriptionIds", "customerId", "reportType", "formats", "filters", "customer", "callbackUrl"}
)
# Run ids are uuid5 names in this namespace (fixed: changing it would start every run again).
RUN_NAMESPACE = uuid.UUID("6f1c2e0a-3b7d-5c41-9a8e-2d4f6b1a7c90")


@dataclass
class Schedule:
    """A schedule as stored in the ``schedules`` table."""

    schedule_id: str
    name: str
    report: ReportRequest  # what each run asks for (validated when the schedule was stored)
    cron: str
    time_zone: str
    enabled: bool = True
    retention_days: int = 0  # 0: REPORT_RETENTION_DAYS
    runs_after: datetime | None = None  # occurrences up to this instant are done (or not wanted)
    last_run_at: datetime | None = None
    last_report_id: str = ""
    last_error: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def customer_id(self) -> str:
        return self.report.customer_id

    def report_body(self) -> dict[str, Any]:
        """The report part as ``POST /api/reports`` takes it (what a PATCH is merged into)."""
        report = self.report
        body: dict[str, Any] = {
            "reportType": report.report_type.value,
            "formats": list(report.formats),
            "filters": report.filters.to_dict(),
        }
        if report.customer_id:
            body["customerId"] = report.customer_id
        else:
            body["subscriptionIds"] = list(report.subscription_ids)
        if report.customer:
            body["customer"] = report.customer
        if report.callback_url:
            body["callbackUrl"] = report.callback_url
        return body


def new_schedule_id() -> str:
    return str(uuid.uuid4())


def run_report_id(schedule_id: str, due: datetime) -> str:
    """The report (and orchestration instance) id of the run of ``schedule_id`` due at ``due``:
    the same for every attempt at that run, on any host."""
    moment = due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(uuid.uuid5(RUN_NAMESPACE, f"{schedule_id.lower()}/{moment}"))


# -- validation ----------------------------------------------------------------------------------


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"name must be a string of 1 to {MAX_NAME_LENGTH} characters", field="name")
    return value.strip()


def _cron(value: Any) -> str:
    try:
        return parse_cron(value).expression
    except CronError as exc:
        raise InvalidInputError(f"cron: {exc}", field="cron") from None


def _time_zone(value: Any) -> str:
    try:
        return parse_time_zone(value).key
    except CronError as exc:
        raise InvalidInputError(str(exc), field="timeZone") from None


def _enabled(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError("enabled must be true or false", field="enabled")
    return value


def _retention(value: Any, minimum: int) -> int:
    if value is None or value == 0:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_RETENTION_DAYS:
        raise InvalidInputError(
            f"retentionDays must be a whole number from {minimum} (REPORT_RETENTION_DAYS) to "
            f"{MAX_RETENTION_DAYS}, or 0 for the default",
            field="retentionDays",
        )
    return value


def _report_part(body: dict[str, Any]) -> ReportRequest:
    """The report part validated by the parser ``POST /api/reports`` uses (its field names in
    its messages are the schedule's too)."""
    return parse_report_request({k: v for k, v in body.items() if k in REPORT_FIELDS})


def _check_fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInputError("the request body must be a JSON object", field="body")
    unknown = sorted(set(body) - SCHEDULE_FIELDS - REPORT_FIELDS)
    if unknown:
        raise InvalidInputError(f"unknown field {unknown[0][:40]!r}", field=unknown[0][:40])
    return body


def parse_new_schedule(body: Any, *, min_retention: int, now: datetime) -> Schedule:
    """Validate ``POST /api/schedules``; everything is checked before anything is stored."""
    body = _check_fields(body)
    for required in ("name", "cron"):
        if body.get(required) is None:
            raise InvalidInputError(f"{required} is required", field=required)
    request = _report_part(body)
    return Schedule(
        schedule_id=new_schedule_id(),
        name=_name(body["name"]),
        report=request,
        cron=_cron(body["cron"]),
        time_zone=_time_zone(body.get("timeZone", "UTC")),
        enabled=_enabled(body.get("enabled", True)),
        retention_days=_retention(body.get("retentionDays"), min_retention),
        runs_after=now,  # a new schedule runs from now on, never for times before it existed
        created_at=now,
        updated_at=now,
    )


def apply_patch(current: Schedule, body: Any, *, min_retention: int, now: datetime) -> Schedule:
    """``current`` changed by ``PATCH /api/schedules/{id}`` (any subset of the fields; ``null``
    clears ``callbackUrl``, ``customer`` and ``retentionDays``). The merged report part is
    validated whole, as a new report would be. A new cron, time zone or a re-enable counts
    occurrences from ``now`` on: a change never starts a run for a time already past."""
    body = _check_fields(body)
    merged = dict(current.report_body())
    given = {k: v for k, v in body.items() if k in REPORT_FIELDS}
    if "customerId" in given and given["customerId"] is not None:
        merged.pop("subscriptionIds", None)  # the scope is one or the other
    if "subscriptionIds" in given and given["subscriptionIds"] is not None:
        merged.pop("customerId", None)
    merged.update(given)
    merged = {k: v for k, v in merged.items() if v is not None}
    updated = replace(current, report=parse_report_request(merged))
    if "name" in body:
        updated.name = _name(body["name"])
    if "cron" in body:
        updated.cron = _cron(body["cron"])
    if "timeZone" in body:
        updated.time_zone = _time_zone(body["timeZone"])
    if "enabled" in body:
        updated.enabled = _enabled(body["enabled"])
    if "retentionDays" in body:
        updated.retention_days = _retention(body["retentionDays"], min_retention)
    timing_changed = (updated.cron, updated.time_zone) != (current.cron, current.time_zone)
    if timing_changed or (updated.enabled and not current.enabled):
        updated.runs_after = now
    updated.updated_at = now
    return updated


# -- when it is due ------------------------------------------------------------------------------


def _timing(schedule: Schedule) -> tuple[CronSchedule, Any]:
    return parse_cron(schedule.cron), parse_time_zone(schedule.time_zone)


@dataclass(frozen=True)
class DueRun:
    """A run the timer is to start: the occurrence and the report id it gets."""

    schedule_id: str
    due: datetime
    report_id: str


def due_run(schedule: Schedule, now: datetime) -> DueRun | None:
    """The run of ``schedule`` due at ``now``: its latest occurrence after ``runs_after`` (only
    the latest, however many were missed), or None (disabled, or nothing due)."""
    if not schedule.enabled:
        return None
    cron, zone = _timing(schedule)
    after = schedule.runs_after or schedule.created_at or now
    due = latest_due(cron, zone, after=after, now=now)
    if due is None:
        return None
    return DueRun(schedule.schedule_id, due, run_report_id(schedule.schedule_id, due))


def next_run_at(schedule: Schedule, now: datetime) -> datetime | None:
    """When the schedule is next due (None while disabled). An occurrence already due but not
    yet started by the timer is the next one."""
    if not schedule.enabled:
        return None
    cron, zone = _timing(schedule)
    after = schedule.runs_after or schedule.created_at or now
    return latest_due(cron, zone, after=after, now=now) or next_due(cron, zone, after=max(after, now))


# -- what callers see ----------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def schedule_resource(schedule: Schedule, *, now: datetime) -> dict[str, Any]:
    """The schedule as API callers see it (camelCase); the callback URL only as ``hasCallback``."""
    report = schedule.report
    return {
        "scheduleId": schedule.schedule_id,
        "name": schedule.name,
        "customerId": report.customer_id or None,
        "subscriptionIds": list(report.subscription_ids) if not report.customer_id else None,
        "customer": report.customer or None,
        "reportType": report.report_type.value,
        "formats": list(report.formats),
        "filters": report.filters.to_dict(),
        "cron": schedule.cron,
        "timeZone": schedule.time_zone,
        "hasCallback": bool(report.callback_url),
        "enabled": schedule.enabled,
        "retentionDays": schedule.retention_days,
        "nextRunAt": _iso(next_run_at(schedule, now)),
        "lastRunAt": _iso(schedule.last_run_at),
        "lastReportId": schedule.last_report_id or None,
        "lastError": schedule.last_error or None,
        "createdAt": _iso(schedule.created_at),
        "updatedAt": _iso(schedule.updated_at),
    }
