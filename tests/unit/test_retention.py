"""Retention over the in-memory fakes and a scripted Durable runtime: which reports are due (age,
a report's own retention, undatable reports), that deleting one removes every row, file, upload
and orchestration history of it and nothing of another report, that a report still running (or
whose orchestration still runs) is never touched however old, that failed and abandoned ones
go the same way, and that a deletion cut short is finished by the next run."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import TransientError
from shared.models import Report, ReportStatus, ReportType
from shared.ports import ReportAge
from shared.report_service import (
    OrchestrationState,
    callback_instance_id,
    csv_blob_name,
    provider_logo_blob,
    report_logo_blob,
)
from shared.retention import ENDED, Removal, ReportStores, delete_report, due_reports, sweep
from tests.conftest import make_recommendation
from tests.fakes import MemoryFiles, MemoryTable

NOW = datetime(2026, 12, 2, 2, 30, tzinfo=UTC)
SUBS = [f"00000000-0000-0000-0000-00000000000{i}" for i in range(1, 6)]
OLD = NOW - timedelta(days=120)


def rid(n: int) -> str:
    return f"{n:08x}-4c55-4b43-9d3c-9b0e3f3b1a01"


class ScriptedRuntime:
    """The Durable runtime as the extension's HTTP API answers the client: instances by id with
    a runtime status; listing by prefix a page at a time; purge refused (raised, as the client
    does on 412) for an instance that has not ended."""

    def __init__(self, page: int = 2) -> None:
        self.instances: dict[str, str] = {}
        self.page = page
        self.purged: list[str] = []
        self.answers = True

    async def state(self, instance_id: str) -> OrchestrationState | None:
        if not self.answers:
            return None
        return OrchestrationState(self.instances.get(instance_id))

    async def sub_instances(self, report_id: str) -> dict[str, str | None]:
        found = sorted((k, v) for k, v in self.instances.items() if k.startswith(f"{report_id}:"))
        return dict(found[: self.page])

    async def purge(self, instance_id: str) -> int:
        status = self.instances.get(instance_id)
        if status is None:
            return 0
        if status not in ENDED:
            raise Exception("The operation failed with an unexpected status code 412")
        del self.instances[instance_id]
        self.purged.append(instance_id)
        return 1


class World:
    """Stores and a runtime holding whole reports, as a finished orchestration leaves them."""

    def __init__(self) -> None:
        self.table = MemoryTable()
        self.files = MemoryFiles()
        self.uploads = MemoryFiles()
        self.runtime = ScriptedRuntime()
        self.stores = ReportStores(self.table, self.files, self.uploads)

    def add(
        self,
        report_id: str,
        *,
        status: ReportStatus = ReportStatus.COMPLETED,
        requested_at: datetime = OLD,
        runtime: str | None = "Completed",
        sub_status: str = "Completed",
        retention_days: int = 0,
        source: str = "api",
    ) -> Report:
        report = Report(
            report_id=report_id, report_type=ReportType.DETAILED, subscription_ids=list(SUBS),
            requested_at=requested_at, instance_id=report_id, retention_days=retention_days, source=source,
        )  # fmt: skip
        report.status = ReportStatus.PENDING
        self.table.save_report(report)
        self.table.save_recommendations(
            report_id, [make_recommendation(i, subscription=s) for i, s in enumerate(SUBS)]
        )
        for sub in SUBS:
            self.table.record_subscription_outcome(report_id, sub, {"ok": True, "count": 1})
        names = ["advisor-report.html", "advisor-report.pdf", "parts/part-0000.pdf", "parts/part-0001.pdf",
                 "summary.json", "pdf-plan.json"]  # fmt: skip
        for name in names:
            self.files.upload(f"{report_id}/{name}", b"x")
        self.files.upload(report_logo_blob(report_id), b"logo")
        self.files.upload(provider_logo_blob(report_id), b"logo")
        self.files.upload(f"exports/{report_id}.xlsx", b"xlsx")  # a format kept elsewhere
        self.uploads.upload(csv_blob_name(report_id), b"csv")
        report.files = {
            "html": f"{report_id}/advisor-report.html",
            "pdf": f"{report_id}/advisor-report.pdf",
            "xlsx": f"exports/{report_id}.xlsx",
        }
        report.status = status
        if status is ReportStatus.FAILED:
            report.failure_code, report.failure_message = "fetch_timeout", "too slow"
        self.table.reports[report_id] = copy.deepcopy(_entity(report))
        if runtime is not None:
            self.runtime.instances[report_id] = runtime
            for sub in SUBS:
                self.runtime.instances[f"{report_id}:fetch:{sub}"] = sub_status
            self.runtime.instances[f"{report_id}:html"] = "Completed"
            self.runtime.instances[f"{report_id}:callback"] = "Completed"
            for part in range(2):
                self.runtime.instances[f"{report_id}:pdf:{part:04d}"] = "Completed"
        return report

    def traces(self, report_id: str) -> list[str]:
        """Whatever of the report is left anywhere."""
        left = [f"table:{k}" for k in self.table.reports if report_id in k]
        left += [
            f"recommendations:{k}"
            for k, rows in self.table.recommendations.items()
            if report_id in k and rows
        ]
        left += [f"outcomes:{k}" for k, rows in self.table.outcomes.items() if report_id in k and rows]
        left += [f"files:{k}" for k in self.files.blobs if report_id in k]
        left += [f"uploads:{k}" for k in self.uploads.blobs if report_id in k]
        left += [f"instance:{k}" for k in self.runtime.instances if k.startswith(report_id)]
        return left

    def snapshot(self) -> Any:
        return (
            copy.deepcopy(self.table.reports), copy.deepcopy(self.table.recommendations),
            copy.deepcopy(self.table.outcomes), dict(self.files.blobs), dict(self.uploads.blobs),
            dict(self.runtime.instances),
        )  # fmt: skip

    def delete(self, report_id: str) -> Removal:
        return asyncio.run(delete_report(report_id, self.stores, self.runtime, now=NOW))


def _entity(report: Report) -> dict[str, Any]:
    from shared.table_store import report_to_entity

    return report_to_entity(report)


# -- which reports are due ----------------------------------------------------------------------


def test_due_reports_by_age_and_their_own_retention_oldest_first() -> None:
    ages = [
        ReportAge(rid(1), NOW - timedelta(days=91)),  # past the default
        ReportAge(rid(2), NOW - timedelta(days=89)),  # not yet
        ReportAge(rid(3), NOW - timedelta(days=200), retention_days=365),  # its schedule keeps more
        ReportAge(rid(4), NOW - timedelta(days=8), retention_days=7),  # and less
        ReportAge(rid(5), NOW - timedelta(days=90)),  # exactly 90 days: not older than 90
        ReportAge(rid(6), None),  # cannot be dated: never deleted
        ReportAge("not-a-guid", NOW - timedelta(days=900)),
        ReportAge(rid(7), NOW - timedelta(days=400), retention_days=365),
    ]
    assert due_reports(ages, now=NOW, default_days=90) == [rid(7), rid(1), rid(4)]
    assert due_reports(ages, now=NOW, default_days=30) == [rid(7), rid(1), rid(5), rid(2), rid(4)]


# -- deleting one report --------------------------------------------------------------------------


def test_a_completed_report_goes_entirely_and_another_stays_whole() -> None:
    world = World()
    world.add(rid(1))
    world.add(rid(2))
    before = world.traces(rid(2))
    assert len(world.traces(rid(1))) == len(before) > 20
    assert world.delete(rid(1)) is Removal.DELETED
    assert world.traces(rid(1)) == []
    assert world.traces(rid(2)) == before
    # every sub-orchestration was purged, a page at a time, and the report's own instance last
    assert len(world.runtime.purged) == 10 and world.runtime.purged[-1] == rid(1)
    assert world.delete(rid(1)) is Removal.NOT_FOUND  # idempotent


def test_a_csv_report_loses_its_upload() -> None:
    world = World()
    world.add(rid(1), source="csv")
    assert world.uploads.exists(csv_blob_name(rid(1)))
    assert world.delete(rid(1)) is Removal.DELETED
    assert world.traces(rid(1)) == []


@pytest.mark.parametrize(
    ("status", "runtime", "sub_status"),
    [
        (ReportStatus.PROCESSING, "Running", "Running"),  # running, however old
        (ReportStatus.GENERATING, "Running", "Completed"),
        (ReportStatus.PENDING, "Pending", "Completed"),
        (ReportStatus.FAILED, "Running", "Running"),  # failed, its orchestration waits for a fetch
        (ReportStatus.COMPLETED, "Suspended", "Completed"),
    ],
)
def test_a_report_whose_orchestration_runs_is_never_touched(status, runtime, sub_status) -> None:
    world = World()
    world.add(rid(1), status=status, runtime=runtime, sub_status=sub_status)
    before = world.snapshot()
    assert world.delete(rid(1)) is Removal.RUNNING
    assert world.snapshot() == before


def test_a_failed_report_waits_for_a_sub_orchestration_still_running_then_goes() -> None:
    world = World()
    world.add(rid(1), status=ReportStatus.FAILED, runtime="Terminated")
    world.runtime.instances[f"{rid(1)}:fetch:{SUBS[2]}"] = "Running"
    assert world.delete(rid(1)) is Removal.RUNNING
    # the ended sub-orchestrations' histories went; every row and file is still there
    assert world.table.get_report(rid(1)) is not None
    assert world.table.recommendations[rid(1)] and world.files.exists(f"{rid(1)}/advisor-report.pdf")
    assert set(world.runtime.instances) == {rid(1), f"{rid(1)}:fetch:{SUBS[2]}"}
    world.runtime.instances[f"{rid(1)}:fetch:{SUBS[2]}"] = "Completed"
    assert world.delete(rid(1)) is Removal.DELETED
    assert world.traces(rid(1)) == []


@pytest.mark.parametrize("runtime", ["Terminated", "Failed", "Canceled", None])
def test_an_abandoned_report_is_marked_failed_and_deleted(runtime) -> None:
    world = World()
    world.add(rid(1), status=ReportStatus.PROCESSING, runtime=runtime)
    world.add(rid(2))
    assert world.delete(rid(1)) is Removal.DELETED
    assert world.traces(rid(1)) == []
    assert world.table.get_report(rid(2)) is not None


def test_a_report_just_asked_for_whose_orchestration_is_not_there_yet_is_running() -> None:
    world = World()
    world.add(rid(1), status=ReportStatus.PENDING, runtime=None, requested_at=NOW - timedelta(seconds=20))
    before = world.snapshot()
    assert world.delete(rid(1)) is Removal.RUNNING
    assert world.snapshot() == before


def test_nothing_is_touched_when_the_runtime_cannot_say() -> None:
    world = World()
    world.add(rid(1))
    world.runtime.answers = False
    before = world.snapshot()
    with pytest.raises(TransientError):
        world.delete(rid(1))
    assert world.snapshot() == before


class Crash(Exception):
    pass


@pytest.mark.parametrize(
    "step", ["delete_report_data", "delete_prefix_files", "purge_parent", "delete_report"]
)
def test_a_deletion_cut_short_is_finished_by_the_next_run(step, monkeypatch) -> None:
    world = World()
    world.add(rid(1))
    world.add(rid(2))
    other = world.traces(rid(2))
    targets: dict[str, tuple[Any, str]] = {
        "delete_report_data": (world.table, "delete_report_data"),
        "delete_prefix_files": (world.uploads, "delete_prefix"),
        "delete_report": (world.table, "delete_report"),
    }
    if step == "purge_parent":
        real = world.runtime.purge

        async def purge(instance_id: str) -> int:
            if instance_id == rid(1):
                raise Crash(instance_id)
            return await real(instance_id)

        monkeypatch.setattr(world.runtime, "purge", purge)
    else:
        obj, name = targets[step]
        monkeypatch.setattr(obj, name, lambda *a, **k: (_ for _ in ()).throw(Crash(name)))
    with pytest.raises(Crash):
        world.delete(rid(1))
    assert world.table.get_report(rid(1)) is not None  # the report is the last to go: found again
    monkeypatch.undo()
    assert world.delete(rid(1)) is Removal.DELETED
    assert world.traces(rid(1)) == []
    assert world.traces(rid(2)) == other


def test_an_id_that_is_not_a_guid_deletes_nothing() -> None:
    world = World()
    world.add(rid(1))
    before = world.snapshot()
    for bad in ("", rid(1)[:8], "*", rid(1) + "x"):
        assert world.delete(bad) is Removal.NOT_FOUND
    assert world.snapshot() == before


# -- the timer's sweep ------------------------------------------------------------------------------


def test_sweep_deletes_what_is_due_and_leaves_the_rest() -> None:
    world = World()
    world.add(rid(1))  # old, completed: goes
    world.add(rid(2), status=ReportStatus.FAILED, runtime="Completed")  # old, failed: goes
    world.add(rid(3), status=ReportStatus.PROCESSING, runtime="Terminated")  # old, abandoned: goes
    world.add(rid(4), status=ReportStatus.PROCESSING, runtime="Running")  # old, running: stays
    world.add(rid(5), requested_at=NOW - timedelta(days=10))  # young: stays
    world.add(rid(6), retention_days=365)  # its schedule keeps it a year: stays
    world.add(rid(7), requested_at=NOW - timedelta(days=3), retention_days=2)  # kept two days: goes
    kept = {n: world.traces(rid(n)) for n in (4, 5, 6)}
    result = asyncio.run(sweep(world.stores, world.runtime, now=NOW, default_days=90))
    assert (result.due, result.deleted, result.running, result.errors) == (5, 4, 1, 0)
    for n in (1, 2, 3, 7):
        assert world.traces(rid(n)) == [], n
    for n, traces in kept.items():
        assert world.traces(rid(n)) == traces, n


def test_sweep_goes_on_past_a_report_that_fails_and_respects_its_limit(monkeypatch) -> None:
    world = World()
    for n in range(1, 5):
        world.add(rid(n), requested_at=OLD + timedelta(minutes=n))
    real = world.table.delete_report_data

    def flaky(report_id: str) -> int:
        if report_id == rid(1):
            raise TransientError("storage busy")
        return real(report_id)

    monkeypatch.setattr(world.table, "delete_report_data", flaky)
    result = asyncio.run(sweep(world.stores, world.runtime, now=NOW, default_days=90, limit=3))
    assert (result.due, result.deleted, result.errors, result.left_for_next_run) == (4, 2, 1, 1)
    assert world.table.get_report(rid(1)) is not None and world.table.get_report(rid(4)) is not None
    assert world.traces(rid(2)) == [] and world.traces(rid(3)) == []
    monkeypatch.undo()
    result = asyncio.run(sweep(world.stores, world.runtime, now=NOW, default_days=90))
    assert (result.due, result.deleted) == (2, 2)
    assert world.table.reports == {}


def test_each_deletion_logs_one_event_with_its_outcome(caplog) -> None:
    import json
    import logging

    from shared import telemetry

    caplog.set_level(logging.INFO, logger=telemetry.LOGGER_NAME)
    world = World()
    world.add(rid(1))
    world.add(rid(2), status=ReportStatus.PROCESSING, runtime="Running")
    assert world.delete(rid(1)) is Removal.DELETED
    assert world.delete(rid(2)) is Removal.RUNNING
    assert world.delete(rid(3)) is Removal.NOT_FOUND
    logged = [
        json.loads(r.getMessage().removeprefix(telemetry.EVENT + " "))
        for r in caplog.records
        if r.name == telemetry.LOGGER_NAME
    ]
    assert logged == [
        {"event": "report_deleted", "stage": "delete", "report_id": rid(1), "outcome": "deleted"},
        {"event": "report_deleted", "stage": "delete", "report_id": rid(2), "outcome": "running"},
    ]


def test_sub_orchestrations_purged_meanwhile_by_another_cleanup_are_no_error() -> None:
    world = World()
    world.add(rid(1))
    runtime = world.runtime
    listed = runtime.sub_instances

    async def stale_once(report_id: str) -> dict[str, str | None]:
        found = await listed(report_id)
        for instance in found:  # another cleanup purges them before this one does
            runtime.instances.pop(instance, None)
        runtime.sub_instances = listed  # type: ignore[method-assign]
        return found

    runtime.sub_instances = stale_once  # type: ignore[method-assign]
    assert world.delete(rid(1)) is Removal.DELETED
    assert world.traces(rid(1)) == []


def test_a_runtime_that_lists_ended_instances_it_never_purges_is_an_error_not_a_loop() -> None:
    world = World()
    world.add(rid(1))

    async def purge_nothing(instance_id: str) -> int:
        return 0

    world.runtime.purge = purge_nothing  # type: ignore[method-assign]
    before = world.snapshot()
    with pytest.raises(TransientError):
        world.delete(rid(1))
    assert world.snapshot() == before


@pytest.mark.parametrize("runtime", ["Terminated", None], ids=["terminated", "never-started"])
def test_a_callback_the_poll_started_keeps_its_report_until_delivered_then_goes_with_it(runtime) -> None:
    """The poll that fails an abandoned report starts ``{id}:callback`` as an orchestration of
    its own (triggers/report_start.py): under the report's prefix, it counts as the report's."""
    world = World()
    world.add(rid(1), status=ReportStatus.FAILED, runtime=runtime)
    world.runtime.instances[callback_instance_id(rid(1))] = "Running"
    assert world.delete(rid(1)) is Removal.RUNNING
    assert world.table.get_report(rid(1)) is not None
    world.runtime.instances[callback_instance_id(rid(1))] = "Completed"
    assert world.delete(rid(1)) is Removal.DELETED
    assert world.traces(rid(1)) == []
