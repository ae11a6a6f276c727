"""Where the Durable extension (and the Functions host) differ from what the Python SDK expects,
devhost follows the extension. Each test pins one rule with a toy orchestrator; the upstream
file behind each rule is named in devhost/functions_host/README.md.

- a cancelled timer ends a ``task_any`` at once on replay, so an activity scheduled after it
  takes the sequence number of a retry timer the history already holds: the instance fails
  with DTFx's non-determinism message (and the orchestrator's ``except`` never runs);
- the same race with the retries inside one sub-orchestration per item completes;
- ``task_all`` is ``Task.WhenAll``: it waits for a sibling that is still retrying, whatever
  the SDK decided; an activity scheduled in between gets a retry timer's result;
- after the last failed retry a timer fires at once ("dummy timer", RetryInterceptor);
- an activity failure reads "Activity function 'x' failed:  Type: message";
- the host refuses to start when host.json's hubName cannot be resolved;
- ``functionTimeout`` fails an activity that runs too long;
- async activities share the worker's one event loop.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from devhost.azurite import Azurite
from devhost.functions_host import FunctionsHost
from devhost.functions_host.history import parse_iso
from devhost.functions_host.host_config import (
    HostConfigError,
    function_timeout,
    parse_timespan,
    read_host_json,
    resolve_hub_name,
)

from .conftest import KEY, ROOT, SYSTEM_KEY, ToyClient

pytestmark = pytest.mark.azurite

ND_PREFIX = "Non-Deterministic workflow detected: "


def _kinds(history: list[dict]) -> list[tuple[int, int]]:
    """(EventType, sequence number) of every scheduling and completion event."""
    out = []
    for e in history:
        seq = e["EventId"] if e["EventId"] >= 0 else e.get("TaskScheduledId", e.get("TimerId", -1))
        if e["EventType"] in (4, 5, 6, 7, 8, 9, 10, 11):
            out.append((e["EventType"], seq))
    return out


def test_a_cancelled_timer_after_retries_is_non_deterministic(toy: ToyClient, key: str) -> None:
    """(a) The production bug: retries inside a race with a timer, the timer cancelled, one more
    activity. The extension replays the cancel at once, the next activity takes the sequence
    number of the retry timer already in history, and DTFx fails the instance."""
    job = {"key": key, "fail_times": [1, 0], "interval_ms": 100, "attempts": 3, "timeout": 30}
    instance_id = toy.start_id("race_retries", job)
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Failed"
    # fetches #0 and #1, the timeout #2; fetch #0 failed, so its retry timer is #3 - which the
    # extension's replay now gives to the summary activity.
    assert status["output"] == (
        ND_PREFIX
        + "A previous execution of this orchestration scheduled a timer task with sequence number 3 "
        "named but the current orchestration replay instead produced a ScheduleTaskOrchestratorAction action "
        "with this sequence number. Was a change made to the orchestrator code after this instance had "
        "already started running?"
    )
    history = toy.host.history(instance_id)
    assert not any(e["EventType"] == 4 and e["Name"] == "say_hello" for e in history)  # never scheduled
    assert history[-2]["FailureDetails"]["ErrorType"] == "NonDeterministicOrchestrationException"
    assert len(toy.records(f"{key}-0")) == 2  # the retry itself had worked


def test_the_same_race_with_retries_in_sub_orchestrations_completes(toy: ToyClient, key: str) -> None:
    """(b) One sub-orchestration per item owns its retries and returns a typed outcome: the
    parent's history holds no retry timer, so cancelling the timeout and going on is safe - also
    when one item's retries run out."""
    job = {"key": key, "fail_times": [1, 0, 5], "interval_ms": 100, "attempts": 2, "timeout": 30}
    instance_id = toy.start_id("race_children", job)
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    results = status["output"]["results"]
    assert results[0] == {"ok": True, "attempts": 2}
    assert results[1] == {"ok": True, "attempts": 1}
    assert results[2]["ok"] is False
    assert results[2]["reason"] == (
        f"Activity function 'flaky' failed:  RuntimeError: transient failure 2 of {key}-2"
    )
    assert status["output"]["summary"] == "Hello summary!"
    parent = toy.host.history(instance_id)
    assert not any(e["EventType"] == 10 and e["EventId"] > 3 for e in parent)  # no retry timer here


