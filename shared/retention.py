"""Retention: deleting everything a report leaves behind, once it is past its retention (the
``report_retention`` timer) or at once when a caller deletes it (``DELETE /api/reports/{id}``).

What a report leaves behind, and where:
- rows keyed by the report: its recommendations and its per-subscription outcomes
  (``ReportRemoval.delete_report_data``);
- its files in the reports container: everything named ``{id}...`` (HTML, PDF, the PDF's parts,
  the summary and PDF plan, the customer's and the provider's logo copies), and every blob its
  ``files`` map names wherever it is, so a new format is covered without a change here;
- the uploaded CSV (``{id}.csv`` in the uploads container);
- the orchestration history of the report's instance (its id is the report id) and of its
  sub-orchestrations (``{id}:fetch:{subscription}``, ``{id}:csv``, ``{id}:html``,
  ``{id}:pdf:NNNN``, ``{id}:callback``: all named ``{id}:...``; ``{id}:callback`` may also be
  an orchestration of its own, started by the poll that found the report abandoned), purged
  through the Durable client (a completed report's orchestration runs on while it delivers its
  callback: until that ends, the report counts as running);
- last, the report entity and its listing row: a report deleted is a 404, not a tombstone.

Rules:
- Nothing a live report needs is touched. A report goes only when it is finished (completed or
  failed, or found abandoned by ``report_service.reconcile``: its orchestration ended or
  vanished without finishing it) and no orchestration of it, the report's own or a
  sub-orchestration, still runs. A failed report whose orchestration still waits for a
  sub-orchestration stays until that ends. Nothing is deleted before that is known.
- Idempotent and resumable: every step tolerates what an earlier run already removed, and the
  report entity goes last, so a run cut short finds the report again and finishes the job.
- Report ids are GUIDs (checked here): the ``{id}`` blob prefixes and the ``{id}:`` instance
  prefix can never take in another report's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from . import telemetry
from .errors import TransientError
from .models import Report, is_guid
from .ports import FileStore, ReportAge, ReportRemoval
from .report_service import RUNNING, OrchestrationState, reconcile, utcnow

log = logging.getLogger(__name__)

ENDED = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
MAX_REPORTS_PER_RUN = 500  # the rest wait for the next run (a first run may find years of reports)
STATUS_TIMEOUT_SECONDS = 10
PURGES_AT_ONCE = 8  # purge calls in flight at once for one report


class Removal(StrEnum):
    """What became of a report asked to be deleted."""

    DELETED = "deleted"
    NOT_FOUND = "not_found"
    RUNNING = "running"  # the report, or an orchestration of it, is still running: nothing touched


class OrchestrationHistory(Protocol):
    """What deleting a report needs of the Durable runtime (``DurableHistory`` in production)."""

    async def state(self, instance_id: str) -> OrchestrationState | None:
        """The instance's runtime status (``runtime_status`` None: no such instance); None when
        the runtime cannot say."""
        ...

    async def sub_instances(self, report_id: str) -> dict[str, str | None]:
        """Instance id -> runtime status of (some of) the report's sub-orchestrations; the
        runtime may answer a page at a time, so an empty answer is the only "none left"."""
        ...

    async def purge(self, instance_id: str) -> int:
        """Delete an ended instance's history; how many instances went (0: none there)."""
        ...


def sub_instance_prefix(report_id: str) -> str:
    """The prefix every sub-orchestration of the report has (orchestrators/report.py, steps.py)."""
    return f"{report_id}:"


@dataclass(frozen=True)
class ReportStores:
    """Where a report's rows and files are."""

    table: ReportRemoval
    files: FileStore  # the reports container
    uploads: FileStore  # the uploads container


async def delete_report(
    report_id: str,
    stores: ReportStores,
    history: OrchestrationHistory,
    *,
    now: datetime | None = None,
    stage: str = "delete",
) -> Removal:
    """Delete everything of one report, or nothing while it (or an orchestration of it) runs.
    Logs a ``report_deleted`` telemetry event with the outcome (``stage``: who asked)."""
    outcome = await _delete_report(report_id, stores, history, now=now)
    if outcome is not Removal.NOT_FOUND:
        telemetry.emit("report_deleted", stage=stage, report_id=report_id, outcome=outcome.value)
    return outcome


async def _delete_report(
    report_id: str, stores: ReportStores, history: OrchestrationHistory, *, now: datetime | None
) -> Removal:
    if not is_guid(report_id):
        return Removal.NOT_FOUND
    report = await asyncio.to_thread(stores.table.get_report, report_id)
    if report is None:
        return Removal.NOT_FOUND
    state = await history.state(report_id)
    if state is None:
        raise TransientError(
            "The Durable runtime did not say whether the report still runs", code="runtime_unavailable"
        )
    if not report.status.finished:
        # Abandoned (its orchestration ended or vanished without finishing it)? Then it is
        # failed now, and stored so, like any poll of it would have found.
        report = await asyncio.to_thread(reconcile, stores.table, report, state, now=now)
        if not report.status.finished:
            return Removal.RUNNING
    if state.runtime_status in RUNNING or not await _purge_sub_instances(history, report_id):
        return Removal.RUNNING
    await asyncio.to_thread(_delete_rows_and_files, report, stores)
    if state.runtime_status is not None:
        await history.purge(report_id)
    await asyncio.to_thread(stores.table.delete_report, report_id)
    return Removal.DELETED


