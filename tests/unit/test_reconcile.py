"""Reconciling a report with its orchestration's runtime status: which states end a report, with
what reason, that the change is stored once, idempotently, never over a finished report, and
that ``GET /api/reports/{id}`` answers from the table as before when the runtime cannot say.

Runtime statuses come from the installed SDK's own ``DurableOrchestrationStatus.from_json``
over the JSON the extension's HTTP API answers; the table is an in-memory fake."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from shared.errors import TransientError
from shared.jobs import RetrySpec, StepInput
from shared.models import CallbackState, CallbackStatus, Report, ReportStatus, ReportType
from shared.report_service import (
    ORPHANED_FAILURES,
    START_FAILED,
    START_GRACE,
    OrchestrationState,
    callback_instance_id,
    failure_for,
    orphaned_callback,
    reconcile,
)

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
REPORT_ID = "6f1d3a5e-0c43-4b7e-9f39-4a0d0f7c2b11"
UNFINISHED = (ReportStatus.PENDING, ReportStatus.PROCESSING, ReportStatus.GENERATING)
TRACEBACK = (
    "Orchestrator function 'report_orchestrator' failed: boom \n"
    '  File "/home/site/wwwroot/orchestrators/report.py", line 88, in orchestrator\n'
    "    raise RuntimeError('AccountKey=abc123')"
)


def report(
    status: ReportStatus = ReportStatus.PROCESSING, *, age: timedelta = timedelta(minutes=10)
) -> Report:
    return Report(
        report_id=REPORT_ID,
        report_type=ReportType.DETAILED,
        subscription_ids=["00000000-0000-0000-0000-000000000001"],
        status=status,
        requested_at=NOW - age,
        instance_id=REPORT_ID,
    )


def sdk_status(runtime_status: str, output: object = None) -> OrchestrationState | None:
    """What the trigger gets from ``client.get_status`` for an instance in this state."""
    status = DurableOrchestrationStatus.from_json({
        "name": "report_orchestrator", "instanceId": REPORT_ID, "runtimeStatus": runtime_status,
        "input": None, "customStatus": None, "output": output,
        "createdTime": "2026-12-02T09:50:00Z", "lastUpdatedTime": "2026-12-02T09:55:00Z",
    })  # fmt: skip
    return OrchestrationState.from_client_status(status)


class FakeStore:
    """The two calls reconciliation makes, over one stored report (copied, as storage would)."""

    def __init__(self, stored: Report | None) -> None:
        self.stored = copy.deepcopy(stored)
        self.writes = 0
        self.broken = False

    def get_report(self, report_id: str) -> Report | None:
        return copy.deepcopy(self.stored) if self.stored and self.stored.report_id == report_id else None

    def subscription_outcomes(self, report_id: str) -> list[dict]:
        return [{"RowKey": "00000000-0000-0000-0000-000000000001", "count": "not a number"}]

    def update_report(self, report_id: str, change: Callable[[Report], bool]) -> Report | None:
        if self.broken:
            raise TransientError("Storage unreachable while saving the report", code="storage_unavailable")
        current = self.get_report(report_id)
        if current is None:
            return None
        if change(current):
            self.stored = copy.deepcopy(current)
            self.writes += 1
        return current


# -- reading the SDK's answer ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Pending", "Running", "ContinuedAsNew", "Suspended", "Completed", "Failed", "Terminated", "Canceled"],
)
def test_every_runtime_status_the_sdk_knows_is_read_by_name(name):
    assert sdk_status(name) == OrchestrationState(name)


def test_a_404_without_a_body_reads_as_no_such_instance():
    # get_status turns the empty 404 body into "" and then DurableOrchestrationStatus.from_json("")
    assert OrchestrationState.from_client_status(DurableOrchestrationStatus.from_json("")) == (
        OrchestrationState(None)
    )


@pytest.mark.parametrize(
    "body",
    [
        {"Message": "An error has occurred.", "ExceptionMessage": "storage unavailable"},
        "The operation failed with an unexpected error",
    ],
)
def test_an_error_answer_is_not_mistaken_for_a_missing_instance(body):
    assert OrchestrationState.from_client_status(DurableOrchestrationStatus.from_json(body)) is None


# -- the rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", UNFINISHED)
@pytest.mark.parametrize("runtime", ["Pending", "Running", "ContinuedAsNew", "Suspended"])
def test_a_live_orchestration_leaves_the_report_as_it_is(status, runtime):
    assert failure_for(report(status), OrchestrationState(runtime), now=NOW) is None


@pytest.mark.parametrize("status", UNFINISHED)
@pytest.mark.parametrize(
    ("runtime", "code"),
    [
        ("Failed", "orchestration_failed"),
        ("Terminated", "orchestration_terminated"),
        ("Canceled", "orchestration_canceled"),
        # Ended "successfully" without the report finished: never show half-done as done.
        ("Completed", "orchestration_ended_unfinished"),
    ],
)
def test_an_ended_orchestration_fails_an_unfinished_report(status, runtime, code):
    verdict = failure_for(report(status), OrchestrationState(runtime), now=NOW)
    assert verdict is not None and verdict[0] == code
    assert verdict[1] and "orchestration" in verdict[1]


@pytest.mark.parametrize("status", [ReportStatus.COMPLETED, ReportStatus.FAILED])
@pytest.mark.parametrize("runtime", ["Failed", "Terminated", "Completed", None])
def test_a_finished_report_is_never_changed(status, runtime):
    assert failure_for(report(status), OrchestrationState(runtime), now=NOW) is None


def test_a_missing_instance_is_given_the_grace_period_then_fails_the_report():
    missing = OrchestrationState(None)
    just_started = report(ReportStatus.PENDING, age=START_GRACE - timedelta(seconds=1))
    assert failure_for(just_started, missing, now=NOW) is None
    late = report(ReportStatus.PENDING, age=START_GRACE + timedelta(seconds=1))
    assert failure_for(late, missing, now=NOW) == (
        "orchestration_missing",
        "The report's orchestration does not exist (it never started, or its history was purged); "
        "start the report again",
    )
    # No request time to measure from (an odd row): nothing left to wait for.
    undated = report(ReportStatus.PENDING)
    undated.requested_at = None
    assert failure_for(undated, missing, now=NOW) is not None


def test_a_runtime_status_this_code_does_not_know_changes_nothing():
    assert failure_for(report(), OrchestrationState("Rewinding"), now=NOW) is None


# -- storing the verdict ------------------------------------------------------------------------


def test_the_failure_is_stored_with_a_sanitized_message_and_only_once():
    store = FakeStore(report())
    state = sdk_status("Failed", output=TRACEBACK)
    assert state is not None

    shown = reconcile(store, report(), state, now=NOW)
    assert shown.status is ReportStatus.FAILED
    assert shown.failure_code == "orchestration_failed"
    for leak in ("File ", "/home/site", "Traceback", "AccountKey", "boom", "line 88"):
        assert leak not in (shown.failure_message or "")
    assert store.writes == 1 and store.stored is not None and store.stored.status is ReportStatus.FAILED
    first_completed_at = store.stored.completed_at

    again = reconcile(store, report(), state, now=NOW)  # a second poll with a stale read
    assert store.writes == 1
    assert again.failure_code == "orchestration_failed" and again.completed_at == first_completed_at


def test_a_report_finished_meanwhile_is_shown_as_stored_not_overwritten():
    finished = report(ReportStatus.COMPLETED)
    store = FakeStore(finished)
    stale = report(ReportStatus.GENERATING)  # what the poll read a moment before
    shown = reconcile(store, stale, OrchestrationState("Completed"), now=NOW)
    assert shown.status is ReportStatus.COMPLETED
    assert store.writes == 0


def test_a_live_orchestration_writes_nothing():
    store = FakeStore(report())
    assert (
        reconcile(store, report(), OrchestrationState("Running"), now=NOW).status is ReportStatus.PROCESSING
    )
    assert store.writes == 0


# -- GET /api/reports/{id} --------------------------------------------------------------------


class FakeClient:
    """Stands in for the durable client binding: answers ``get_status`` as told."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.calls = 0

    async def get_status(self, instance_id: str) -> object:
        self.calls += 1
        assert instance_id == REPORT_ID
        if isinstance(self.answer, BaseException):
            raise self.answer
        if self.answer == "hang":
            await asyncio.sleep(60)
        return self.answer