def test_task_all_waits_for_a_retrying_sibling(toy: ToyClient, key: str) -> None:
    """(c) One child fails for good while its sibling is still retrying. The SDK's task_all fails
    at once and the orchestrator returns; the extension's WhenAll waits for the sibling (its
    retry timer and second attempt run), and only then does the instance complete."""
    job = {"key": key, "interval_ms": 200, "sleep": 0.8}
    instance_id = toy.start_id("all_with_straggler", job)
    deadline = time.monotonic() + 10
    while len(toy.records(f"{key}-doomed")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.4)  # the doomed child's last retry is over; the straggler's first attempt is not
    assert toy.status(instance_id).json()["runtimeStatus"] == "Running"
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    doomed = f"permanently broken ({key}-doomed, attempt 2)"
    assert status["output"] == {
        "outcome": f"Activity function 'always_fails' failed:  RuntimeError: {doomed}",
        "after": None,
    }
    assert len(toy.records(f"{key}-straggler")) == 2
    history = toy.host.history(instance_id)
    last_completed = max(i for i, e in enumerate(history) if e["EventType"] == 5)
    assert history[last_completed + 1]["EventType"] == 1  # ExecutionCompleted right after it


def test_an_activity_after_a_failed_task_all_gets_a_retry_timers_result(toy: ToyClient, key: str) -> None:
    """(c, continued) If the orchestrator schedules an activity once task_all failed, the SDK
    numbers it at once, but the extension schedules it only after the straggler: the number
    goes to the straggler's retry timer, and the SDK reads that timer's firing as the activity's
    result (None). No error anywhere - the instance completes with the wrong value."""
    job = {"key": key, "interval_ms": 200, "sleep": 1.2, "then_call": True}
    instance_id = toy.start_id("all_with_straggler", job)
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["after"] is None
    history = toy.host.history(instance_id)
    hello = next(e for e in history if e["EventType"] == 4 and e["Name"] == "say_hello")
    result = next(e for e in history if e["EventType"] == 5 and e["TaskScheduledId"] == hello["EventId"])
    assert json.loads(result["Result"]) == "Hello after!"  # it did run, later, under another number
    # the SDK had numbered it 5, right after the doomed child's five events (0, 2, 3, 4 and the
    # straggler's 1); in history #5 is the straggler's retry timer
    assert (10, 5) in _kinds(history) and hello["EventId"] > 5


def test_the_last_failed_retry_is_followed_by_a_timer_that_fires_at_once(toy: ToyClient, key: str) -> None:
    """(d) DurableTask.Core RetryInterceptor: a retry timer after each failed attempt but the
    last; after the last a "dummy" timer at the current time, then the failure."""
    instance_id = toy.start_id("retry_always_fails", {"key": key, "interval_ms": 300, "attempts": 3})
    assert toy.wait(instance_id)["runtimeStatus"] == "Failed"
    history = toy.host.history(instance_id)
    assert [k for k in _kinds(history) if k[0] in (4, 6, 10, 11)] == [
        (4, 0), (6, 0), (10, 1), (11, 1), (4, 2), (6, 2), (10, 3), (11, 3), (4, 4), (6, 4), (10, 5), (11, 5),
    ]  # fmt: skip
    timers = [(i, e) for i, e in enumerate(history) if e["EventType"] == 10]
    for number, (index, timer) in enumerate(timers):
        episode_start = max(
            parse_iso(e["Timestamp"]) for e in history[:index] if e["EventType"] == 12
        )  # the orchestration's current time when the timer was created
        delay = (parse_iso(timer["FireAt"]) - episode_start).total_seconds()
        assert delay == pytest.approx(0.0 if number == 2 else 0.3, abs=1e-3), number


def test_an_activity_failure_has_the_extensions_reason_and_details(toy: ToyClient, key: str) -> None:
    """(e) TaskActivityShim: "Activity function 'x' failed: " + the worker's "Type: message" as
    cut out of the host's RpcException (one space more); the SDK raises "<reason> \\n <details>"."""
    status = toy.wait(toy.start_id("caught_failure", {"key": key}))
    history = toy.host.history(status["instanceId"])
    failed = next(e for e in history if e["EventType"] == 6)
    reason = f"Activity function 'always_fails' failed:  RuntimeError: permanently broken ({key}, attempt 1)"
    assert failed["Reason"] == reason
    assert status["output"]["error"] == f"{reason} \n {failed['Details']}"
    details = json.loads(failed["Details"])
    assert details["Message"] == reason.split("failed: ", 1)[1]
    assert details["InnerException"]["$type"].startswith(
        "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException"
    )
    assert "in always_fails" in details["InnerException"]["RemoteStackTrace"]


