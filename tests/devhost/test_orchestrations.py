"""Orchestrations on the devhost Functions host, driven over real HTTP and through the real
``DurableOrchestrationClient``: fan-out/fan-in, retries (count and timing), permanent
failures, durable timers, a fan-out raced against a timeout, external events, custom status,
sub-orchestrations, continue-as-new, and the failure modes a host must report clearly."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from devhost.azurite import Azurite
from devhost.functions_host import FunctionsHost

from .conftest import KEY, ROOT, SYSTEM_KEY, TestTimeout, ToyClient, within

pytestmark = pytest.mark.azurite


def test_fan_out_of_fifty_returns_ordered_results(toy: ToyClient) -> None:
    instance_id = toy.start_id("fan_out", {"n": 50})
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == [i * i for i in range(50)]
    inst = toy.host.engine.get(instance_id)
    assert inst.episodes <= 10  # results are delivered in batches, not one replay per activity


def test_retry_runs_a_flaky_activity_three_times_with_the_interval(toy: ToyClient, key: str) -> None:
    instance_id = toy.start_id(
        "retry_flaky", {"key": key, "fail_times": 2, "interval_ms": 300, "attempts": 3}
    )
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"key": key, "attempts": 3}
    attempts = [r["t"] for r in toy.records(key)]
    assert len(attempts) == 3
    gaps = [later - earlier for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert all(gap >= 0.3 for gap in gaps), gaps
    assert all(gap < 1.5 for gap in gaps), gaps


def test_retry_gives_up_after_the_last_attempt(toy: ToyClient, key: str) -> None:
    started = time.monotonic()
    instance_id = toy.start_id("retry_always_fails", {"key": key, "interval_ms": 300, "attempts": 3})
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith(
        "Orchestrator function 'retry_always_fails' failed: Activity function 'always_fails' failed:  "
        f"RuntimeError: permanently broken ({key}, attempt 3) \n "
    )
    assert len(toy.records(key)) == 3
    # two retry intervals; the timer after the last attempt fires at once (see test_extension_rules)
    assert time.monotonic() - started >= 0.6


def test_typed_permanent_failure_fails_without_retries(toy: ToyClient, key: str) -> None:
    instance_id = toy.start_id("permanent_failure", {"key": key, "interval_ms": 100, "attempts": 5})
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert "report failed permanently: subscription_not_found" in status["output"]
    assert len(toy.records(key)) == 1


def test_durable_timer_fires_at_its_time(toy: ToyClient) -> None:
    started = time.monotonic()
    instance_id = toy.start_id("timer_wait", {"seconds": 0.5})
    status = toy.wait(instance_id)
    elapsed = time.monotonic() - started
    assert status["runtimeStatus"] == "Completed"
    assert 0.5 <= elapsed < 1.5
    resumed, began = (status["output"][k] for k in ("resumed", "started"))
    assert resumed > began


def test_fan_out_beats_its_timeout_and_the_cancelled_timer_does_not_linger(toy: ToyClient) -> None:
    instance_id = toy.start_id("race_timeout", {"n": 4, "sleep": 0.05, "timeout": 30})
    status = toy.wait(instance_id, timeout=5)
    assert status["output"] == {"outcome": "done", "results": [0, 1, 4, 9]}
    assert toy.host.engine.get(instance_id).timers == {}
    assert toy.host.wait_for_idle(5)  # no 30 s timer left behind


def test_timeout_beats_a_slow_fan_out_but_the_instance_waits_for_its_activities(
    toy: ToyClient, toy_host: FunctionsHost
) -> None:
    """The orchestrator returns when the timer wins, but DTFx completes an instance only when no
    task is open (TaskOrchestrationExecutor): the still-running activities are waited for."""
    instance_id = toy.start_id("race_timeout", {"n": 4, "sleep": 1.0, "timeout": 0.2})
    status = toy.wait(instance_id, timeout=10)
    assert status["output"] == {"outcome": "timeout"}
    history = toy_host.history(instance_id)
    kinds = [e["EventType"] for e in history]
    fired = kinds.index(11)  # the timeout's TimerFired
    assert kinds[fired + 1 :].count(5) == 4  # every activity completed after the orchestrator returned
    assert kinds[-2:] == [1, 13]  # and only then ExecutionCompleted
    assert toy.host.wait_for_idle(5)


def test_external_event_via_the_client_and_via_the_public_url(toy: ToyClient) -> None:
    via_client = toy.start_id("approval")
    waiting = toy.wait_until(via_client, lambda s: s["customStatus"] == {"stage": "waiting for approval"})
    assert waiting["runtimeStatus"] == "Running"
    response = toy.http.post(
        f"{toy.url}/api/toy/raise/{via_client}/approval",
        params={"code": "toy-test-key"},
        json={"approved": True},
    )
    assert response.status_code == 202
    # The SDK's client JSON-encodes the data twice, so (as with the real extension) the
    # orchestrator receives the JSON text: https://github.com/Azure/azure-functions-durable-python/issues/295
    assert toy.wait(via_client)["output"] == {"decision": '{"approved": true}'}

    via_url = toy.start("approval")
    links = via_url.json()
    toy.wait_until(links["id"], lambda s: s["runtimeStatus"] == "Running")
    raised = toy.http.post(
        links["sendEventPostUri"].replace("{eventName}", "approval"), json={"approved": False}
    )
    assert raised.status_code == 202
    assert toy.wait(links["id"])["output"] == {"decision": {"approved": False}}
    gone = toy.http.post(links["sendEventPostUri"].replace("{eventName}", "approval"), json={})
    assert gone.status_code == 410


def test_custom_status_is_visible_while_running(toy: ToyClient, toy_host: FunctionsHost) -> None:
    instance_id = toy.start_id("custom_status")
    toy.wait_until(instance_id, lambda s: (s["customStatus"] or {}).get("stage") == "waiting")
    client = toy_host.client()
    status = toy_host.run(client.get_status(instance_id))
    assert status.custom_status == {"stage": "waiting", "done": 1}
    toy_host.run(client.raise_event(instance_id, "go", None))
    final = toy.wait(instance_id)
    assert final["customStatus"] == {"stage": "finished", "done": 2}
    assert final["output"] == "Hello first!"


def test_sub_orchestrations(toy: ToyClient) -> None:
    instance_id = toy.start_id("parent")
    assert toy.wait(instance_id)["output"] == ["Hello a!", "Hello b!", "Hello c!"]
    # Without an instance id DTFx names the child "{ExecutionId}:{sequence number}".
    created = [e for e in toy.host.history(instance_id) if e["EventType"] == 7]
    execution_id = toy.host.history(instance_id)[1]["OrchestrationInstance"]["ExecutionId"]
    assert created[0]["InstanceId"] == f"{execution_id}:0"
    for child in (f"{execution_id}:0", f"{instance_id}-two"):
        assert toy.status(child).json()["runtimeStatus"] == "Completed"
    failing = toy.start_id("failing_child")
    output = toy.wait(failing)["output"]
    assert "Orchestrator function 'permanent_failure' failed" in output["child_failed"]


def test_continue_as_new(toy: ToyClient, toy_host: FunctionsHost) -> None:
    instance_id = toy.start_id("counter", 0)
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == 3
    history = toy_host.history(instance_id)
    assert sum(e["EventType"] == 0 for e in history) == 1  # only the last execution is kept


def test_runaway_orchestrator_is_stopped_by_the_watchdog(toy: ToyClient) -> None:
    instance_id = toy.start_id("runaway")
    status = toy.wait(instance_id, timeout=10)
    assert status["runtimeStatus"] == "Failed"
    assert "longer than 1.5 s" in status["output"]
    assert toy.wait(toy.start_id("hello_sequence"))["runtimeStatus"] == "Completed"  # the host still works


def test_unsupported_action_fails_with_a_clear_error(toy: ToyClient) -> None:
    status = toy.wait(toy.start_id("unsupported_http"))
    assert status["runtimeStatus"] == "Failed"
    assert "call_http (durable HTTP) is not supported by the devhost" in status["output"]


def test_non_serializable_activity_output_is_a_task_failure(toy: ToyClient) -> None:
    status = toy.wait(toy.start_id("bad_output"))
    # The worker's ActivityTriggerConverter raises; the extension reports it like any exception.
    assert status["output"]["error"] == (
        "Activity function 'returns_set' failed:  ValueError: activity trigger output must be json "
        "serializable ({1, 2, 3})"
    )


def test_stuck_orchestration_is_caught_by_the_test_deadline(toy: ToyClient, toy_host: FunctionsHost) -> None:
    instance_id = toy.start_id("stuck_forever")
    started = time.monotonic()
    with pytest.raises(TestTimeout), within(0.5):
        toy.wait(instance_id, timeout=3600)
    assert time.monotonic() - started < 1.5
    client = toy_host.client()
    toy_host.run(client.terminate(instance_id, "stuck"))
    status = toy.wait(instance_id)
    assert status["runtimeStatus"] == "Terminated"
    assert status["output"] == "stuck"


def test_large_payloads_are_chunked_and_capped(toy: ToyClient, toy_host: FunctionsHost) -> None:
    instance_id = toy.start_id("big_payload", 70_000)  # over the 32,000-character property limit
    status = toy.wait(instance_id)
    assert status["output"] == {
        "length": 70_000,
        "tail": "".join(chr(97 + i % 26) for i in range(69_995, 70_000)),
    }
    stored = toy_host.history(instance_id)  # read back from Azurite
    result = next(e["Result"] for e in stored if e["EventType"] == 5)
    assert len(result) == 70_002
    too_big = toy.wait(toy.start_id("big_payload", 200_000))
    assert too_big["runtimeStatus"] == "Failed"
    assert (
        "returned 200,002 characters of JSON; the devhost caps history payloads at 150,000"
        in too_big["output"]
    )


def test_suspend_and_resume(toy: ToyClient, toy_host: FunctionsHost) -> None:
    client = toy_host.client()
    instance_id = toy.start_id("approval")
    toy.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Running")
    toy_host.run(client.suspend(instance_id, "hold on"))
    toy.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Suspended")
    toy_host.run(client.raise_event(instance_id, "approval", "later"))
    assert toy_host.wait_for_idle(5)
    assert toy.status(instance_id).json()["runtimeStatus"] == "Suspended"  # the event waits for the resume
    toy_host.run(client.resume(instance_id, "go on"))
    assert toy.wait(instance_id)["output"] == {"decision": '"later"'}


def test_an_instance_id_in_use_cannot_be_started_again(toy: ToyClient, toy_host: FunctionsHost) -> None:
    client = toy_host.client()
    instance_id = toy.start_id("stuck_forever")
    with pytest.raises(Exception, match="already exists"):
        toy_host.run(client.start_new("stuck_forever", instance_id))
    toy_host.run(client.terminate(instance_id, "done"))
    toy.wait(instance_id)
    assert (
        toy_host.run(client.start_new("hello_sequence", instance_id, ["again"])) == instance_id
    )  # reusable now
    assert toy.wait(instance_id)["output"] == ["Hello again!"]


def test_a_dying_worker_process_is_a_task_failure_and_the_pool_recovers(
    devhost_azurite: Azurite, record_dir: Path
) -> None:
    """Worker processes are an explicit option (use_processes=True); threads are the default."""
    host = FunctionsHost(
        "tests.devhost.toy_app",
        storage_connection=devhost_azurite.connection_string,
        port=0,
        task_hub=f"Procs{uuid.uuid4().hex[:8]}",
        host_key=KEY,
        system_key=SYSTEM_KEY,
        activity_workers=2,
        use_processes=True,
        app_root=ROOT,
    ).start()
    try:
        toy = ToyClient(host, record_dir)
        output = toy.wait(toy.start_id("worker_crash"))["output"]
        assert output["error"].startswith("Activity function 'crash_worker' could not run: BrokenProcessPool")
        assert toy.wait(toy.start_id("fan_out", {"n": 6}))["output"] == [i * i for i in range(6)]
    finally:
        host.stop()