def get(monkeypatch: pytest.MonkeyPatch, store: FakeStore, client: FakeClient) -> func.HttpResponse:
    import triggers.reports as reports
    from shared import clients

    monkeypatch.setattr(clients, "table_store", lambda: store)
    monkeypatch.setattr(reports, "STATUS_TIMEOUT_SECONDS", 0.2)
    request = func.HttpRequest(
        "GET",
        f"http://localhost:7071/api/reports/{REPORT_ID}",
        route_params={"reportId": REPORT_ID},
        body=b"",
    )
    # Inside the SDK's client middleware, which would build a real client from binding JSON.
    handler = reports.get_report.build().get_user_function().__wrapped__
    return asyncio.run(handler(req=request, client=client))


def terminated() -> DurableOrchestrationStatus:
    return DurableOrchestrationStatus.from_json({
        "instanceId": REPORT_ID, "runtimeStatus": "Terminated", "createdTime": "2026-12-02T09:50:00Z",
        "output": "killed at C:\\ops\\kill.ps1",
    })  # fmt: skip


@pytest.mark.parametrize(
    "answer",
    [
        Exception("The operation failed with an unexpected status code 503"),
        ConnectionRefusedError("rpc listener gone"),
        "hang",
        DurableOrchestrationStatus.from_json({"Message": "An error has occurred."}),
    ],
    ids=["unexpected-status", "connection-refused", "too-slow", "error-body"],
)
def test_when_the_runtime_cannot_say_the_table_answers_as_before(monkeypatch, answer):
    store = FakeStore(report(ReportStatus.PROCESSING))
    client = FakeClient(answer)
    response = get(monkeypatch, store, client)
    assert client.calls == 1
    assert response.status_code == 202
    body = json.loads(response.get_body())
    assert body["status"] == "processing"
    assert body["progress"]["subscriptionsDone"] == 1  # an odd outcome row counts, as 0 fetched
    assert response.headers["Location"].endswith(f"/api/reports/{REPORT_ID}")
    assert store.writes == 0