def test_hub_name_is_resolved_from_the_setting_or_the_host_refuses_to_start(
    devhost_azurite: Azurite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """(f) host.json says "%DURABLE_TASK_HUB%": resolved from the setting; without it the
    extension's hub name validation refuses the literal and the host does not start."""
    config = read_host_json(ROOT)
    assert config["extensions"]["durableTask"]["hubName"] == "%DURABLE_TASK_HUB%"
    assert resolve_hub_name(config, {"DURABLE_TASK_HUB": "ReportsHub"}) == "ReportsHub"
    with pytest.raises(HostConfigError, match="Task hub name 'my-hub' should contain only alphanumeric"):
        resolve_hub_name(config, {"DURABLE_TASK_HUB": "my-hub"})
    assert resolve_hub_name({}, {}) == "TestHubName"  # no hubName at all: the extension's default

    monkeypatch.delenv("DURABLE_TASK_HUB", raising=False)
    host = FunctionsHost(
        "tests.devhost.toy_app", storage_connection=devhost_azurite.connection_string, port=0, app_root=ROOT
    )
    with pytest.raises(RuntimeError) as refused:
        host.start()
    message = str(refused.value)
    assert "Task hub name '%DURABLE_TASK_HUB%' should contain only alphanumeric characters" in message
    assert "the app setting DURABLE_TASK_HUB is not set" in message

    env = {k: v for k, v in os.environ.items() if k != "DURABLE_TASK_HUB"}
    settings = tmp_path / "local.settings.json"
    settings.write_text('{"IsEncrypted": false, "Values": {}}')
    cli = subprocess.run(
        [sys.executable, "-m", "devhost.functions_host", "--app", "tests.devhost.toy_app", "--port", "0",
         "--storage", devhost_azurite.connection_string, "--settings", str(settings)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert cli.returncode == 1
    assert "DURABLE_TASK_HUB is not set" in cli.stderr and "Functions host ready" not in cli.stdout

    hub = f"Hub{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("DURABLE_TASK_HUB", hub)
    resolved = FunctionsHost(
        "tests.devhost.toy_app", storage_connection=devhost_azurite.connection_string, port=0, app_root=ROOT
    ).start()
    try:
        assert resolved.task_hub == hub
    finally:
        resolved.stop()


def test_function_timeout_fails_an_activity_that_runs_too_long(
    devhost_azurite: Azurite, record_dir: Path
) -> None:
    """(g) functionTimeout: the host's FunctionTimeoutException message, through the extension."""
    assert function_timeout(read_host_json(ROOT)) == 600.0  # "00:10:00"
    assert parse_timespan("1.02:03:04.5") == 93784.5 and parse_timespan("-1") is None
    host = FunctionsHost(
        "tests.devhost.toy_app",
        storage_connection=devhost_azurite.connection_string,
        port=0,
        task_hub=f"Slow{uuid.uuid4().hex[:8]}",
        host_key=KEY,
        system_key=SYSTEM_KEY,
        app_root=ROOT,
        function_timeout=0.5,
    ).start()
    try:
        toy = ToyClient(host, record_dir)
        started = time.monotonic()
        status = toy.wait(toy.start_id("slow_call", 1.5))
        assert status["output"] == {
            "result": None,
            "error": "Activity function 'slow' failed: Timeout value of 00:00:00.5000000 was exceeded by "
            "function: Functions.slow",
        }
        assert time.monotonic() - started < 1.4  # failed at the timeout, not when the thread ended
        assert toy.wait(toy.start_id("slow_call", 0.1))["output"] == {"result": "finished", "error": None}
    finally:
        host.stop()


def test_async_activities_share_the_workers_event_loop(toy: ToyClient) -> None:
    """Sync activities run in parallel threads; async ones run on the one event loop, so a
    blocking call inside ``async def`` holds up the other (as in the Python worker)."""
    run = uuid.uuid4().hex[:8]
    status = toy.wait(toy.start_id("async_pair", {"run": run, "sleep": 0.3}))
    assert status["output"] == [0, 10, 20, 30]

    def span(item: int) -> tuple[float, float]:
        times = [r["t"] for r in toy.records(f"{run}-{item}")]
        return times[0], times[-1]

    (a0, a1), (b0, b1) = span(0), span(1)
    assert a1 <= b0 or b1 <= a0  # the two async ones never overlapped
    (c0, c1), (d0, d1) = span(2), span(3)
    assert c0 < d1 and d0 < c1  # the two sync ones did
