"""The history the devhost builds, checked against what the SDK's replay expects.

The stored DTFx events must parse as ``HistoryEvent``s; episodes must be well formed
(OrchestratorStarted ... OrchestratorCompleted, non-decreasing timestamps); every sequence
number must be scheduled once and completed at most once; at every episode boundary the SDK's
own replay (``TaskOrchestrationExecutor`` on the stored prefix) must be waiting on exactly the
tasks the host has scheduled and not completed; and replaying the whole history must end done
with the instance's output."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
from azure.durable_functions.models.history import HistoryEventType as T
from azure.durable_functions.models.TaskOrchestrationExecutor import TaskOrchestrationExecutor
from azure.functions._durable_functions import OrchestrationContext

from devhost.functions_host import FunctionsHost
from devhost.functions_host.history import parse_iso

from .conftest import ToyClient

pytestmark = pytest.mark.azurite

COMPLETIONS = {
    T.TASK_COMPLETED: "TaskScheduledId",
    T.TASK_FAILED: "TaskScheduledId",
    T.TIMER_FIRED: "TimerId",
    T.SUB_ORCHESTRATION_INSTANCE_COMPLETED: "TaskScheduledId",
    T.SUB_ORCHESTRATION_INSTANCE_FAILED: "TaskScheduledId",
}


def _handle(name: str) -> Any:
    return app_functions_by_name()[name].get_user_function()


def app_functions_by_name() -> dict[str, Any]:
    from devhost.functions_host.app_loader import app_functions

    from .toy_app import app

    return {f.get_function_name(): f for f in app_functions(app)}


def _context(instance_id: str, events: list[dict[str, Any]], input_json: str | None) -> str:
    return json.dumps(
        {
            "history": events,
            "instanceId": instance_id,
            "isReplaying": True,
            "parentInstanceId": None,
            "input": json.loads(input_json) if input_json else None,
            "upperSchemaVersion": 2,
        }
    )


def _sdk_open_task_ids(
    name: str, instance_id: str, events: list[dict[str, Any]], input_json: str | None
) -> set[int] | None:
    """The sequence numbers the SDK's replay waits on; None once the orchestrator has returned
    (the SDK then stops reading history, while the extension waits for the open tasks)."""
    context = DurableOrchestrationContext.from_json(_context(instance_id, events, input_json))
    state = TaskOrchestrationExecutor().execute(
        context, context.histories, _handle(name).orchestrator_function
    )
    if json.loads(state)["isDone"]:
        return None
    return {key for key, task in context.open_tasks.items() if isinstance(key, int) and task}


def _pending(events: list[dict[str, Any]]) -> set[int]:
    scheduled = {e["EventId"] for e in events if e["EventType"] in (4, 7, 10)}
    completed = {e[COMPLETIONS[e["EventType"]]] for e in events if e["EventType"] in COMPLETIONS}
    return scheduled - completed


def test_kitchen_sink_history_matches_the_sdk_replay(
    toy: ToyClient, toy_host: FunctionsHost, key: str
) -> None:
    instance_id = toy.start_id("kitchen_sink", {"key": key, "interval_ms": 100, "attempts": 3})
    toy.wait_until(instance_id, lambda s: s["customStatus"] == "waiting for go")
    toy_host.run(toy_host.client().raise_event(instance_id, "go", {"n": 1}))
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    output = status["output"]
    assert output["squares"] == [0, 1, 4] and output["fast"] == 49 and output["child"] == ["Hello child!"]
    assert output["flaky"] == {"key": key, "attempts": 2}
    assert output["event"] == '{"n": 1}'
    assert output["caught"] == (
        f"Activity function 'always_fails' failed:  RuntimeError: permanently broken ({key}-once, attempt 1)"
    )

    events = toy_host.history(instance_id)
    input_json = toy_host.engine.get(instance_id).input
    # Every event parses as the SDK's HistoryEvent (which also parses Timestamp).
    DurableOrchestrationContext.from_json(_context(instance_id, events, input_json))
    assert all(e["IsPlayed"] for e in events)

    kinds = [e["EventType"] for e in events]
    assert kinds[:2] == [T.ORCHESTRATOR_STARTED, T.EXECUTION_STARTED]
    assert kinds[-2:] == [T.EXECUTION_COMPLETED, T.ORCHESTRATOR_COMPLETED]
    starts = [i for i, k in enumerate(kinds) if k == T.ORCHESTRATOR_STARTED]
    ends = [i for i, k in enumerate(kinds) if k == T.ORCHESTRATOR_COMPLETED]
    assert len(starts) == len(ends) and all(s < e for s, e in zip(starts, ends, strict=True))
    assert all(e < s for e, s in zip(ends, starts[1:], strict=False))
    stamps = [e["Timestamp"] for i, e in enumerate(events) if kinds[i] == T.ORCHESTRATOR_STARTED]
    assert stamps == sorted(stamps)

    scheduled = [e["EventId"] for e in events if e["EventType"] in (4, 7, 10)]
    assert scheduled == list(range(len(scheduled)))  # 0, 1, 2... each once, in order
    completed = [e[COMPLETIONS[e["EventType"]]] for e in events if e["EventType"] in COMPLETIONS]
    assert len(completed) == len(set(completed)) and set(completed) <= set(scheduled)
    assert all(e["EventId"] == -1 for e in events if e["EventType"] not in (4, 7, 10))
    by_id = {e["EventId"]: e for e in events if e["EventType"] in (4, 7, 10)}
    for event in events:
        if event["EventType"] in (T.TASK_COMPLETED, T.TASK_FAILED):
            assert by_id[event["TaskScheduledId"]]["EventType"] == T.TASK_SCHEDULED
        if event["EventType"] == T.TIMER_FIRED:
            assert by_id[event["TimerId"]]["EventType"] == T.TIMER_CREATED

    # At every episode boundary the SDK waits on exactly what the host scheduled and not completed.
    for end in ends[:-1]:
        prefix = events[: end + 1]
        assert _sdk_open_task_ids("kitchen_sink", instance_id, prefix, input_json) == _pending(prefix), end

    state = json.loads(
        _handle("kitchen_sink")(OrchestrationContext(_context(instance_id, events, input_json)))
    )
    assert state["isDone"] is True
    assert state["output"] == output


def test_retry_history_is_the_sequence_retryable_task_expects(
    toy: ToyClient, toy_host: FunctionsHost, key: str
) -> None:
    instance_id = toy.start_id(
        "retry_flaky", {"key": key, "fail_times": 2, "interval_ms": 100, "attempts": 3}
    )
    assert toy.wait(instance_id)["runtimeStatus"] == "Completed"
    events = toy_host.history(instance_id)
    names = {4: "TaskScheduled", 5: "TaskCompleted", 6: "TaskFailed", 10: "TimerCreated", 11: "TimerFired"}
    sequence = [
        (
            names[e["EventType"]],
            e["EventId"] if e["EventId"] >= 0 else e.get("TaskScheduledId", e.get("TimerId")),
        )
        for e in events
        if e["EventType"] in names
    ]
    assert sequence == [
        ("TaskScheduled", 0),
        ("TaskFailed", 0),
        ("TimerCreated", 1),
        ("TimerFired", 1),
        ("TaskScheduled", 2),
        ("TaskFailed", 2),
        ("TimerCreated", 3),
        ("TimerFired", 3),
        ("TaskScheduled", 4),
        ("TaskCompleted", 4),
    ]
    failed = next(e for e in events if e["EventType"] == 6)
    # TaskActivityShim: "Activity function '{name}' failed: " + the message it cuts out of the
    # host's RpcException text, which starts with a space: hence the two spaces.
    assert (
        failed["Reason"] == f"Activity function 'flaky' failed:  RuntimeError: transient failure 1 of {key}"
    )
    details = json.loads(failed["Details"])
    assert details["$type"] == "System.Exception, System.Private.CoreLib"
    assert details["Message"] == f" RuntimeError: transient failure 1 of {key}"
    rpc = details["InnerException"]
    assert rpc["ClassName"] == "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException"
    assert rpc["Message"].startswith(
        f"Result: Failure\nException: RuntimeError: transient failure 1 of {key}\nStack: "
    )
    assert "in flaky" in rpc["RemoteStackTrace"]
    created = next(e for e in events if e["EventType"] == 10)
    started = max(
        e["Timestamp"] for e in events[: events.index(created)] if e["EventType"] == T.ORCHESTRATOR_STARTED
    )
    assert (parse_iso(created["FireAt"]) - parse_iso(started)).total_seconds() == pytest.approx(0.1, abs=1e-3)


def _assert_sdk_agrees(toy_host: FunctionsHost, name: str, instance_id: str) -> None:
    """At every episode boundary the SDK's replay waits on exactly the tasks the host (in the
    extension's order) has scheduled and not completed, and replaying it all ends done."""
    events = toy_host.history(instance_id)
    input_json = toy_host.engine.get(instance_id).input
    ends = [i for i, e in enumerate(events) if e["EventType"] == T.ORCHESTRATOR_COMPLETED]
    checked = 0
    for end in ends[:-1]:
        prefix = events[: end + 1]
        waiting = _sdk_open_task_ids(name, instance_id, prefix, input_json)
        if waiting is None:
            break
        assert waiting == _pending(prefix), end
        checked += 1
    assert checked >= 1
    state = json.loads(_handle(name)(OrchestrationContext(_context(instance_id, events, input_json))))
    assert state["isDone"] is True


def test_sdk_agrees_with_the_extension_order_on_a_race_of_sub_orchestrations(
    toy: ToyClient, toy_host: FunctionsHost, key: str
) -> None:
    job = {"key": key, "fail_times": [1, 0, 5], "interval_ms": 100, "attempts": 2, "timeout": 30}
    instance_id = toy.start_id("race_children", job)
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    _assert_sdk_agrees(toy_host, "race_children", instance_id)
    for child in (e["InstanceId"] for e in toy_host.history(instance_id) if e["EventType"] == 7):
        _assert_sdk_agrees(toy_host, "fetch_one", child)


def test_sdk_agrees_with_the_extension_order_on_a_fan_out_with_retries(
    toy: ToyClient, toy_host: FunctionsHost, key: str
) -> None:
    """Retries inside a task_all are fine as long as no timer is cancelled around them."""
    instance_id = toy.start_id(
        "race_retries",
        {"key": key, "fail_times": [1, 0, 2], "interval_ms": 100, "attempts": 3, "timeout": 0.05},
    )
    status = toy.wait(instance_id)
    assert status["output"] == {"outcome": "timeout"}  # the timer won: nothing was cancelled
    _assert_sdk_agrees(toy_host, "race_retries", instance_id)
