"""Running scheduled reports: what the ``scheduled_reports`` timer does each time it fires.

For every enabled schedule with a run due (:func:`shared.schedules.due_run`: the latest
occurrence since its last run, so a missed period is caught up once), ``start_run`` is asked
to start that run's report (the caller's: it stores the report only if no report has the
run's id, and starts its orchestration), and the outcome is recorded on the schedule with a
write conditional on the version read. Nothing here decides twice what one run is: the run's
report id is derived from the schedule and the due time, so a timer that fires twice, a
restart halfway, or two hosts at once end with one report per run.

A run that cannot be started for good (the schedule's customer was deleted, or has no
subscriptions) is skipped: the reason is logged and kept as the schedule's ``lastError``, and
the run counts as done. A fault that may pass (storage busy) leaves the run due for the next
time the timer fires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from .errors import InvalidInputError, NotFoundError
from .schedules import DueRun, Schedule, due_run

log = logging.getLogger(__name__)

STARTED, ALREADY_STARTED, START_FAILED, SKIPPED, FAILED = (
    "started", "already_started", "start_failed", "skipped", "failed",
)  # fmt: skip


@dataclass(frozen=True)
class RunResult:
    """What became of one due run."""

    schedule_id: str
    due: datetime
    report_id: str
    outcome: str  # one of the constants above
    reason: str = ""


StartRun = Callable[[Schedule, DueRun], Awaitable[str]]


class ScheduleRepository(Protocol):
    """What running schedules needs of the store (ScheduleStore has it)."""

    def list(self, customer_id: str | None = None) -> list[Schedule]: ...

    def update(self, schedule_id: str, change: Callable[[Schedule], Schedule | None]) -> Schedule | None: ...


def _recorded(run: DueRun, outcome: str, reason: str, now: datetime) -> Callable[[Schedule], Schedule | None]:
    """The change that records ``run``'s outcome on its schedule; None (no write) when the
    schedule has moved past that run already (another timer recorded it, or a PATCH changed
    its timing since)."""

    def change(current: Schedule) -> Schedule | None:
        if current.runs_after is not None and current.runs_after >= run.due:
            return None
        if outcome in (STARTED, ALREADY_STARTED, START_FAILED):
            error = (
                "The report could not be started; the next run tries again" if outcome == START_FAILED else ""
            )
            return replace(
                current, runs_after=run.due, last_run_at=now, last_report_id=run.report_id, last_error=error
            )
        return replace(current, runs_after=run.due, last_error=reason)  # skipped for good

    return change


async def run_schedule(
    store: ScheduleRepository, schedule: Schedule, start_run: StartRun, now: datetime
) -> RunResult | None:
    """Start ``schedule``'s due run, if it has one, and record what became of it."""
    run = due_run(schedule, now)
    if run is None:
        return None
    reason = ""
    try:
        outcome = await start_run(schedule, run)
    except (NotFoundError, InvalidInputError) as exc:
        # Permanent for this run: the customer was deleted, or has no (or too many) subscriptions.
        outcome, reason = SKIPPED, f"Run due {run.due.isoformat()} skipped: {exc}"
        log.warning("Schedule %s: %s", schedule.schedule_id, reason)
    except Exception as exc:  # noqa: BLE001 - one schedule's fault must not stop the others
        log.exception("Schedule %s: the run due %s could not be started", schedule.schedule_id, run.due)
        message = f"The run due {run.due.isoformat()} could not be started ({type(exc).__name__}); retrying"
        await asyncio.to_thread(store.update, schedule.schedule_id, _error_only(message))
        return RunResult(schedule.schedule_id, run.due, run.report_id, FAILED, message)
    await asyncio.to_thread(store.update, schedule.schedule_id, _recorded(run, outcome, reason, now))
    if outcome in (STARTED, ALREADY_STARTED):
        log.info(
            "Schedule %s: run due %s -> report %s (%s)", schedule.schedule_id, run.due, run.report_id, outcome
        )
    return RunResult(schedule.schedule_id, run.due, run.report_id, outcome, reason)


def _error_only(message: str) -> Callable[[Schedule], Schedule | None]:
    def change(current: Schedule) -> Schedule | None:
        return replace(current, last_error=message) if current.last_error != message else None

    return change


async def run_due_schedules(store: ScheduleRepository, start_run: StartRun, now: datetime) -> list[RunResult]:
    """One pass of the timer over every schedule; the runs it started, skipped or failed."""
    schedules = await asyncio.to_thread(store.list)
    results = []
    for schedule in schedules:
        try:
            result = await run_schedule(store, schedule, start_run, now)
        except Exception:  # noqa: BLE001 - a broken row or a storage fault stays one schedule's
            log.exception("Schedule %s could not be run", schedule.schedule_id)
            continue
        if result is not None:
            results.append(result)
    return results