def test_a_terminated_orchestration_answers_200_failed(monkeypatch):
    store = FakeStore(report(ReportStatus.GENERATING))
    response = get(monkeypatch, store, FakeClient(terminated()))
    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert body["status"] == "failed" and body["failure"]["code"] == "orchestration_terminated"
    assert "ops" not in response.get_body().decode()
    assert store.writes == 1


def test_a_failing_write_leaves_the_tables_answer(monkeypatch):
    store = FakeStore(report(ReportStatus.PROCESSING))
    store.broken = True
    response = get(monkeypatch, store, FakeClient(terminated()))
    assert response.status_code == 202
    assert json.loads(response.get_body())["status"] == "processing"


def test_a_finished_report_does_not_ask_the_runtime(monkeypatch):
    client = FakeClient(terminated())
    response = get(monkeypatch, FakeStore(report(ReportStatus.COMPLETED)), client)
    assert response.status_code == 200 and client.calls == 0


# -- a callback no orchestration will deliver ------------------------------------------------------


def with_callback(
    status: ReportStatus = ReportStatus.FAILED, code: str = "orchestration_terminated", **extra: object
) -> Report:
    r = report(status)
    r.failure_code = code if status is ReportStatus.FAILED else ""
    r.callback_url = "https://hooks.example.com/cb?sig=secret"
    r.callback = CallbackState()
    for name, value in extra.items():
        setattr(r, name, value)
    return r


@pytest.mark.parametrize(
    "code",
    ["orchestration_terminated", "orchestration_failed", "orchestration_canceled",
     "orchestration_ended_unfinished", "orchestration_missing"],
)  # fmt: skip
def test_a_report_failed_by_reconcile_has_an_orphaned_callback(code):
    assert orphaned_callback(with_callback(code=code))
    assert code in ORPHANED_FAILURES


def test_what_reconcile_records_is_what_counts_as_orphaned():
    for runtime in ("Failed", "Terminated", "Canceled", "Completed"):
        verdict = failure_for(report(), OrchestrationState(runtime), now=NOW)
        assert verdict is not None and verdict[0] in ORPHANED_FAILURES
    verdict = failure_for(report(), OrchestrationState(None), now=NOW)
    assert verdict is not None and verdict[0] in ORPHANED_FAILURES