async def _purge_sub_instances(history: OrchestrationHistory, report_id: str) -> bool:
    """Purge the history of every sub-orchestration of the report; False while one still runs
    (those that ended are purged anyway: nothing needs them). The listing is read again after
    each round, so a runtime that answers a page at a time is read to the end."""
    previous: dict[str, str | None] | None = None
    gate = asyncio.Semaphore(PURGES_AT_ONCE)

    async def purge(instance: str) -> int:
        async with gate:
            return await history.purge(instance)

    while True:
        found = await history.sub_instances(report_id)
        if not found:
            return True
        ended = [instance for instance, status in found.items() if status in ENDED]
        if not ended:
            return False
        purged = sum(await asyncio.gather(*(purge(instance) for instance in ended)))
        if not purged and found == previous:
            # listed as ended twice, yet nothing went: do not go round for ever (once may be
            # another cleanup of the same report purging them first)
            raise TransientError("Sub-orchestration histories could not be purged", code="purge_failed")
        previous = found


def _delete_rows_and_files(report: Report, stores: ReportStores) -> None:
    rid = report.report_id
    stores.table.delete_report_data(rid)
    for blob in report.files.values():
        if blob and not blob.startswith(rid):
            stores.files.delete(blob)  # a file kept elsewhere than under the report's name
    stores.files.delete_prefix(rid)
    stores.uploads.delete_prefix(rid)


# -- the timer: which reports are due, and deleting them -----------------------------------------


def due_reports(ages: Iterable[ReportAge], *, now: datetime, default_days: int) -> list[str]:
    """The ids of the reports asked for longer ago than their retention (their own
    ``retention_days``, else ``default_days``), oldest first. A report whose request time
    cannot be read is never due: what cannot be dated is not deleted."""
    due = []
    for age in ages:
        if age.requested_at is None or not is_guid(age.report_id):
            continue
        days = age.retention_days if age.retention_days > 0 else default_days
        if now - age.requested_at > timedelta(days=days):
            due.append((age.requested_at, age.report_id))
    return [report_id for _, report_id in sorted(due)]


@dataclass
class SweepResult:
    due: int = 0
    deleted: int = 0
    running: int = 0
    errors: int = 0
    left_for_next_run: int = 0


async def sweep(
    stores: ReportStores,
    history: OrchestrationHistory,
    *,
    now: datetime | None = None,
    default_days: int,
    limit: int = MAX_REPORTS_PER_RUN,
) -> SweepResult:
    """Delete the reports past their retention (at most ``limit`` a run). A report that cannot
    be deleted now (still running, or storage or the runtime failing) stays for the next run."""
    now = now or utcnow()
    ages = await asyncio.to_thread(lambda: list(stores.table.report_ages()))
    due = due_reports(ages, now=now, default_days=default_days)
    result = SweepResult(due=len(due), left_for_next_run=max(0, len(due) - limit))
    for report_id in due[:limit]:
        try:
            outcome = await delete_report(report_id, stores, history, now=now, stage="retention")
        except Exception as exc:  # this report waits for the next run; the others go on
            result.errors += 1
            telemetry.emit("report_deleted", stage="retention", report_id=report_id, outcome="error",
                           error_type=type(exc).__name__)  # fmt: skip
            continue
        if outcome is Removal.DELETED:
            result.deleted += 1
        elif outcome is Removal.RUNNING:
            result.running += 1
    return result


# -- the Durable client as OrchestrationHistory ----------------------------------------------------


class DurableHistory:
    """``OrchestrationHistory`` over azure-functions-durable's ``DurableOrchestrationClient``.

    Purging follows the extension's HTTP API (``HttpApiHandler``): an unknown instance answers
    404 (the client reads 0 deleted), one that has not ended 412 (the client raises), so only
    ended instances are purged here. Listing by instance id prefix may answer one page (the
    client does not follow continuation tokens); the caller reads it again until it is empty."""

    def __init__(self, client: Any, *, timeout: float = STATUS_TIMEOUT_SECONDS) -> None:
        self._client = client
        self._timeout = timeout

    async def state(self, instance_id: str) -> OrchestrationState | None:
        try:
            status = await asyncio.wait_for(self._client.get_status(instance_id), self._timeout)
        except Exception as exc:
            log.warning("Runtime status of %s unavailable: %s", instance_id, type(exc).__name__)
            return None
        return OrchestrationState.from_client_status(status)

    async def sub_instances(self, report_id: str) -> dict[str, str | None]:
        try:
            found = await asyncio.wait_for(
                self._client.get_status_by(instance_id_prefix=sub_instance_prefix(report_id)), self._timeout
            )
        except Exception as exc:
            raise TransientError("The Durable runtime could not list the report's orchestrations",
                                 code="runtime_unavailable") from exc  # fmt: skip
        return {str(s.instance_id): _status_name(s.runtime_status) for s in found if s.instance_id}

    async def purge(self, instance_id: str) -> int:
        try:
            result = await asyncio.wait_for(self._client.purge_instance_history(instance_id), self._timeout)
        except Exception as exc:
            raise TransientError("The Durable runtime could not purge an orchestration's history",
                                 code="runtime_unavailable") from exc  # fmt: skip
        return int(getattr(result, "instances_deleted", 0) or 0)


def _status_name(status: Any) -> str | None:
    if status is None:
        return None
    return str(getattr(status, "value", status))
