"""Starting a report (triggers/report_start.py) over the in-memory table and a scripted Durable
client: a run started ``once`` is stored only if new, an orchestration that already exists
counts as started, and any other start failure fails the report it stored."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared import clients
from shared.models import Report, ReportStatus, ReportType
from tests.fakes import MemoryTable
from triggers.report_start import StartOutcome, launch_report

RID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
SUB = "00000000-0000-0000-0000-0000000000c3"


class Client:
    """``DurableOrchestrationClient.start_new`` as the SDK surfaces the extension's answers."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.started: list[str] = []

    async def start_new(self, name: str, instance_id: str, client_input: Any = None) -> str:
        self.started.append(instance_id)
        if self.error is not None:
            raise self.error
        return instance_id


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> MemoryTable:
    memory = MemoryTable()
    monkeypatch.setattr(clients, "table_store", lambda: memory)
    return memory


def launch(client: Client, *, once: bool) -> StartOutcome:
    report = Report(RID, ReportType.COST, [SUB], schedule_id="s", retention_days=120)
    return asyncio.run(launch_report(client, report, once=once))


def test_a_run_is_stored_and_started_once(table: MemoryTable) -> None:
    client = Client()
    assert launch(client, once=True) is StartOutcome.STARTED
    assert launch(client, once=True) is StartOutcome.ALREADY_STARTED
    assert client.started == [RID]  # the second attempt found the report and started nothing
    stored = table.get_report(RID)
    assert stored is not None and (stored.schedule_id, stored.retention_days) == ("s", 120)


def test_an_orchestration_that_exists_already_counts_as_started(table: MemoryTable) -> None:
    exists = Exception("An Orchestration instance with the status Running already exists.")
    assert launch(Client(exists), once=True) is StartOutcome.ALREADY_STARTED
    stored = table.get_report(RID)
    assert stored is not None and stored.status is ReportStatus.PENDING  # left to its orchestration


def test_any_other_start_failure_fails_the_stored_report(table: MemoryTable) -> None:
    assert launch(Client(ConnectionError("refused")), once=True) is StartOutcome.START_FAILED
    stored = table.get_report(RID)
    assert stored is not None and (stored.status, stored.failure_code) == (
        ReportStatus.FAILED,
        "start_failed",
    )


def test_an_http_start_is_not_once_and_an_existing_instance_is_a_failure(table: MemoryTable) -> None:
    # POST /api/reports makes a new id every time: "already exists" would be a fault there.
    exists = Exception("An Orchestration instance with the status Running already exists.")
    assert launch(Client(exists), once=False) is StartOutcome.START_FAILED


class FlakyClient(Client):
    """Refuses the report's start, takes the callback's (the runtime came back), and knows no
    instance yet."""

    async def start_new(self, name: str, instance_id: str, client_input: Any = None) -> str:
        self.started.append(instance_id)
        if instance_id == RID:
            raise ConnectionError("refused")
        return instance_id

    async def get_status(self, instance_id: str) -> Any:
        from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

        return DurableOrchestrationStatus.from_json("")  # the extension's 404: no such instance


def test_a_schedules_report_that_could_not_start_still_gets_its_callback(table: MemoryTable) -> None:
    client = FlakyClient()
    report = Report(RID, ReportType.COST, [SUB], schedule_id="s", callback_url="https://hooks.example.com/cb")
    assert asyncio.run(launch_report(client, report, once=True)) is StartOutcome.START_FAILED
    assert client.started == [RID, f"{RID}:callback"]


def test_a_posted_report_that_could_not_start_gets_no_callback(table: MemoryTable) -> None:
    # Its caller was answered 503 and may try again with the same callback URL.
    client = FlakyClient()
    report = Report(RID, ReportType.COST, [SUB], callback_url="https://hooks.example.com/cb")
    assert asyncio.run(launch_report(client, report, once=False)) is StartOutcome.START_FAILED
    assert client.started == [RID]