@pytest.mark.parametrize(
    "made",
    [
        lambda: with_callback(code="authorization_failed"),  # its orchestration delivers it
        lambda: with_callback(ReportStatus.PROCESSING),
        lambda: with_callback(ReportStatus.COMPLETED),
        lambda: with_callback(callback_url="", callback=None),
        lambda: with_callback(callback=CallbackState(CallbackStatus.RETRYING, 1)),
        lambda: with_callback(callback=CallbackState(CallbackStatus.DELIVERED, 1)),
        lambda: with_callback(callback=CallbackState(CallbackStatus.FAILED, 3)),
        lambda: with_callback(code=START_FAILED),  # a POST answered 503: its caller knows
    ],
    ids=["own-failure", "running", "completed", "no-callback", "retrying", "delivered", "failed",
         "post-start-failed"],
)  # fmt: skip
def test_other_reports_have_no_orphaned_callback(made):
    assert not orphaned_callback(made())


def test_a_schedules_report_that_could_not_start_has_an_orphaned_callback():
    assert orphaned_callback(with_callback(code=START_FAILED, schedule_id="weekly-contoso"))


def test_the_callback_instance_is_under_the_reports_prefix():
    from shared.retention import sub_instance_prefix

    assert callback_instance_id(REPORT_ID) == f"{REPORT_ID}:callback"
    assert callback_instance_id(REPORT_ID).startswith(sub_instance_prefix(REPORT_ID))


class CallbackClient(FakeClient):
    """The report's instance answers as told; the callback's as ``callback`` says (None: no such
    instance), and ``start_new`` records what it is asked to start (or raises ``refuse``)."""

    def __init__(self, answer: object, callback: object = None, refuse: Exception | None = None) -> None:
        super().__init__(answer)
        self.callback, self.refuse = callback, refuse
        self.started: list[tuple[str, str, dict]] = []

    async def get_status(self, instance_id: str) -> object:
        if instance_id == callback_instance_id(REPORT_ID):
            return self.callback if self.callback is not None else DurableOrchestrationStatus.from_json("")
        return await super().get_status(instance_id)

    async def start_new(self, name: str, instance_id: str, client_input: dict) -> str:
        if self.refuse is not None:
            raise self.refuse
        self.started.append((name, instance_id, client_input))
        return instance_id


def test_a_terminated_report_with_a_callback_starts_its_delivery(monkeypatch):
    store = FakeStore(with_callback(ReportStatus.PROCESSING))
    client = CallbackClient(terminated())
    response = get(monkeypatch, store, client)
    assert json.loads(response.get_body())["status"] == "failed"
    ((name, instance_id, given),) = client.started
    assert name == "report_step_orchestrator" and instance_id == f"{REPORT_ID}:callback"
    step = StepInput.from_dict(given)
    assert step.activity == "deliver_callback" and step.input["report_id"] == REPORT_ID
    assert "hooks.example.com" not in json.dumps(given)  # the URL never enters history
    assert RetrySpec.from_dict(step.retry).attempts == step.input["attempts"]


@pytest.mark.parametrize(
    "callback",
    [
        DurableOrchestrationStatus.from_json({"instanceId": "x", "runtimeStatus": "Running"}),
        DurableOrchestrationStatus.from_json({"instanceId": "x", "runtimeStatus": "Completed"}),
        DurableOrchestrationStatus.from_json({"Message": "An error has occurred."}),
    ],
    ids=["running", "ended", "cannot-say"],
)
def test_an_existing_callback_instance_is_left_alone(monkeypatch, callback):
    store = FakeStore(with_callback(ReportStatus.PROCESSING))
    client = CallbackClient(terminated(), callback=callback)
    assert get(monkeypatch, store, client).status_code == 200
    assert client.started == []


@pytest.mark.parametrize(
    "refusal",
    [Exception("An Orchestration instance with the status Running already exists."), ConnectionError("x")],
    ids=["raced", "runtime-down"],
)
def test_a_refused_start_still_answers_the_report(monkeypatch, refusal):
    store = FakeStore(with_callback(ReportStatus.PROCESSING))
    response = get(monkeypatch, store, CallbackClient(terminated(), refuse=refusal))
    assert response.status_code == 200 and json.loads(response.get_body())["status"] == "failed"
